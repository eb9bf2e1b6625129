// load runs widget parts (widget/assets/NAME.js) in a fresh context with a
// stand-in browser, and returns the names asked for: the parts are plain
// scripts sharing one scope, as the gateway serves them. globals.window,
// .document and .navigator add to the stand-ins; globals.context adds or
// replaces other names of the scope (WebSocket, setTimeout, emit, …).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const dir = fileURLToPath(new URL('../assets/', import.meta.url));

export function load(parts, names, globals = {}) {
  const win = { addEventListener() {}, isSecureContext: false, ...globals.window };
  const doc = { baseURI: 'https://shop.example/page', querySelectorAll: () => [], ...globals.document };
  const nav = { languages: ['en-GB', 'en'], language: 'en-GB', ...globals.navigator };
  const context = vm.createContext({
    win, doc, nav, URL, Intl, console, setTimeout, clearTimeout, setInterval, clearInterval, Date, Math, JSON,
    PREFIX: 'frontdesk:', ...globals.context
  });
  const src = parts.map((p) => readFileSync(dir + p + '.js', 'utf8')).join('\n');
  return vm.runInContext(`'use strict';\n${src}\n;({ ${names.join(', ')} })`, context);
}

// fakeClock stands in for setTimeout, clearTimeout and Date.now: time moves
// only with advance(ms), which runs the timers due, in order.
export function fakeClock() {
  let now = 1000000;
  let nextId = 1;
  const timers = new Map();
  const clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, ms || 0), fn });
      return id;
    },
    clearTimeout: (id) => { timers.delete(id); },
    pending: () => Array.from(timers.values()).map((t) => t.at - now).sort((a, b) => a - b),
    advance: (ms) => {
      const end = now + ms;
      for (;;) {
        const due = Array.from(timers.entries()).filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    }
  };
  return clock;
}
