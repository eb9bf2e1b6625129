import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './load.mjs';
import { fakeDocument } from './fakedom.mjs';

const { linkify } = load(['helpers'], ['linkify'], { document: fakeDocument() });

test('linkify makes links of http(s), mailto and tel only, opened apart from the page', () => {
  const nodes = linkify('Read https://example.com/a?b=1. Mail mailto:x@example.com, not javascript:alert(1) or <b>x</b>');
  assert.deepEqual(Array.from(nodes).map((n) => (n.nodeType === 1 ? [n.tagName, n.href, n.target, n.rel, n.textContent] : n.textContent)), [
    'Read ',
    ['A', 'https://example.com/a?b=1', '_blank', 'noopener noreferrer', 'https://example.com/a?b=1'],
    '. Mail ',
    ['A', 'mailto:x@example.com', '_blank', 'noopener noreferrer', 'mailto:x@example.com'],
    ', not javascript:alert(1) or <b>x</b>'
  ]);
  // Markup stays text: no element but the links.
  assert.equal(nodes.filter((n) => n.nodeType === 1).length, 2);
  assert.equal(nodes.map((n) => n.textContent).join(''), 'Read https://example.com/a?b=1. Mail mailto:x@example.com, not javascript:alert(1) or <b>x</b>');
});

test('linkify of a text without links is the text', () => {
  const nodes = linkify('Hello <img src=x onerror=alert(1)>');
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0].nodeType, 3);
  assert.equal(nodes[0].textContent, 'Hello <img src=x onerror=alert(1)>');
});
