import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './load.mjs';

const { Team, agentName } = load(['helpers', 'team'], ['Team', 'agentName']);

const info = (id, presence, media, order, extra = {}) => ({ mt: 'Info', id, dn: id.toUpperCase(), presence, media, order, ...extra });

const team = () => {
  const t = new Team();
  t.update(info('carol', 'online', ['chat'], 2));
  t.update(info('alice', 'offline', ['voice', 'chat'], 0));
  t.update(info('bob', 'online', ['video', 'chat'], 1));
  return t;
};

test('update says the presence before; sorted and available follow the order', () => {
  const t = new Team();
  assert.equal(t.update(info('alice', 'offline', [], 0)).before, '');
  const { agent, before } = t.update(info('alice', 'online', [], 0));
  assert.equal(before, 'offline');
  assert.equal(agent.info.presence, 'online');
  const u = team();
  assert.deepEqual(Array.from(u.sorted(), (a) => a.id), ['alice', 'bob', 'carol']);
  assert.deepEqual(Array.from(u.available(), (a) => a.id), ['bob', 'carol']);
  assert.equal(u.anyAvailable(), true);
  assert.equal(agentName(u.get('bob')), 'BOB');
  assert.equal(agentName(null), '');
});

test('pick: the first available agent in order that takes the medium, voice also by video', () => {
  const t = team();
  assert.equal(t.pick('').id, 'bob');
  assert.equal(t.pick('chat').id, 'bob');
  assert.equal(t.pick('voice').id, 'bob', 'bob takes video, so a voice call');
  assert.equal(t.pick('email'), null);
  assert.equal(t.pick('chat', true, () => 0.99).id, 'carol', 'equal priority: at random');
  assert.equal(t.pick('chat', true, () => 0).id, 'bob');
  t.update(info('bob', 'busy', ['video', 'chat'], 1));
  t.update(info('carol', 'offline', ['chat'], 2));
  assert.equal(t.pick(''), null);
  assert.equal(t.anyAvailable(), false);
});

test('blocker says why an agent cannot be reached now, connection first', () => {
  const t = team();
  const now = { online: true, time: 5000, canCall: true, secure: true };
  const bob = t.get('bob');
  assert.equal(t.blocker(bob, 'video', now), '');
  assert.equal(t.blocker(bob, 'video', { ...now, online: false }), 'reconnecting');
  assert.equal(t.blocker(t.get('alice'), 'chat', now), 'unavailableReason');
  assert.equal(t.blocker(bob, 'voice', { ...now, canCall: false }), 'noWebRTC');
  assert.equal(t.blocker(bob, 'voice', { ...now, canCall: false, secure: false }), 'insecure');
  assert.equal(t.blocker(bob, 'chat', { ...now, canCall: false }), '', 'a chat needs no WebRTC');
  bob.chatBusyUntil = 6000;
  assert.equal(t.blocker(bob, 'chat', now), 'agentBusy');
  assert.equal(t.blocker(bob, 'chat', { ...now, time: 6001 }), '');
});

test('pictures: asked once per version, only data: images kept, forgotten on a new connection', () => {
  const t = new Team();
  const { agent } = t.update(info('alice', 'online', [], 0, { picture: 'v1' }));
  assert.equal(t.wantsPicture(agent), true);
  assert.equal(t.wantsPicture(agent), false, 'asked already');
  assert.equal(t.picture({ id: 'nobody', url: 'data:image/png;base64,AA' }), null);
  assert.equal(t.picture({ id: 'alice', url: 'data:image/png;base64,AAAA' }).url, 'data:image/png;base64,AAAA');
  t.update(info('alice', 'online', [], 0, { picture: 'v2' }));
  assert.equal(t.wantsPicture(agent), true);
  assert.equal(t.picture({ id: 'alice', url: 'https://evil.example/x.png' }).url, '', 'not a data: image');
  t.update(info('alice', 'online', [], 0, { picture: 'v3' }));
  t.wantsPicture(agent);
  t.forgetAsked();
  assert.equal(t.wantsPicture(agent), true, 'asked on the old connection: ask again');
  t.update(info('alice', 'online', [], 0));
  assert.equal(t.wantsPicture(agent), false);
  assert.equal(agent.url, '', 'no picture any more');
});

test('stale agents are the ones a reconnect did not announce again', () => {
  const t = team();
  t.markStale();
  t.update(info('bob', 'online', ['chat'], 1));
  assert.deepEqual(Array.from(t.staleIds()).sort(), ['alice', 'carol']);
  t.remove('alice');
  assert.equal(t.get('alice'), null);
});
