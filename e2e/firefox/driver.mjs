// Drives one headless Firefox ESR over WebDriver BiDi (puppeteer-core) for
// the Go browser tests (e2e/firefox_test.go). One request per line on stdin,
// one answer per line on stdout, as JSON:
//
//   {"id": 1, "op": "newTab"}                      -> {"id": 1, "value": "t1"}
//   {"id": 2, "op": "eval", "tab": "t1", "expr": "1 + 1"} -> {"id": 2, "value": "2"}
//   ... errors come back as {"id": n, "error": "..."}
//
// and what a tab logs (console, uncaught errors, dialogs) as
// {"event": "log", "tab": "t1", "text": "..."}.
//
// Settings come from the environment: FD_FIREFOX (the binary),
// FD_FIREFOX_PROFILE (a fresh profile directory), FD_FIREFOX_PREFS (JSON of
// the preferences). The first line out is {"event": "started", "pid": N},
// Firefox's PID, which the Go side ends the browser by. stdin closing ends
// the browser and this script.

import readline from 'node:readline';
import puppeteer from 'puppeteer-core';

// maxLine bounds one request line (an expression, a script to preload).
const maxLine = 4 << 20;

const write = (msg) => process.stdout.write(JSON.stringify(msg) + '\n');

const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: process.env.FD_FIREFOX,
  headless: true,
  userDataDir: process.env.FD_FIREFOX_PROFILE,
  extraPrefsFirefox: JSON.parse(process.env.FD_FIREFOX_PREFS || '{}'),
  protocolTimeout: 30000,
  defaultViewport: { width: 1280, height: 800 },
  // Debian's build: no downloads, no crash reporter.
  env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' },
});
write({ event: 'started', pid: browser.process().pid });

const tabs = new Map();
let tabCount = 0;

// keyNames maps the key names the Go side sends (chromedp/kb's runes) to
// puppeteer's.
const keyNames = { '\r': 'Enter', '\n': 'Enter', '\t': 'Tab', '\u001b': 'Escape', ' ': 'Space', '\b': 'Backspace' };

async function newTab() {
  const page = await browser.newPage();
  const id = 't' + (++tabCount);
  tabs.set(id, page);
  page.on('console', (m) => write({ event: 'log', tab: id, text: 'console ' + m.type() + ': ' + m.text() }));
  page.on('pageerror', (e) => write({ event: 'log', tab: id, text: 'exception error: ' + (e && e.message) }));
  page.on('dialog', (d) => {
    write({ event: 'log', tab: id, text: 'dialog ' + d.type() + ': ' + d.message() });
    d.accept().catch(() => {});
  });
  return id;
}

function tab(id) {
  const page = tabs.get(id);
  if (!page) throw new Error('no tab ' + id);
  return page;
}

async function handle(req) {
  switch (req.op) {
    case 'newTab':
      return newTab();
    case 'closeTab': {
      const page = tab(req.tab);
      tabs.delete(req.tab);
      await page.close({ runBeforeUnload: false });
      return null;
    }
    case 'navigate':
      await tab(req.tab).goto(req.url, { waitUntil: 'load', timeout: 20000 });
      return null;
    case 'reload':
      await tab(req.tab).reload({ waitUntil: 'load', timeout: 20000 });
      return null;
    case 'preload':
      await tab(req.tab).evaluateOnNewDocument(req.src);
      return null;
    case 'eval':
      // The page JSON-encodes the value (promises awaited), as CDP's
      // returnByValue would.
      return tab(req.tab).evaluate(`(async () => { const v = await (${req.expr}); return v === undefined ? 'null' : JSON.stringify(v); })()`);
    case 'click':
      await tab(req.tab).mouse.click(req.x, req.y);
      return null;
    case 'key': {
      const kb = tab(req.tab).keyboard;
      const name = keyNames[req.key] || req.key;
      if (req.shift) await kb.down('Shift');
      await kb.press(name);
      if (req.shift) await kb.up('Shift');
      return null;
    }
    case 'type':
      await tab(req.tab).keyboard.type(req.text);
      return null;
    case 'front':
      await tab(req.tab).bringToFront();
      return null;
    case 'viewport':
      await tab(req.tab).setViewport({ width: req.width, height: req.height, deviceScaleFactor: req.scale || 1, isMobile: !!req.mobile, hasTouch: !!req.mobile });
      return null;
    case 'screenshot':
      return tab(req.tab).screenshot({ encoding: 'base64' });
    default:
      throw new Error('unknown op ' + req.op);
  }
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (line.length > maxLine) {
    write({ id: 0, error: 'request longer than ' + maxLine + ' bytes' });
    return;
  }
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    write({ id: 0, error: 'bad request: ' + e.message });
    return;
  }
  handle(req).then(
    (value) => write({ id: req.id, value }),
    (e) => write({ id: req.id, error: String((e && e.message) || e) }),
  );
});
lines.on('close', async () => {
  try {
    await browser.close();
  } finally {
    process.exit(0);
  }
});
