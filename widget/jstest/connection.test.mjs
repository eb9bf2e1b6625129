import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, fakeClock } from './load.mjs';

// FakeSocket is a WebSocket the test drives: open(), receive(m) and
// drop() are the gateway's side.
class FakeSocket {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.listeners = {};
    FakeSocket.all.push(this);
  }

  addEventListener(type, fn) {
    (this.listeners[type] = this.listeners[type] || []).push(fn);
  }

  fire(type, e = {}) {
    (this.listeners[type] || []).forEach((fn) => fn(e));
  }

  send(text) {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(text));
  }

  close() {
    this.readyState = 3;
    this.fire('close');
  }

  open() {
    this.readyState = 1;
    this.fire('open');
  }

  receive(m) {
    this.fire('message', { data: typeof m === 'string' ? m : JSON.stringify(m) });
  }

  drop() {
    this.close();
  }
}
FakeSocket.all = [];

const setup = () => {
  FakeSocket.all = [];
  const clock = fakeClock();
  const parts = load(['connection'], ['Backoff', 'SendQueue', 'Connection'], {
    context: { WebSocket: FakeSocket, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout }
  });
  const events = [];
  const conn = new parts.Connection('wss://gw.example/ws?widget=w1', {
    hello: () => ({ mt: 'Start', uuid: 'w1' }),
    message: (m) => events.push(['message', m.mt]),
    lost: () => events.push(['lost']),
    broken: (why) => events.push(['broken', why])
  });
  conn.outbox = new parts.SendQueue(8, 20, clock.now);
  return { ...parts, clock, conn, events, socket: () => FakeSocket.all[FakeSocket.all.length - 1] };
};

test('Backoff doubles from 1 s to 30 s with ±25 % jitter, and starts over after a reset', () => {
  const { Backoff } = setup();
  const low = new Backoff(() => 0);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(() => low.next()), [750, 1500, 3000, 6000, 12000, 24000, 24000]);
  const high = new Backoff(() => 0.999999);
  const waits = [1, 2, 3, 4, 5, 6, 7].map(() => Math.round(high.next()));
  assert.deepEqual(waits, [1250, 2500, 5000, 10000, 20000, 30000, 30000]);
  high.reset();
  assert.equal(Math.round(high.next()), 1250);
});

test('SendQueue lets a burst through, then the steady rate, and says how long to wait', () => {
  const { SendQueue, clock } = setup();
  const q = new SendQueue(8, 20, clock.now);
  const out = [];
  for (let i = 0; i < 25; i++) q.push('m' + i);
  assert.equal(q.drain((m) => out.push(m)), 125);
  assert.equal(out.length, 20, 'the burst');
  assert.equal(q.length, 5);
  clock.advance(125);
  assert.equal(q.drain((m) => out.push(m)), 125);
  assert.equal(out.length, 21, 'one more after 1/8 s');
  clock.advance(10000);
  assert.equal(q.drain((m) => out.push(m)), 0);
  assert.deepEqual(out, Array.from({ length: 25 }, (x, i) => 'm' + i), 'in order, none lost');
  q.push('late');
  q.clear();
  assert.equal(q.drain((m) => out.push(m)), 0);
  assert.equal(out.length, 25);
});

test('Connection greets on open, decodes messages and skips what is not an object', () => {
  const { conn, events, socket } = setup();
  conn.connect();
  assert.equal(socket().url, 'wss://gw.example/ws?widget=w1');
  assert.equal(conn.open, false);
  socket().open();
  assert.deepEqual(socket().sent, [{ mt: 'Start', uuid: 'w1' }]);
  socket().receive({ mt: 'Session' });
  socket().receive('not json');
  socket().receive('42');
  assert.deepEqual(events, [['message', 'Session']]);
});

test('Connection reconnects with backoff after a loss, sooner on retryNow, from 1 s after a welcome', () => {
  const { conn, events, socket, clock } = setup();
  conn.backoff.random = () => 0.5;
  conn.connect();
  socket().open();
  socket().drop();
  assert.deepEqual(events, [['lost']]);
  assert.equal(conn.waiting, true);
  assert.deepEqual(clock.pending(), [1000]);
  clock.advance(999);
  assert.equal(FakeSocket.all.length, 1, 'not before the wait');
  clock.advance(1);
  assert.equal(FakeSocket.all.length, 2);
  // Refused again: the wait doubles.
  socket().drop();
  assert.deepEqual(clock.pending(), [2000]);
  conn.retryNow();
  assert.equal(FakeSocket.all.length, 3, 'retryNow does not wait');
  assert.equal(conn.waiting, false);
  socket().open();
  conn.welcomed();
  socket().drop();
  assert.deepEqual(clock.pending(), [1000], 'after a welcome the wait starts over');
  // retryNow while connected does nothing.
  clock.advance(1000);
  const n = FakeSocket.all.length;
  conn.retryNow();
  assert.equal(FakeSocket.all.length, n);
});

test('Connection queues under the rate and forgets the queue of a lost socket', () => {
  const { conn, socket, clock } = setup();
  conn.connect();
  socket().open();
  for (let i = 0; i < 22; i++) conn.send({ mt: 'GetPicture', id: 'a' + i });
  assert.equal(socket().sent.length, 21, 'Start and a burst of 20');
  clock.advance(125);
  assert.equal(socket().sent.length, 22);
  clock.advance(125);
  assert.equal(socket().sent.length, 23);
  assert.deepEqual(socket().sent.slice(1).map((m) => m.id), Array.from({ length: 22 }, (x, i) => 'a' + i));
  // Sent while closed: waits, and goes nowhere once a new socket starts.
  socket().drop();
  conn.send({ mt: 'ChatSend' });
  clock.advance(30000);
  socket().open();
  assert.deepEqual(socket().sent, [{ mt: 'Start', uuid: 'w1' }]);
});

test('Connection pauses without reconnecting, resumes, and closes for good', () => {
  const { conn, events, socket, clock } = setup();
  conn.connect();
  socket().open();
  conn.pause();
  assert.deepEqual(events, [['lost']]);
  clock.advance(60000);
  assert.equal(FakeSocket.all.length, 1, 'no reconnect while paused');
  conn.resume();
  assert.equal(FakeSocket.all.length, 2);
  conn.close();
  clock.advance(60000);
  conn.resume();
  conn.connect();
  assert.equal(FakeSocket.all.length, 2, 'closed for good');
});

test('Connection reports a URL the browser refuses as broken', () => {
  const clock = fakeClock();
  const { Connection } = load(['connection'], ['Connection'], {
    context: { WebSocket: class { constructor() { throw new Error('SyntaxError: bad URL'); } }, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout }
  });
  const events = [];
  const conn = new Connection('wss://bad url', { hello: () => ({}), message() {}, lost: () => events.push('lost'), broken: (why) => events.push(why) });
  conn.connect();
  assert.deepEqual(events, ['Error: SyntaxError: bad URL']);
  assert.deepEqual(clock.pending(), []);
});
