// load runs widget parts (widget/assets/NAME.js) in a fresh context with a
// stand-in browser, and returns the names asked for: the parts are plain
// scripts sharing one scope, as the gateway serves them.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const dir = fileURLToPath(new URL('../assets/', import.meta.url));

export function load(parts, names, globals = {}) {
  const win = { addEventListener() {}, isSecureContext: false, ...globals.window };
  const doc = { baseURI: 'https://shop.example/page', querySelectorAll: () => [], ...globals.document };
  const nav = { languages: ['en-GB', 'en'], language: 'en-GB', ...globals.navigator };
  const context = vm.createContext({ win, doc, nav, URL, Intl, console, setTimeout, clearTimeout, PREFIX: 'frontdesk:' });
  const src = parts.map((p) => readFileSync(dir + p + '.js', 'utf8')).join('\n');
  return vm.runInContext(`'use strict';\n${src}\n;({ ${names.join(', ')} })`, context);
}
