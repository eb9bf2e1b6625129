import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, fakeClock } from './load.mjs';
import { fakeDocument } from './fakedom.mjs';

// A widget as far as ChatPart sees it; t(key) returns the key, so that the
// tests read which words were chosen.
const setup = () => {
  const clock = fakeClock();
  const emitted = [];
  const { ChatPart, Signals } = load(['helpers', 'storage', 'team', 'chat'], ['ChatPart', 'Signals'], {
    document: fakeDocument(),
    context: { SVG: 'http://www.w3.org/2000/svg', ICONS: new Proxy({}, { get: () => 'M0 0' }), setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout, emit: (type, d) => emitted.push([type, d.state, d.reason]) }
  });
  const sent = [];
  const marks = {};
  const w = {
    id: 'w1', signals: new Signals(), session: { lang: 'en' }, pending: '', unread: 0, connected: true,
    label: (n) => n, t: (k) => k, mark: (k, v) => { marks[k] = v; }, send: (m) => sent.push(JSON.parse(JSON.stringify(m))), online: () => w.connected,
    panel: { opened: true, view: 'chat', open() {} }, team: { get: (id) => ({ id, info: { id, dn: 'Alice Adams' }, chatBusyUntil: 0 }) },
    nameForm: { ask: async () => 'Vera' }, blocker: () => '', cards: { render() {} }, waysOn: { fill(box, id) { box.offeredFor = id; } }, afterView: { show() {}, hide() {} },
    shadow: { activeElement: null }, home() {}
  };
  const chats = new ChatPart(w);
  chats.build();
  return { chats, w, sent, marks, emitted, clock };
};

const opened = async (s) => {
  await s.chats.openChat('alice');
  assert.equal(s.marks.chat, 'opening');
  s.chats.chatOpened({ token: 'tok', dest: 'alice' });
  assert.equal(s.marks.chat, 'open');
};

test('a late ChatEnded of the chat before does not end the one being opened', async () => {
  const s = await (async () => { const x = setup(); await opened(x); return x; })();
  s.chats.endChatByVisitor();
  assert.equal(s.marks['chat-reason'], 'ended-by-visitor');
  assert.deepEqual(s.sent.map((m) => m.mt), ['ChatOpen', 'ChatClose']);
  s.chats.clear();
  await s.chats.openChat('alice');
  assert.equal(s.w.pending, 'chat');
  // The gateway's answer to ChatClose arrives after the new ChatOpen left.
  s.chats.chatEnded('ended-by-visitor');
  assert.equal(s.marks.chat, 'opening', 'the new chat is still being opened');
  assert.equal(s.w.pending, 'chat', 'and still waits for its answer');
  s.chats.refused('retry-later', 'Too many attempts.');
  assert.equal(s.marks.chat, 'ended');
  assert.equal(s.marks['chat-reason'], 'retry-later');
  assert.match(s.chats.log.textContent, /Too many attempts\./);
});

test('an open chat ends on the gateway\'s ChatEnded, with the ways on', async () => {
  const s = setup();
  await opened(s);
  s.chats.chatEnded('agent-unavailable');
  assert.equal(s.marks.chat, 'ended');
  assert.equal(s.chats.alternatives.offeredFor, 'alice');
  assert.match(s.chats.log.textContent, /unavailableReason/);
});

test('replayed messages show once; new numbers are acknowledged together', async () => {
  const s = setup();
  await opened(s);
  s.chats.chatMessage({ seq: 1, id: 'm1', text: 'Hello', time: '2026-01-01T12:00:00Z' });
  s.chats.chatMessage({ seq: 2, id: 'm2', text: 'Anything else?', time: '2026-01-01T12:00:05Z' });
  s.chats.chatMessage({ seq: 1, id: 'm1', text: 'Hello', time: '2026-01-01T12:00:00Z' });
  assert.equal(s.chats.log.querySelectorAll('.msg').length, 2);
  assert.equal(s.sent.filter((m) => m.mt === 'ChatAck').length, 0, 'not at once');
  s.clock.advance(1000);
  assert.deepEqual(s.sent.filter((m) => m.mt === 'ChatAck'), [{ mt: 'ChatAck', seq: 2 }]);
});

test('a text not delivered says why and can be sent again, unless that cannot help', async () => {
  const s = setup();
  await opened(s);
  s.chats.input.value = 'Is it in stock?';
  s.chats.chatSend();
  const first = s.sent.find((m) => m.mt === 'ChatSend');
  assert.equal(first.text, 'Is it in stock?');
  s.chats.delivery({ seq: 1, id: first.id, state: 'failed', reason: 'timeout' });
  const msg = s.chats.log.querySelector('.msg.me');
  assert.equal(msg.getAttribute('data-state'), 'failed');
  assert.match(msg.textContent, /notDelivered: whyTimeout/);
  const retry = msg.querySelector('.lnkb');
  assert.equal(retry.hidden, false);
  retry.click();
  const again = s.sent.filter((m) => m.mt === 'ChatSend');
  assert.equal(again.length, 2);
  assert.notEqual(again[1].id, first.id, 'sent again as a new message');
  assert.equal(msg.getAttribute('data-state'), 'sending');
  s.chats.delivery({ seq: 2, id: again[1].id, state: 'failed', reason: 'too-long' });
  assert.equal(retry.hidden, true, 'too long: sending again cannot help');
});

test('a lost connection puts an open chat on hold to resume; sending waits and says why', async () => {
  const s = setup();
  await opened(s);
  s.w.connected = false;
  s.chats.connectionLost();
  s.w.signals.emit('connection');
  assert.equal(s.marks.chat, 'resuming');
  assert.equal(s.chats.sendButton.getAttribute('aria-disabled'), 'true');
  assert.equal(s.chats.sendButton.title, 'reconnecting');
  assert.equal(s.chats.input.disabled, false, 'the visitor may write ahead');
  s.w.connected = true;
  s.chats.resume();
  assert.deepEqual(s.sent[s.sent.length - 1], { mt: 'ChatResume', token: 'tok', seq: 0 });
  s.chats.chatOpened({ token: 'tok', dest: 'alice', resumed: true });
  assert.equal(s.marks.chat, 'open');
  assert.equal(s.chats.sendButton.hasAttribute('aria-disabled'), false);
});

test('a chat being opened when the connection drops failed, with the ways on', async () => {
  const s = setup();
  await s.chats.openChat('alice');
  s.chats.connectionLost();
  assert.equal(s.marks.chat, 'ended');
  assert.equal(s.marks['chat-reason'], 'failed');
  assert.equal(s.chats.alternatives.offeredFor, 'alice');
});
