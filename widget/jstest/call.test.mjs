import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './load.mjs';
import { fakeDocument } from './fakedom.mjs';

// The call part as frontdesk.js loads it: call.js hands its factory to
// Frontdesk.definePart, which gets the helpers. The widget around it is a
// stand-in; t(key) returns the key, so that the tests read which words
// were chosen.
const setup = () => {
  let factory = null;
  const doc = fakeDocument();
  const emitted = [];
  const helpers = ['win', 'doc', 'nav', 'el', 'button', 'setIcon', 'setText', 'fill', 'focus', 'sound', 'tone', 'stopAll', 'clock', 'endKey',
    'videoAnswered', 'gathered', 'canCall', 'showFace', 'agentName'];
  const parts = load(['helpers', 'team', 'call'], helpers, {
    document: doc,
    context: {
      SVG: 'http://www.w3.org/2000/svg', ICONS: new Proxy({}, { get: () => 'M0 0' }),
      window: { Frontdesk: { definePart: (f) => { factory = f; } } }, document: { currentScript: null }
    }
  });
  const CallPart = factory({ ...parts, emit: (type, d) => emitted.push([type, d.state, d.reason]), updateGuard() {} });
  const sent = [];
  const marks = {};
  const offers = [];
  const w = {
    id: 'w1', type: 'sidebar', session: { lang: 'en' }, pending: '', root: doc.createElement('div'),
    signals: { emit() {} }, label: (n) => n, t: (k) => k, field: (k, input) => input, mark: (k, v) => { marks[k] = v; },
    send: (m) => sent.push(m), online: () => true, panel: { opened: true, view: 'call', open() {} },
    team: { get: (id) => ({ id, info: { id, dn: 'Alice Adams' } }) }, shadow: { activeElement: null },
    waysOn: { fill: (box, id, failed, video, lost) => offers.push({ id, failed, lost: !!lost }) }, afterView: { show() {}, hide() {} }, home() {}
  };
  const calls = new CallPart(w);
  calls.build();
  return { calls, w, sent, marks, offers, emitted };
};

// connected places a call as far as the gateway knows it: sent and answered.
const connected = (s) => {
  s.calls.begin({ agent: 'alice', video: false, dn: 'Vera', state: '', sent: true, pc: { close() {} } });
  s.calls.callInfo({ mt: 'CallInfo', state: 'connected' });
  assert.equal(s.marks.call, 'connected');
};

test('a call cut by a lost connection is asked after on the next one, and told lost offers to call again', () => {
  const s = setup();
  connected(s);
  s.calls.connectionLost();
  assert.equal(s.marks.call, 'ended');
  assert.equal(s.marks['call-reason'], 'connection-lost');
  assert.match(s.calls.status.textContent, /endConnectionLost/);
  // Connected again: the widget asks once.
  s.calls.resume();
  s.calls.resume();
  assert.deepEqual(s.sent.map((m) => m.mt), ['CallResume']);
  s.calls.callInfo({ mt: 'CallInfo', state: 'terminated', reason: 'lost' });
  assert.equal(s.marks['call-reason'], 'lost');
  assert.equal(s.calls.status.textContent, 'endLost');
  assert.deepEqual(s.offers.at(-1), { id: 'alice', failed: 'call', lost: true });
  assert.deepEqual(s.emitted.at(-1), ['call', 'ended', 'lost']);
});

test('a call never sent, or dismissed before the connection came back, is not asked after', () => {
  const s = setup();
  s.calls.begin({ agent: 'alice', video: false, dn: 'Vera', state: 'connecting' });
  s.calls.connectionLost();
  s.calls.resume();
  const t = setup();
  connected(t);
  t.calls.connectionLost();
  t.calls.clear();
  t.calls.resume();
  assert.deepEqual([...s.sent, ...t.sent], []);
});

test('reason lost ends nothing that runs: only the call asked after takes it', () => {
  const s = setup();
  connected(s);
  s.calls.callInfo({ mt: 'CallInfo', state: 'terminated', reason: 'lost' });
  assert.equal(s.marks.call, 'connected');
  // A call ended by the visitor is not changed by it either.
  s.calls.hangup();
  s.calls.callInfo({ mt: 'CallInfo', state: 'terminated', reason: 'lost' });
  assert.equal(s.marks['call-reason'], 'ended-by-visitor');
});

// Transfers as the visitor sees them (CallInfo transferring).
test('a transfer shows that the visitor is being transferred, keeps the timer and hang-up, then names the new party', () => {
  const s = setup();
  connected(s);
  const t0 = s.calls.current.t0;
  assert.ok(t0);
  s.calls.callInfo({ mt: 'CallInfo', state: 'transferring' });
  assert.equal(s.marks.call, 'transferring');
  assert.equal(s.calls.status.textContent, 'transferring');
  assert.equal(s.calls.current.t0, t0);
  assert.equal(s.calls.timer.hidden, false);
  assert.equal(s.calls.hangupButton.hidden, false);
  assert.equal(s.calls.controls.hidden, false);
  s.calls.callInfo({ mt: 'CallInfo', state: 'connected', party: 'Bob Support' });
  assert.equal(s.marks.call, 'connected');
  assert.equal(s.calls.name.textContent, 'Bob Support');
  assert.equal(s.calls.current.t0, t0);
  s.calls.hangup();
  assert.deepEqual(s.sent.map((m) => m.mt), ['ClearCall']);
});

test('a transfer that did not go through says so and stays with the agent', () => {
  const s = setup();
  connected(s);
  s.calls.callInfo({ mt: 'CallInfo', state: 'transferring' });
  s.calls.callInfo({ mt: 'CallInfo', state: 'connected', reason: 'transfer-failed' });
  assert.equal(s.marks.call, 'connected');
  assert.equal(s.calls.note.textContent, 'transferFailed');
  assert.equal(s.calls.name.textContent, 'Alice Adams');
  // The agent hung up meanwhile: the call ends with the reason's words.
  s.calls.callInfo({ mt: 'CallInfo', state: 'transferring' });
  s.calls.callInfo({ mt: 'CallInfo', state: 'terminated', reason: 'transfer-failed' });
  assert.equal(s.marks.call, 'ended');
  assert.equal(s.calls.status.textContent, 'endTransferFailed');
});

test('a transfer to someone nobody named no longer shows the agent who passed the call on', () => {
  const s = setup();
  connected(s);
  assert.equal(s.calls.name.textContent, 'Alice Adams');
  s.calls.callInfo({ mt: 'CallInfo', state: 'transferring' });
  s.calls.callInfo({ mt: 'CallInfo', state: 'connected' });
  assert.equal(s.marks.call, 'connected');
  assert.equal(s.calls.name.textContent, '');
  assert.equal(s.calls.current.transferred, true);
  s.calls.hangup(); // ends the call's timer
});

test('a resumed call that was transferred names the party from its first CallInfo', () => {
  const s = setup();
  connected(s);
  s.calls.callInfo({ mt: 'CallInfo', state: 'connected', party: 'Bob Brown' });
  assert.equal(s.calls.name.textContent, 'Bob Brown');
  assert.equal(s.calls.current.transferred, true);
  s.calls.hangup(); // ends the call's timer
});
