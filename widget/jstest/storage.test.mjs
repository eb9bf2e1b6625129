import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './load.mjs';

// memoryStore is a sessionStorage stand-in.
const memoryStore = (entries = {}) => {
  const m = new Map(Object.entries(entries));
  return {
    get length() { return m.size; },
    key: (i) => Array.from(m.keys())[i],
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => { m.set(k, String(v)); },
    removeItem: (k) => { m.delete(k); },
    entries: () => Object.fromEntries(m)
  };
};

const { VisitorStorage } = load(['storage'], ['VisitorStorage']);

test('nothing is stored before the visitor acts', () => {
  const store = memoryStore({ other: '1' });
  const s = new VisitorStorage(store, 'frontdesk:');
  s.save('name', 'Vera');
  assert.deepEqual(store.entries(), { other: '1' });
  assert.equal(s.load('name'), null);
  s.allow();
  s.save('name', 'Vera');
  assert.equal(s.load('name'), 'Vera');
  s.save('name', null);
  assert.deepEqual(store.entries(), { other: '1' });
});

test('an earlier page of the tab that stored allows at once', () => {
  const store = memoryStore({ 'frontdesk:name': '"Vera"' });
  const s = new VisitorStorage(store, 'frontdesk:');
  s.save('chat:w', { token: 't' });
  assert.equal(JSON.stringify(s.load('chat:w')), '{"token":"t"}');
});

test('a broken or missing storage loses nothing that works', () => {
  const broken = { length: 0, getItem() { throw new Error('denied'); }, setItem() { throw new Error('full'); } };
  const s = new VisitorStorage(broken, 'frontdesk:');
  s.allow();
  s.save('name', 'Vera');
  assert.equal(s.load('name'), null);
  const none = new VisitorStorage(null, 'frontdesk:');
  none.allow();
  none.save('name', 'Vera');
  assert.equal(none.load('name'), null);
  const garbage = new VisitorStorage(memoryStore({ 'frontdesk:name': '{not json' }), 'frontdesk:');
  assert.equal(garbage.load('name'), null);
});
