import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './load.mjs';
import { fakeDocument } from './fakedom.mjs';

// The call part with a stand-in WebRTC: a PeerConnection whose offer is
// "offer N", a microphone, and a media element whose play() the test lets
// work or fail (autoplay refused).
const setup = ({ playFails = false } = {}) => {
  let factory = null;
  const doc = fakeDocument();
  let pcs = 0;
  class FakePC {
    constructor() {
      this.n = ++pcs;
      this.iceGatheringState = 'complete';
      this.listeners = {};
      this.closed = false;
    }
    addTrack(t) { return { track: t, replaceTrack: async () => {} }; }
    addEventListener(type, fn) { this.listeners[type] = fn; }
    async createOffer() { return { type: 'offer', sdp: 'offer ' + this.n }; }
    async setLocalDescription(d) { this.localDescription = d; }
    async setRemoteDescription(d) { this.remote = d; }
    close() { this.closed = true; }
  }
  const track = (kind) => ({ kind, readyState: 'live', enabled: true, stop() { this.readyState = 'ended'; } });
  const nav = { mediaDevices: { getUserMedia: async () => ({ getAudioTracks: () => [track('audio')], getVideoTracks: () => [], getTracks: () => [] }) } };
  const helpers = ['win', 'doc', 'nav', 'el', 'button', 'setIcon', 'setText', 'fill', 'focus', 'sound', 'tone', 'stopAll', 'clock', 'endKey',
    'videoAnswered', 'gathered', 'canCall', 'showFace', 'agentName'];
  const parts = load(['helpers', 'team', 'call'], helpers, {
    document: doc,
    navigator: nav,
    context: {
      SVG: 'http://www.w3.org/2000/svg', ICONS: new Proxy({}, { get: () => 'M0 0' }),
      RTCPeerConnection: FakePC, MediaStream: class { constructor(t) { this.tracks = t; } },
      window: { Frontdesk: { definePart: (f) => { factory = f; } } }, document: { currentScript: null }
    }
  });
  const CallPart = factory({ ...parts, emit() {} });
  const sent = [];
  const marks = {};
  const kept = [];
  const w = {
    id: 'w1', type: 'sidebar', session: { lang: 'en' }, pending: '', root: doc.createElement('div'), ice: null,
    signals: { emit() {} }, label: (n) => n, t: (k) => k, field: (k, input) => input, mark: (k, v) => { marks[k] = v; },
    send: (m) => sent.push(m), online: () => true, panel: { opened: true, view: 'call', open() {} },
    team: { get: (id) => ({ id, info: { id, dn: 'Alice Adams' } }) }, shadow: { activeElement: null },
    waysOn: { fill() {} }, afterView: { show() {}, hide() {} }, home() {}, keepCall: (v) => kept.push(v)
  };
  const calls = new CallPart(w);
  calls.build();
  calls.remoteVideo.play = () => (playFails ? Promise.reject(new Error('NotAllowedError')) : Promise.resolve());
  return { calls, w, sent, marks, kept };
};

const settle = () => new Promise((r) => setTimeout(r, 0));
const plain = (v) => JSON.parse(JSON.stringify(v));

test('a connected call with a token is kept for the next page, and forgotten when it ends', () => {
  const s = setup();
  s.calls.begin({ agent: 'alice', video: false, dn: 'Vera', state: '', sent: true, pc: { close() {} } });
  s.calls.callInfo({ mt: 'CallInfo', state: 'connected', resume: 'tok1' });
  const k = s.kept.at(-1);
  assert.equal(k.token, 'tok1');
  assert.equal(k.agent, 'alice');
  assert.equal(k.dn, 'Vera');
  assert.ok(k.started > 0 && k.at > 0);
  s.calls.hangup();
  assert.equal(s.kept.at(-1), null);
  assert.deepEqual(plain(s.sent.map((m) => m.mt)), ['ClearCall']);
});

test('the next page shows Reconnecting, sends CallResume with its token and a new offer, and continues', async () => {
  const s = setup();
  s.calls.restore({ token: 'tok1', agent: 'alice', video: false, dn: 'Vera', started: Date.now() - 5000, at: Date.now() });
  assert.equal(s.marks.call, 'reconnecting');
  assert.equal(s.calls.status.textContent, 'callReconnecting');
  await settle();
  await settle();
  assert.deepEqual(plain(s.sent), [{ mt: 'CallResume', token: 'tok1', sdp: 'offer 1' }]);
  s.calls.callInfo({ mt: 'CallInfo', state: 'connected', cmd: 'SELECT', sdp: 'answer', resume: 'tok2' });
  assert.equal(s.marks.call, 'connected');
  assert.equal(s.calls.current.pc.remote.sdp, 'answer');
  assert.equal(s.kept.at(-1).token, 'tok2');
  assert.ok(s.calls.current.t0 <= Date.now() - 5000, 'the call time goes on from the first page');
  clearInterval(s.calls.current.tick);
});

test('a stored call that is stale is forgotten; one the gateway lost shows the lost state', async () => {
  const s = setup();
  s.calls.restore({ token: 'tok1', agent: 'alice', at: Date.now() - 6 * 60 * 1000 });
  assert.equal(s.calls.current, null);
  assert.equal(s.sent.length, 0);
  assert.equal(s.kept.at(-1), null);
  s.calls.restore({ token: 'tok1', agent: 'alice', at: Date.now() });
  await settle();
  await settle();
  s.calls.callInfo({ mt: 'CallInfo', state: 'terminated', reason: 'lost' });
  assert.equal(s.marks.call, 'ended');
  assert.equal(s.marks['call-reason'], 'lost');
  assert.equal(s.calls.status.textContent, 'endLost');
});

test('a lost connection keeps a call with a token and takes it back on the next one', async () => {
  const s = setup();
  s.calls.begin({ agent: 'alice', video: false, dn: 'Vera', state: '', sent: true, mic: { readyState: 'live', stop() {} }, pc: { close() { this.closed = true; } } });
  const old = s.calls.current.pc;
  s.calls.callInfo({ mt: 'CallInfo', state: 'connected', resume: 'tok1' });
  s.calls.connectionLost();
  assert.equal(s.marks.call, 'reconnecting');
  assert.ok(old.closed);
  s.calls.resume();
  await settle();
  assert.deepEqual(plain(s.sent.at(-1)), { mt: 'CallResume', token: 'tok1', sdp: 'offer 1' });
  clearInterval(s.calls.current.tick);
});

test('audio the browser will not play shows Tap to resume audio, which plays it', async () => {
  let fail = true;
  const s = setup();
  s.calls.remoteVideo.play = () => (fail ? Promise.reject(new Error('NotAllowedError')) : Promise.resolve());
  s.calls.restore({ token: 'tok1', agent: 'alice', at: Date.now() });
  await settle();
  await settle();
  s.calls.current.pc.listeners.track({ streams: [{}], track: {} });
  await settle();
  assert.equal(s.calls.tapButton.hidden, false);
  fail = false;
  s.calls.tapAudio();
  await settle();
  assert.equal(s.calls.tapButton.hidden, true);
});
