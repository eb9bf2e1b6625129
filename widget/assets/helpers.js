  // Helpers of every part: events, DOM building, texts, times, links,
  // sounds, contrast (joined into frontdesk.js by the gateway; see
  // widget/assets.go). The call part, loaded later, gets them as `shared`.

  // Signals carries a widget's named events between its parts: 'texts'
  // (a Session brought strings or style), 'team' (an agent came, went or
  // changed), 'conversation' (a call or chat changed state), 'connection'
  // (the websocket came or went), 'unread'.
  class Signals {
    constructor() {
      this.handlers = {};
    }

    on(name, fn) {
      (this.handlers[name] = this.handlers[name] || []).push(fn);
    }

    emit(name, detail) {
      (this.handlers[name] || []).forEach((fn) => fn(detail));
    }
  }

  // --- sounds (Web Audio, only after a visitor's gesture) ---

  let actx = null;
  // sound prepares audio output; call it from a visitor's click or key press.
  const sound = () => {
    try {
      const AC = win.AudioContext || win.webkitAudioContext;
      if (!actx && AC) actx = new AC();
      if (actx && actx.state === 'suspended') actx.resume().catch(() => {});
    } catch (e) {
      actx = null;
    }
  };
  const tone = (freqs, at, dur, vol) => {
    const c = actx;
    if (!c) return null;
    try {
      const g = c.createGain();
      const t0 = c.currentTime + at;
      g.gain.setValueAtTime(0, t0);
      g.gain.linearRampToValueAtTime(vol, t0 + 0.02);
      g.gain.setValueAtTime(vol, t0 + dur - 0.02);
      g.gain.linearRampToValueAtTime(0, t0 + dur);
      g.connect(c.destination);
      freqs.forEach((f) => {
        const o = c.createOscillator();
        o.frequency.value = f;
        o.connect(g);
        o.start(t0);
        o.stop(t0 + dur);
      });
      return g;
    } catch (e) {
      return null;
    }
  };
  const chime = () => {
    tone([880], 0, 0.12, 0.06);
    tone([1320], 0.14, 0.18, 0.06);
  };

  // --- DOM helpers ---

  const el = (tag, cls, text) => {
    const n = doc.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  };

  const setText = (n, s) => {
    if (n.textContent !== s) n.textContent = s;
  };

  const icon = (name) => {
    const s = doc.createElementNS(SVG, 'svg');
    const p = doc.createElementNS(SVG, 'path');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('class', 'ic');
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('focusable', 'false');
    p.setAttribute('d', ICONS[name]);
    s.append(p);
    return s;
  };

  // focus moves the keyboard focus to n once no key is held: a focus moved
  // while Enter is down would let the same key press activate the new
  // control (or type into it).
  let keyHeld = false;
  let pending = null;
  const flush = () => {
    const f = pending;
    pending = null;
    if (f) f();
  };
  const focus = (n) => {
    if (!n) return;
    const go = () => { if (n.isConnected) n.focus({ preventScroll: true }); };
    if (!keyHeld) {
      go();
      return;
    }
    pending = go;
    setTimeout(() => { if (pending === go) flush(); }, 1000);
  };
  // While the visitor uses the keyboard, the focus is drawn even where
  // :focus-visible does not match (the widget moved the focus itself after a
  // key press, and browsers differ on whether that counts).
  const keyboardMode = (on) => doc.querySelectorAll('[data-frontdesk-host]')
    .forEach((h) => h.toggleAttribute('data-frontdesk-kbd', on));
  win.addEventListener('keydown', (e) => {
    keyHeld = true;
    if (e.key === 'Tab') keyboardMode(true);
  }, true);
  win.addEventListener('pointerdown', () => keyboardMode(false), true);
  win.addEventListener('keyup', () => {
    keyHeld = false;
    flush();
  }, true);
  win.addEventListener('blur', () => {
    keyHeld = false;
    flush();
  });

  const setIcon = (b, name) => {
    const p = b.querySelector('path');
    if (p) p.setAttribute('d', ICONS[name]);
  };

  // button makes a button with an optional icon and a label span (b.lbl).
  const button = (cls, ic, fn, text) => {
    const b = el('button', cls);
    b.type = 'button';
    if (ic) b.append(icon(ic));
    b.lbl = el('span', null, text);
    b.append(b.lbl);
    if (fn) b.addEventListener('click', fn);
    return b;
  };

  // fill puts values into a string's {placeholders}: fill('Call {name}', { name: 'Ann' }).
  const fill = (text, values) => String(text).replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));

  const disable = (b, why) => {
    if (why) {
      b.setAttribute('aria-disabled', 'true');
      b.title = why;
    } else {
      b.removeAttribute('aria-disabled');
      b.removeAttribute('title');
    }
    if (b.why) setText(b.why, why ? ' – ' + why : '');
  };
  const off = (b) => b.getAttribute('aria-disabled') === 'true';

  // Styles go into the shadow root as a constructable stylesheet (shared by
  // all widgets on the page; a strict CSP's style-src does not apply to it).
  // Browsers without constructable stylesheets (Safari before 16.4) get a
  // <style> element instead, which a page's style-src must then allow.
  const constructable = typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype &&
    typeof win.ShadowRoot === 'function' && 'adoptedStyleSheets' in win.ShadowRoot.prototype;
  const adoptStyle = (root) => {
    if (!constructable) {
      root.append(el('style', null, STYLE));
      return;
    }
    try {
      if (!sheet) {
        const s = new CSSStyleSheet();
        s.replaceSync(STYLE);
        sheet = s;
      }
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.append(el('style', null, STYLE));
    }
  };

  // safeURL returns u as an absolute http(s)/mailto/tel URL, or ''.
  const safeURL = (u) => {
    try {
      const x = new URL(String(u), doc.baseURI);
      return /^(https?|mailto|tel):$/.test(x.protocol) ? x.href : '';
    } catch (e) {
      return '';
    }
  };

  const telURL = (s) => 'tel:' + String(s).replace(/[^\d+*#]/g, '');

  const anchor = (href, label, cls, ic, title, blank) => {
    const a = el('a', cls);
    a.href = href;
    if (ic) a.append(icon(ic));
    a.append(el('span', null, label));
    if (title) a.title = title;
    if (blank) {
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
    }
    return a;
  };

  const initials = (s) => {
    const w = s.trim().split(/\s+/);
    const first = (x) => Array.from(x || '')[0] || '';
    return (first(w[0]) + (w.length > 1 ? first(w[w.length - 1]) : '')).toUpperCase();
  };

  // showFace puts a person's picture into node, else their initials; node
  // keeps what it shows until name or url change.
  const showFace = (node, name, url) => {
    const sig = name + '\n' + url;
    if (node.faceSig === sig) return;
    node.faceSig = sig;
    node.textContent = '';
    if (!url) {
      node.append(el('span', null, initials(name)));
      return;
    }
    const img = el('img');
    img.alt = '';
    img.addEventListener('error', () => {
      node.textContent = '';
      node.append(el('span', null, initials(name)));
    });
    img.src = url;
    node.append(img);
  };

  const presenceKey = (p) => (p === 'online' ? 'available' : p === 'busy' ? 'busy' : 'offline');

  const languages = () => {
    const l = nav.languages;
    if (l && l.length) return Array.from(l).slice(0, 16);
    return nav.language ? [nav.language] : [];
  };

  const has = (i, medium) => Array.isArray(i.media) && i.media.indexOf(medium) >= 0;

  const canCall = () => !!(win.isSecureContext && win.RTCPeerConnection && nav.mediaDevices && nav.mediaDevices.getUserMedia);

  // endKey turns a CallInfo reason into its string key: no-answer → endNoAnswer.
  const endKey = (r) => 'end' + String(r).replace(/(^|-)(\w)/g, (x, d, c) => c.toUpperCase());

  const clock = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    const two = (n) => (n < 10 ? '0' : '') + n;
    return (s >= 3600 ? Math.floor(s / 3600) + ':' + two(Math.floor(s / 60) % 60) : Math.floor(s / 60)) + ':' + two(s % 60);
  };

  // inTime says "in 40 seconds" (or minutes, from 90 s) in lang.
  const inTime = (sec, lang) => {
    const [n, unit] = sec >= 90 ? [Math.ceil(sec / 60), 'minute'] : [Math.max(1, Math.ceil(sec)), 'second'];
    try {
      return new Intl.RelativeTimeFormat(lang || undefined, { numeric: 'always' }).format(n, unit);
    } catch (e) {
      return n + (unit === 'minute' ? ' min' : ' s');
    }
  };
  // locale is the visitor's own locale when it is of the widget's language
  // (en-GB, not en-US, for a British visitor), else the language.
  const locale = (lang) => {
    const mine = languages().find((l) => String(l).toLowerCase().split('-')[0] === lang);
    return mine || lang || undefined;
  };
  const timeOf = (iso, lang) => {
    const d = new Date(iso);
    if (isNaN(d)) return '';
    try {
      return new Intl.DateTimeFormat(locale(lang), { hour: 'numeric', minute: '2-digit' }).format(d);
    } catch (e) {
      return d.toTimeString().slice(0, 5);
    }
  };

  // whenOf says when iso is, for an opening time, in the visitor's time
  // zone (named): the time today, else with the weekday within a week,
  // else with the date.
  const whenOf = (iso, lang) => {
    const d = new Date(iso);
    if (isNaN(d)) return '';
    const o = { hour: 'numeric', minute: '2-digit', timeZoneName: 'short' };
    if (d.toDateString() !== new Date().toDateString()) {
      o.weekday = 'long';
      if (d - Date.now() > 6 * 864e5) Object.assign(o, { weekday: 'short', month: 'short', day: 'numeric' });
    }
    try {
      return new Intl.DateTimeFormat(locale(lang), o).format(d);
    } catch (e) {
      return d.toString();
    }
  };

  // findLinks splits text into plain parts ({text}) and links ({text, href}):
  // http(s), mailto and tel URLs and www. addresses, without the punctuation
  // that ends a sentence. Nothing else becomes a link.
  const LINK = /\b(?:https?:\/\/|mailto:|tel:|www\.)[^\s<>"]+/gi;
  const findLinks = (text) => {
    text = String(text);
    const out = [];
    let at = 0;
    for (const m of text.matchAll(LINK)) {
      const url = m[0].replace(/[.,;:!?)\]'}]+$/, '');
      const href = safeURL(/^www\./i.test(url) ? 'https://' + url : url);
      if (!href) continue;
      if (m.index > at) out.push({ text: text.slice(at, m.index) });
      out.push({ text: url, href });
      at = m.index + url.length;
    }
    if (at < text.length) out.push({ text: text.slice(at) });
    return out;
  };

  // linkify returns text as nodes, its links as anchors that open apart
  // from the page.
  const linkify = (text) => findLinks(text).map((part) => {
    if (!part.href) return doc.createTextNode(part.text);
    const a = el('a', 'lnk', part.text);
    a.href = part.href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    return a;
  });

  // videoAnswered says whether an SDP answer takes video: a video m-line
  // with a port and not inactive.
  const videoAnswered = (sdp) => String(sdp).split(/\r?\n(?=m=)/).some((sec) =>
    /^m=video [1-9]/.test(sec) && !/\na=inactive/.test(sec));

  // gathered resolves when ICE gathering is complete, or after ms.
  const gathered = (pc, ms) => new Promise((res) => {
    if (pc.iceGatheringState === 'complete') return res();
    const t = setTimeout(res, ms);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(t);
        res();
      }
    });
  });

  const stopAll = (...tracks) => tracks.forEach((t) => { if (t) t.stop(); });

  // Colour contrast (WCAG 2 relative luminance).
  const rgb = (s) => {
    const m = /rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/.exec(s || '');
    return m ? [+m[1], +m[2], +m[3]] : null;
  };
  const lum = (c) => {
    const v = c.map((x) => {
      x /= 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  };
  const ratio = (a, b) => {
    const x = lum(a);
    const y = lum(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  };

