import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './load.mjs';
import { fakeDocument } from './fakedom.mjs';

const setup = () => {
  const doc = fakeDocument();
  const shared = { helper: 'from the widget' };
  const parts = load(['loader'], ['loadPart', 'definePart'], { document: doc, context: { shared, console: { error() {}, warn() {} } } });
  const scripts = () => doc.head.querySelectorAll('script');
  return { ...parts, doc, shared, scripts };
};

const PATH = '/frontdesk-call.js?v=0123456789abcdef';

test('the call part is one script from the gateway, handed the helpers, for every widget', async () => {
  const { loadPart, definePart, scripts } = setup();
  const first = loadPart('https://gw.example', PATH);
  const second = loadPart('https://gw.example', PATH);
  assert.equal(first, second);
  assert.equal(scripts().length, 1);
  const s = scripts()[0];
  assert.equal(s.src, 'https://gw.example/frontdesk-call.js?v=0123456789abcdef');
  assert.equal(s.async, true);
  // The script runs: it defines the part, then the browser fires load.
  definePart((shared) => class CallPart { static helper = shared.helper; }, s.src);
  s.dispatch('load');
  const CallPart = await first;
  assert.equal(CallPart.helper, 'from the widget');
});

test('a part that fails to load is tried again on the next call', async () => {
  const { loadPart, definePart, scripts } = setup();
  const first = loadPart('https://gw.example', PATH);
  scripts()[0].dispatch('error');
  await assert.rejects(first, /cannot load https:\/\/gw.example\/frontdesk-call.js/);
  assert.equal(scripts().length, 0, 'the failed script is gone');
  const again = loadPart('https://gw.example', PATH);
  assert.notEqual(again, first);
  assert.equal(scripts().length, 1);
  definePart(() => 'part', scripts()[0].src);
  assert.equal(await again, 'part');
});

test('a script that defines nothing, or another script, does not count', async () => {
  const { loadPart, definePart, scripts } = setup();
  const load = loadPart('https://gw.example', PATH);
  definePart(() => 'not mine', 'https://elsewhere.example/frontdesk-call.js');
  scripts()[0].dispatch('load');
  await assert.rejects(load);
  const again = loadPart('https://gw.example', PATH);
  definePart(() => { throw new Error('broken part'); }, scripts()[0].src);
  await assert.rejects(again);
});
