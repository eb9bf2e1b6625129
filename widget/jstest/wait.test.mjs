import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, fakeClock } from './load.mjs';
import { fakeDocument } from './fakedom.mjs';

// The wait part as the gateway serves it is a script that hands its
// factory to Frontdesk.definePart; the factory gets the main script's
// helpers. A widget as far as WaitPart sees it: t(key) returns the key, so
// that the tests read which words were chosen.
const setup = (session = {}) => {
  const clock = fakeClock();
  const document = fakeDocument();
  const context = { SVG: 'http://www.w3.org/2000/svg', ICONS: new Proxy({}, { get: () => 'M0 0' }), setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout };
  const h = load(['helpers', 'team'], ['el', 'button', 'setText', 'fill', 'focus', 'showFace', 'agentName', 'has', 'Signals'], { document, context });
  let factory = null;
  load(['wait'], [], { context: { ...context, window: { Frontdesk: { definePart: (f) => { factory = f; } } }, document: { currentScript: null } } });
  const emitted = [];
  const WaitPart = factory({ ...h, chime() {}, canCall: () => true, emit: (type, d) => emitted.push([type, d.state, d.position]) });
  const sent = [];
  const marks = {};
  const started = [];
  const w = {
    id: 'w1', signals: new h.Signals(), session: { lang: 'en', queue: { maxWait: 600 }, leaveMessage: true, ...session }, pending: '', connected: true,
    t: (k) => k, mark: (k, v) => { marks[k] = v; }, send: (m) => sent.push(JSON.parse(JSON.stringify(m))), online: () => w.connected,
    panel: { view: 'wait', open(v) { w.panel.view = v; } }, shadow: { activeElement: null },
    team: { get: (id) => ({ id, info: { id, dn: 'Anna Adams', media: ['voice', 'chat'] }, url: '' }) },
    nameForm: { ask: async () => 'Vera' },
    startCall: (id, video) => started.push(['call', id, video]), chats: { openChat: (id) => started.push(['chat', id]) },
    home() { w.panel.view = 'home'; }, leave: { show() { started.push(['leave']); } }
  };
  const part = new WaitPart(w);
  part.build();
  const labels = () => part.actions.childNodes.map((b) => b.lbl.textContent);
  return { part, w, sent, marks, started, clock, labels, emitted };
};

test('waiting: the place in line, live; the turn starts the call at once', async () => {
  const s = setup();
  await s.part.start('anna', '');
  assert.deepEqual(s.sent, [{ mt: 'Wait', dest: 'anna', medium: 'voice' }], 'a call: the agent takes voice and the browser can call');
  assert.equal(s.w.pending, 'wait');
  s.part.receive({ mt: 'WaitInfo', dest: 'anna', position: 3 });
  assert.equal(s.marks.wait, 'waiting');
  assert.equal(s.part.status.textContent, 'waitPlace');
  assert.equal(s.part.note.textContent, 'waitKept');
  assert.deepEqual(s.labels(), ['leaveLine']);
  s.part.receive({ mt: 'WaitInfo', dest: 'someone-else', position: 1 });
  assert.equal(s.part.status.textContent, 'waitPlace', 'a message for another agent changes nothing');
  s.part.receive({ mt: 'WaitInfo', dest: 'anna', position: 1 });
  assert.equal(s.part.status.textContent, 'waitNext');
  s.part.receive({ mt: 'WaitEnded', dest: 'anna', reason: 'ready', hold: 20 });
  assert.deepEqual(s.started, [['call', 'anna', false]]);
  assert.equal(s.part.current, null);
  assert.equal(s.part.turn, 'anna', 'the turn lets the call part reach the held agent');
  s.clock.advance(20000);
  assert.equal(s.part.turn, '', 'and ends with the hold');
  assert.deepEqual(s.emitted.map((e) => e[2]), [0, 3, 1]);
});

test('a long wait asks first; the visitor may take the turn or leave', async () => {
  const s = setup();
  await s.part.start('anna', 'chat');
  s.part.receive({ mt: 'WaitInfo', dest: 'anna', position: 1 });
  s.part.receive({ mt: 'WaitEnded', dest: 'anna', reason: 'ready', hold: 30, confirm: true });
  assert.deepEqual(s.started, [], 'nothing starts by itself');
  assert.equal(s.marks.wait, 'ready');
  assert.equal(s.part.status.textContent, 'waitReady');
  assert.equal(s.part.note.textContent, 'waitHeld');
  assert.deepEqual(s.labels(), ['chatNow', 'leaveLine']);
  assert.ok(s.part.actions.childNodes[0].classList.contains('pri'));
  s.part.actions.childNodes[0].click();
  assert.deepEqual(s.started, [['chat', 'anna']]);

  const t = setup();
  await t.part.start('anna', 'voice');
  t.part.receive({ mt: 'WaitEnded', dest: 'anna', reason: 'ready', hold: 30, confirm: true });
  t.part.actions.childNodes[1].click();
  assert.deepEqual(t.sent.map((m) => m.mt), ['Wait', 'WaitCancel']);
  assert.equal(t.w.panel.view, 'home');
  assert.equal(t.marks.wait, 'idle');
});

test('a wait that ends without a turn says why and offers the ways on', async () => {
  const s = setup();
  await s.part.start('anna', 'voice');
  s.part.receive({ mt: 'WaitEnded', dest: 'anna', reason: 'timeout' });
  assert.equal(s.marks.wait, 'ended');
  assert.equal(s.marks['wait-reason'], 'timeout');
  assert.equal(s.part.status.textContent, 'waitTimeout');
  assert.deepEqual(s.labels(), ['leaveMessage', 'waitAgain', 'dismiss'], 'after a timeout: a message first');
  s.part.actions.childNodes[0].click();
  assert.deepEqual(s.started, [['leave']]);

  const m = setup({ leaveMessage: false });
  await m.part.start('anna', 'voice');
  m.part.receive({ mt: 'WaitEnded', dest: 'anna', reason: 'missed' });
  assert.deepEqual(m.labels(), ['waitAgain', 'dismiss']);
  m.part.actions.childNodes[0].click();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(m.sent.map((x) => x.mt), ['Wait', 'Wait'], 'waiting again joins the line anew');

  const r = setup();
  await r.part.start('anna', 'voice');
  r.part.refused('queue-full');
  assert.equal(r.marks['wait-reason'], 'full');
  r.part.clear();
  await r.part.start('anna', 'voice');
  r.part.connectionLost();
  assert.equal(r.marks['wait-reason'], 'lost');
  assert.equal(r.part.status.textContent, 'waitLost');
});

test('no waiting without the widget\'s line, or while offline', async () => {
  const s = setup({ queue: null });
  await s.part.start('anna', 'voice');
  assert.deepEqual(s.sent, []);
  const o = setup();
  o.w.connected = false;
  await o.part.start('anna', 'voice');
  assert.deepEqual(o.sent, []);
  assert.equal(o.marks['wait-reason'], 'lost');
});
