import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './load.mjs';

const h = load(['helpers'], ['fill', 'safeURL', 'findLinks', 'videoAnswered', 'clock', 'initials', 'endKey', 'telURL', 'timeOf', 'inTime', 'whenOf', 'ratio', 'rgb']);

test('fill puts values into placeholders and leaves unknown ones', () => {
  assert.equal(h.fill('Call {name}', { name: 'Ann' }), 'Call Ann');
  assert.equal(h.fill('in {seconds} s {x}', { seconds: 5 }), 'in 5 s {x}');
});

test('safeURL keeps http(s), mailto and tel, refuses the rest', () => {
  assert.equal(h.safeURL('https://example.com/a'), 'https://example.com/a');
  assert.equal(h.safeURL('/contact'), 'https://shop.example/contact');
  assert.equal(h.safeURL('mailto:a@example.com'), 'mailto:a@example.com');
  for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'vbscript:x', 'file:///etc/passwd']) assert.equal(h.safeURL(bad), '', bad);
});

test('findLinks finds links without the sentence punctuation, and nothing else', () => {
  const parts = h.findLinks('See https://example.com/a?b=1. Or www.example.org, or tel:+4930123!');
  assert.deepEqual(JSON.parse(JSON.stringify(parts)), [
    { text: 'See ' }, { text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
    { text: '. Or ' }, { text: 'www.example.org', href: 'https://www.example.org/' },
    { text: ', or ' }, { text: 'tel:+4930123', href: 'tel:+4930123' }, { text: '!' }]);
  assert.deepEqual(JSON.parse(JSON.stringify(h.findLinks('javascript:alert(1) and <b>'))), [{ text: 'javascript:alert(1) and <b>' }]);
  assert.equal(h.findLinks('https://a.example https://b.example').filter((p) => p.href).length, 2);
});

test('videoAnswered: a video m-line with a port that is not inactive', () => {
  const audio = 'v=0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n';
  assert.equal(h.videoAnswered(audio), false);
  assert.equal(h.videoAnswered(audio + 'm=video 0 RTP/AVP 96\r\n'), false);
  assert.equal(h.videoAnswered(audio + 'm=video 4002 RTP/AVP 96\r\na=inactive\r\n'), false);
  assert.equal(h.videoAnswered(audio + 'm=video 4002 RTP/AVP 96\r\na=sendrecv\r\n'), true);
});

test('clock, initials, endKey, telURL', () => {
  assert.equal(h.clock(0), '0:00');
  assert.equal(h.clock(65000), '1:05');
  assert.equal(h.clock(3725000), '1:02:05');
  assert.equal(h.initials('Alice  van Example'), 'AE');
  assert.equal(h.initials('Ümit'), 'Ü');
  assert.equal(h.endKey('no-answer'), 'endNoAnswer');
  assert.equal(h.telURL('+49 (30) 123-45'), 'tel:+493012345');
});

test('times follow the widget language in the visitor\'s own locale', () => {
  const at = new Date(2026, 0, 1, 13, 5).toISOString();
  assert.equal(h.timeOf(at, 'de'), '13:05');
  // en-GB (the stand-in visitor's locale), not en-US's "1:05 PM".
  assert.equal(h.timeOf(at, 'en'), '13:05');
  assert.equal(h.timeOf('not a time', 'en'), '');
  assert.match(h.inTime(40, 'en'), /40 seconds/);
  assert.match(h.inTime(600, 'de'), /10 Minuten/);
});

test('contrast ratio (WCAG)', () => {
  assert.equal(Math.round(h.ratio([0, 0, 0], [255, 255, 255])), 21);
  assert.equal(JSON.stringify(h.rgb('rgb(1, 2, 3)')), '[1,2,3]');
  assert.equal(h.rgb('red'), null);
});

test('whenOf: an opening time in the visitor\'s zone, with the day unless it is today', () => {
  const at = (days, hour) => {
    const d = new Date();
    d.setDate(d.getDate() + days);
    d.setHours(hour, 30, 0, 0);
    return d;
  };
  const zone = new Intl.DateTimeFormat('en-GB', { timeZoneName: 'short' }).formatToParts(at(0, 12)).find((p) => p.type === 'timeZoneName').value;
  const today = h.whenOf(at(0, 23).toISOString(), 'en');
  assert.match(today, /23:30/);
  assert.ok(today.includes(zone), today + ' names the zone ' + zone);
  const weekday = new Intl.DateTimeFormat('en-GB', { weekday: 'long' }).format(at(2, 9));
  const soon = h.whenOf(at(2, 9).toISOString(), 'en');
  assert.ok(soon.includes(weekday) && /09:30/.test(soon), soon);
  const later = h.whenOf(at(20, 9).toISOString(), 'en');
  const month = new Intl.DateTimeFormat('en-GB', { month: 'short' }).format(at(20, 9));
  assert.ok(later.includes(month), later + ' names the month ' + month);
  assert.equal(h.whenOf('not a time', 'en'), '');
});
