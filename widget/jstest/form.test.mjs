import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './load.mjs';
import { fakeDocument } from './fakedom.mjs';

// The pre-contact form in a widget stand-in; t(key) returns the key, so
// that the tests read which words were chosen. store stands in for
// sessionStorage.
const setup = (form, extra = {}) => {
  const items = new Map();
  const store = { get length() { return items.size; }, key: (i) => [...items.keys()][i], getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, v), removeItem: (k) => items.delete(k) };
  const { NameForm, storage } = load(['helpers', 'storage', 'name'], ['NameForm', 'storage'], {
    document: fakeDocument(),
    window: { sessionStorage: store, location: { origin: 'https://shop.example.com', pathname: '/kettles', search: '?id=7' } },
    context: { SVG: 'http://www.w3.org/2000/svg', ICONS: new Proxy({}, { get: () => 'M0 0' }) }
  });
  storage.allow();
  const opened = [];
  const w = {
    id: 'w1', type: 'sidebar', visitor: '', session: { form, ...extra },
    label: (n) => n, t: (k) => k, panel: { view: 'home', open: (v) => { opened.push(v); w.panel.view = v; }, show() {}, focusView() {} }
  };
  const f = new NameForm(w);
  w.nameForm = f;
  f.build();
  return { f, w, opened, items };
};

const plain = (x) => JSON.parse(JSON.stringify(x));
const labels = (f) => Object.keys(f.inputs).map((k) => k + (f.inputs[k].required ? '*' : ''));

test('the default form asks the name alone, once per tab', async () => {
  const s = setup(undefined);
  assert.deepEqual(labels(s.f), ['name*']);
  const answer = s.f.ask(null);
  assert.deepEqual(s.opened, ['name']);
  s.f.inputs.name.value = '  Vera   Visitor ';
  s.f.form.dispatch('submit');
  assert.equal(await answer, 'Vera Visitor');
  assert.equal(await s.f.ask(null), 'Vera Visitor');
  assert.deepEqual(s.opened, ['name'], 'not asked again');
});

test('required fields and a bad email are marked with their reason, and nothing is sent', async () => {
  const s = setup({ name: 'optional', email: 'required', topic: 'required', topics: ['Orders', 'Returns'] });
  assert.deepEqual(labels(s.f), ['name', 'email*', 'topic*']);
  assert.equal(s.f.inputs.topic.tagName, 'SELECT');
  let answered = null;
  s.f.ask(null).then((v) => { answered = v; });
  s.f.inputs.email.value = 'vera@';
  s.f.form.dispatch('submit');
  const why = (k) => s.f.inputs[k].getAttribute('aria-invalid') === 'true' && s.f.inputs[k].err.textContent;
  assert.equal(why('email'), 'badEmail');
  assert.equal(why('topic'), 'fieldRequired');
  assert.equal(why('name'), false, 'an optional field may stay empty');
  assert.equal(s.f.inputs.email.getAttribute('aria-describedby'), s.f.inputs.email.err.id);
  s.f.inputs.email.value = 'vera@example.com';
  s.f.inputs.topic.value = 'Returns';
  s.f.form.dispatch('submit');
  await Promise.resolve();
  assert.equal(answered, '');
  assert.equal(s.f.inputs.email.hasAttribute('aria-invalid'), false);
  assert.deepEqual(plain(s.f.context(false)), { email: 'vera@example.com', topic: 'Returns' });
  assert.deepEqual(plain(s.f.context(true)), { topic: 'Returns' }, 'a left message has a contact of its own');
  assert.match(s.items.get('frontdesk:form'), /vera@example.com/);
});

test('a contact carries the page as the Session says: path, full or none', () => {
  assert.deepEqual(plain(setup(undefined, { page: 'path' }).f.context(false)), { page: 'https://shop.example.com/kettles' });
  assert.deepEqual(plain(setup(undefined, { page: 'full' }).f.context(false)), { page: 'https://shop.example.com/kettles?id=7' });
  assert.deepEqual(plain(setup(undefined, {}).f.context(false)), {});
});

test('a changed form is asked again, and one the gateway refused too', async () => {
  const s = setup({ email: 'optional' });
  const first = s.f.ask(null);
  s.f.inputs.name.value = 'Vera';
  s.f.form.dispatch('submit');
  assert.equal(await first, 'Vera');
  // The admin adds a topic: the form is asked again, with what is known.
  s.w.session = { form: { email: 'optional', topic: 'optional' } };
  s.f.ask(null);
  assert.deepEqual(s.opened, ['name', 'name']);
  assert.equal(s.f.inputs.name.value, 'Vera');
  s.f.inputs.topic.value = 'Kettles';
  s.f.form.dispatch('submit');
  assert.deepEqual(plain(s.f.context(false)), { topic: 'Kettles' });
  s.f.forget();
  assert.deepEqual(plain(s.f.context(false)), {});
  s.f.ask(null);
  assert.equal(s.opened.length, 3);
});

test('a widget that names the caller and asks nothing more shows no form', async () => {
  const s = setup(undefined, { callerName: 'Kiosk 3' });
  assert.deepEqual(labels(s.f), []);
  assert.equal(await s.f.ask(null), 'Kiosk 3');
  assert.deepEqual(s.opened, []);
});
