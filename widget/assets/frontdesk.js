/* Frontdesk contact widget. Protocol: docs/protocol.md (Widget-API). */
(() => {
  'use strict';

  const win = window;
  const doc = document;

  // The script may be included several times (one tag per widget): the first
  // copy does the work, later copies only look for new widget tags.
  const loaded = win.Frontdesk;
  if (loaded && typeof loaded.scan === 'function') {
    loaded.scan();
    return;
  }
  if (!win.WebSocket || !('attachShadow' in Element.prototype)) {
    console.warn('Frontdesk: this browser cannot show the contact widget');
    return;
  }

  // Replaced by frontdesk.css when the gateway serves this file.
  const STYLE = "__FRONTDESK_CSS__";

  const DEFAULTS = {
    contactUs: 'Contact us', title: 'Contact us', close: 'Close contact panel',
    available: 'Available', busy: 'Busy', offline: 'Not available',
    email: 'Email', phone: 'Phone', nobodyAvailable: 'Nobody is available right now.'
  };
  // Error codes after which reconnecting cannot help.
  const FATAL = ['unknown-widget', 'origin-not-allowed', 'widget-removed'];
  // Session.style keys and the custom properties frontdesk.css reads.
  const VARS = {
    fontFamily: '--fd-font', fontSize: '--fd-size', foreground: '--fd-fg', background: '--fd-bg',
    accent: '--fd-accent', accentText: '--fd-accent-text', marginTop: '--fd-mt', marginRight: '--fd-mr',
    marginBottom: '--fd-mb', marginLeft: '--fd-ml', zIndex: '--fd-z'
  };
  const SVG = 'http://www.w3.org/2000/svg';
  const ICONS = {
    chat: 'M4 5h16v11H9l-5 4z',
    close: 'M6 6l12 12M18 6L6 18',
    mail: 'M3 5h18v14H3zM3 6l9 7 9-7',
    phone: 'M5 3h4l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z',
    out: 'M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5'
  };

  const widgets = new Map(); // id → public handle
  const live = new Map(); // id → Widget
  const gone = new Set(); // ids the gateway refused for good
  const listeners = {};
  let sheet = null;

  const emit = (type, detail) => {
    (listeners[type] || []).slice().forEach((fn) => {
      try { fn(detail); } catch (e) { console.error(e); }
    });
  };

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

  // Styles go into the shadow root as a constructable stylesheet (shared by
  // all widgets on the page), else as a <style> element.
  const adoptStyle = (root) => {
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
      a.rel = 'noopener';
    }
    return a;
  };

  const initials = (s) => {
    const w = s.trim().split(/\s+/);
    const first = (x) => Array.from(x || '')[0] || '';
    return (first(w[0]) + (w.length > 1 ? first(w[w.length - 1]) : '')).toUpperCase();
  };

  const presenceKey = (p) => (p === 'online' ? 'available' : p === 'busy' ? 'busy' : 'offline');

  const languages = () => {
    const l = navigator.languages;
    if (l && l.length) return Array.from(l).slice(0, 16);
    return navigator.language ? [navigator.language] : [];
  };

  // Buttons of a card's action row, per medium, in display order. Voice,
  // video and chat get their builders here once the gateway places calls.
  const MEDIA = [
    ['email', (w, i) => i.email && anchor('mailto:' + i.email, w.t('email'), 'btn', 'mail', i.email)]
  ];

  // actions builds the action row of agent i from its media and contacts.
  const actions = (w, i) => {
    const media = Array.isArray(i.media) ? i.media : [];
    const out = [];
    MEDIA.forEach(([medium, build]) => {
      const b = media.indexOf(medium) >= 0 && build(w, i);
      if (b) out.push(b);
    });
    if (i.phonenumber) out.push(anchor(telURL(i.phonenumber), i.phonenumber, 'btn', 'phone', w.t('phone')));
    const url = i.link && safeURL(i.link.url);
    if (url) out.push(anchor(url, i.link.title || url, 'btn', 'out', null, true));
    return out;
  };

  class Widget {
    constructor(id, gw) {
      this.id = id;
      this.gw = gw;
      this.agents = new Map(); // agent id → {info, card, pic, want, url, stale}
      this.s = null; // the last Session
      this.type = '';
      this.host = null;
      this.ws = null;
      this.retry = 0;
      this.timer = 0;
      this.dead = false;
      this.paused = false;
      this.ready = false;
      this.opened = false;
      this.q = [];
      this.tokens = 20;
      this.last = Date.now();
      this.pumpTimer = 0;
      live.set(id, this);
      widgets.set(id, {
        id,
        open: () => this.open(),
        close: () => this.close(),
        agents: () => this.snapshot()
      });
      this.connect();
    }

    t(key) {
      const s = this.s && this.s.strings;
      return (s && s[key]) || DEFAULTS[key] || '';
    }

    mark(name, value) {
      if (this.host) this.host.setAttribute('data-frontdesk-' + name, value);
    }

    // --- connection ---

    connect() {
      this.timer = 0;
      if (this.dead || this.paused) return;
      let ws;
      try {
        ws = new WebSocket(this.gw.replace(/^http/i, 'ws') + '/ws?widget=' + encodeURIComponent(this.id));
      } catch (e) {
        this.fail('bad-gateway', String(e));
        return;
      }
      this.ws = ws;
      this.q = [];
      this.fresh = true;
      // Pictures asked for on the old connection will not arrive.
      this.agents.forEach((a) => { a.want = a.pic; });
      ws.addEventListener('open', () => {
        ws.send(JSON.stringify({ mt: 'Start', uuid: this.id, lang: languages() }));
      });
      ws.addEventListener('message', (e) => {
        if (this.ws === ws) this.receive(e.data);
      });
      ws.addEventListener('close', () => {
        if (this.ws !== ws) return;
        this.ws = null;
        this.mark('state', 'reconnecting');
        this.schedule();
      });
    }

    // schedule reconnects with exponential backoff, 1 s to 30 s, ±25 % jitter.
    schedule() {
      if (this.dead || this.paused || this.timer) return;
      const base = 1000 * 2 ** Math.min(this.retry++, 5);
      this.timer = setTimeout(() => this.connect(), Math.min(30000, base * (0.75 + Math.random() * 0.5)));
    }

    pause() {
      this.paused = true;
      clearTimeout(this.timer);
      this.timer = 0;
      const ws = this.ws;
      this.ws = null;
      if (ws) ws.close();
    }

    resume() {
      this.paused = false;
      if (!this.ws && !this.timer) this.connect();
    }

    // send queues m, keeping well under the gateway's message rate (bursts
    // of GetPicture for large widgets).
    send(m) {
      this.q.push(JSON.stringify(m));
      this.pump();
    }

    pump() {
      const now = Date.now();
      this.tokens = Math.min(20, this.tokens + (now - this.last) / 125);
      this.last = now;
      const ws = this.ws;
      while (this.q.length && this.tokens >= 1 && ws && ws.readyState === 1) {
        ws.send(this.q.shift());
        this.tokens--;
      }
      if (this.q.length && ws && !this.pumpTimer) {
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = 0;
          this.pump();
        }, 200);
      }
    }

    receive(data) {
      let m;
      try {
        m = JSON.parse(data);
      } catch (e) {
        return;
      }
      if (!m || typeof m !== 'object') return;
      switch (m.mt) {
        case 'Session': this.session(m); break;
        case 'Info': this.info(m); break;
        case 'Remove': this.drop(m.id); break;
        case 'Picture': this.picture(m); break;
        case 'IceConfig': this.ice = m; this.synced(); break;
        case 'Error': this.error(m); break;
      }
    }

    session(m) {
      this.s = m;
      this.retry = 0;
      if (this.fresh) {
        // After (re)connecting the gateway sends the full state; agents it
        // does not mention before IceConfig are gone.
        this.fresh = false;
        this.syncing = true;
        this.agents.forEach((a) => { a.stale = true; });
      }
      const type = m.type === 'cards' ? 'cards' : 'sidebar';
      if (type !== this.type && !this.build(type)) return;
      this.mark('state', 'connected');
      this.applyStyle(m.style || {});
      this.texts();
      this.agents.forEach((a) => this.render(a));
      this.refresh();
    }

    info(m) {
      if (!m.id || typeof m.id !== 'string') return;
      let a = this.agents.get(m.id);
      const prev = a && a.info.presence;
      if (!a) this.agents.set(m.id, (a = { pic: '', want: '', url: '' }));
      a.info = m;
      a.stale = false;
      const tag = typeof m.picture === 'string' ? m.picture : '';
      if (!tag) {
        a.pic = a.want = a.url = '';
      } else if (tag !== a.want) {
        a.want = tag;
        this.send({ mt: 'GetPicture', id: m.id });
      }
      this.render(a);
      this.refresh();
      if (prev !== m.presence) {
        if (prev && this.opened) setText(this.announce, (m.dn || m.id) + ': ' + this.t(presenceKey(m.presence)));
        emit('availability', { widget: this.id, agent: m.id, presence: m.presence });
      }
    }

    picture(m) {
      const a = this.agents.get(m.id);
      if (!a || !a.want) return;
      a.url = typeof m.url === 'string' && /^data:image\/(png|jpe?g|gif|webp);base64,/i.test(m.url) ? m.url : '';
      a.pic = a.want;
      this.showPicture(a);
    }

    drop(id) {
      const a = this.agents.get(id);
      if (!a) return;
      this.agents.delete(id);
      if (a.card) a.card.el.remove();
      this.refresh();
    }

    synced() {
      if (!this.syncing) return;
      this.syncing = false;
      this.agents.forEach((a, id) => {
        if (a.stale) this.drop(id);
      });
      this.ready = true;
      this.mark('ready', '1');
      emit('ready', { widget: this.id });
    }

    error(m) {
      const code = String(m.code || '');
      if (FATAL.indexOf(code) >= 0) {
        this.fail(code, m.text);
      } else if (code !== 'unknown-agent' && code !== 'shutting-down') {
        console.warn('Frontdesk widget ' + this.id + ': ' + code + (m.text && m.text !== code ? ' (' + m.text + ')' : ''));
      }
    }

    // fail removes the widget for good.
    fail(code, text) {
      console.warn('Frontdesk widget ' + this.id + ' removed: ' + code + (text && text !== code ? ' (' + text + ')' : ''));
      this.dead = true;
      clearTimeout(this.timer);
      clearTimeout(this.pumpTimer);
      clearInterval(this.teaseTimer);
      const ws = this.ws;
      this.ws = null;
      if (ws) ws.close();
      if (this.host) this.host.remove();
      this.host = null;
      this.type = '';
      live.delete(this.id);
      widgets.delete(this.id);
      gone.add(this.id);
      emit('removed', { widget: this.id, code });
    }

    // --- rendering ---

    build(type) {
      let parent = doc.body;
      if (type === 'cards') {
        parent = Array.from(doc.querySelectorAll('[data-frontdesk-cards]'))
          .find((n) => n.getAttribute('data-frontdesk-cards') === this.id);
        if (!parent) {
          this.fail('no-container', 'the page has no <div data-frontdesk-cards="' + this.id + '">');
          return false;
        }
      }
      if (this.host) this.host.remove();
      clearInterval(this.teaseTimer);
      this.agents.forEach((a) => { a.card = null; });
      this.type = type;
      this.opened = false;
      const host = (this.host = el('div'));
      const shadow = (this.shadow = host.attachShadow({ mode: 'open' }));
      adoptStyle(shadow);
      host.setAttribute('data-frontdesk-host', this.id);
      this.mark('type', type);
      this.mark('ready', this.ready ? '1' : '0');
      if (type === 'cards') {
        this.root = this.box = el('div', 'cards');
      } else {
        this.buildSidebar();
        this.mark('open', '0');
      }
      shadow.append(this.root);
      parent.append(host);
      return true;
    }

    buildSidebar() {
      const root = (this.root = el('div', 'side'));
      const tab = (this.tab = el('button', 'tab'));
      tab.type = 'button';
      tab.setAttribute('aria-expanded', 'false');
      tab.setAttribute('aria-controls', 'panel');
      tab.append(icon('chat'), el('span', 'dot'), (this.tabLabel = el('span', 'tl')), (this.teaser = el('span', 'teaser')));

      const panel = el('div', 'panel');
      panel.id = 'panel';
      panel.setAttribute('role', 'dialog');
      panel.setAttribute('aria-labelledby', 'title');
      const head = el('div', 'head');
      this.title = el('h2');
      this.title.id = 'title';
      const x = (this.x = el('button', 'x'));
      x.type = 'button';
      x.append(icon('close'));
      head.append(this.title, x);
      this.empty = el('p', 'empty');
      this.box = el('div', 'list');
      this.foot = el('div', 'foot');
      this.announce = el('div', 'sr');
      this.announce.setAttribute('aria-live', 'polite');
      panel.append(head, this.empty, this.box, this.foot, this.announce);
      root.append(tab, panel);

      tab.addEventListener('click', () => this.open());
      x.addEventListener('click', () => this.close());
      root.addEventListener('keydown', (e) => {
        if (e.key === 'Escape' && this.opened) {
          e.stopPropagation();
          this.close();
        }
      });
    }

    applyStyle(st) {
      const hs = this.host.style;
      Object.keys(VARS).forEach((k) => {
        const v = st[k];
        if (v != null && v !== '') hs.setProperty(VARS[k], String(v));
        else hs.removeProperty(VARS[k]);
      });
      this.host.setAttribute('data-position', st.position === 'left' ? 'left' : 'right');
    }

    texts() {
      if (this.type === 'cards') return;
      setText(this.tabLabel, this.t('contactUs'));
      setText(this.title, this.t('title'));
      this.x.setAttribute('aria-label', this.t('close'));
      setText(this.empty, this.t('nobodyAvailable'));

      const c = this.s.company || {};
      const f = this.foot;
      f.textContent = '';
      if (c.company) f.append(el('span', null, c.company));
      if (c.address) f.append(el('span', null, c.address));
      if (c.phone) f.append(anchor(telURL(c.phone), c.phone));
      if (c.email) f.append(anchor('mailto:' + c.email, c.email));
      const web = c.web && safeURL(c.web);
      if (web) f.append(anchor(web, c.web.replace(/^https?:\/\//i, '').replace(/\/$/, ''), null, null, null, true));

      const teasers = (Array.isArray(this.s.teasers) ? this.s.teasers : []).filter((s) => typeof s === 'string' && s);
      let n = 0;
      clearInterval(this.teaseTimer);
      setText(this.teaser, teasers[0] || '');
      this.teaser.hidden = !teasers.length;
      if (teasers.length > 1) {
        this.teaseTimer = setInterval(() => setText(this.teaser, teasers[(n = (n + 1) % teasers.length)]), 8000);
      }
    }

    // render creates or updates agent a's card in place.
    render(a) {
      if (!this.box || !this.s) return;
      const i = a.info;
      let c = a.card;
      if (!c) {
        c = a.card = {};
        c.el = el('article', 'card');
        c.el.setAttribute('data-agent-id', i.id);
        const pic = el('div', 'pic');
        c.ini = el('span');
        c.ini.setAttribute('aria-hidden', 'true');
        c.img = el('img');
        c.img.alt = '';
        c.img.hidden = true;
        c.img.addEventListener('error', () => {
          c.img.hidden = true;
          c.ini.hidden = false;
        });
        pic.append(c.ini, c.img);
        const body = el('div', 'body');
        c.dn = el('h3', 'dn');
        c.dep = el('p', 'dep');
        const st = el('p', 'st');
        c.state = el('span');
        st.append(el('span', 'dot'), c.state);
        c.acts = el('div', 'acts');
        body.append(c.dn, c.dep, st, c.acts);
        c.el.append(pic, body);
      }
      const dn = String(i.dn || i.id);
      setText(c.dn, dn);
      setText(c.ini, initials(dn));
      setText(c.dep, String(i.department || ''));
      c.dep.hidden = !i.department;
      c.el.setAttribute('data-presence', String(i.presence || 'offline'));
      setText(c.state, this.t(presenceKey(i.presence)));
      c.el.hidden = this.type === 'sidebar' && i.presence !== 'online' && !this.s.alwaysShow;
      const sig = JSON.stringify([i.media, i.email, i.phonenumber, i.link, this.t('email'), this.t('phone')]);
      if (sig !== c.sig) {
        c.sig = sig;
        c.acts.textContent = '';
        c.acts.append(...actions(this, i));
      }
      this.showPicture(a);
      this.place(a);
    }

    showPicture(a) {
      const c = a.card;
      if (!c || c.url === a.url) return;
      c.url = a.url;
      if (a.url) c.img.src = a.url;
      else c.img.removeAttribute('src');
      c.img.hidden = !a.url;
      c.ini.hidden = !!a.url;
    }

    // place moves a's card to its position by order, only when needed.
    place(a) {
      const node = a.card.el;
      const order = +a.info.order || 0;
      let ref = null;
      for (const k of this.box.children) {
        if (k === node) continue;
        const b = this.agents.get(k.getAttribute('data-agent-id'));
        if (b && (+b.info.order || 0) > order) {
          ref = k;
          break;
        }
      }
      if (node.parentNode !== this.box || node.nextElementSibling !== ref) this.box.insertBefore(node, ref);
    }

    // refresh shows the sidebar only while someone is available (or always
    // with alwaysShow and at least one agent).
    refresh() {
      if (this.type !== 'sidebar') return;
      let any = false;
      let online = false;
      this.agents.forEach((a) => {
        any = true;
        if (a.info.presence === 'online') online = true;
      });
      const show = online || (any && !!this.s.alwaysShow);
      this.host.style.display = show ? '' : 'none';
      this.mark('visible', show ? '1' : '0');
      this.root.classList.toggle('on', online);
      this.empty.hidden = online;
      if (!show) this.close();
    }

    open() {
      if (this.type !== 'sidebar' || this.opened || this.host.style.display === 'none') return;
      this.opened = true;
      this.root.classList.add('open');
      this.tab.setAttribute('aria-expanded', 'true');
      this.mark('open', '1');
      this.x.focus({ preventScroll: true });
    }

    close() {
      if (!this.opened) return;
      this.opened = false;
      const focused = this.shadow.activeElement;
      this.root.classList.remove('open');
      this.tab.setAttribute('aria-expanded', 'false');
      this.mark('open', '0');
      if (focused && this.host.style.display !== 'none') this.tab.focus({ preventScroll: true });
    }

    snapshot() {
      return Array.from(this.agents.values(), (a) => {
        const o = Object.assign({}, a.info);
        delete o.mt;
        return o;
      }).sort((x, y) => (x.order || 0) - (y.order || 0));
    }
  }

  // scan starts every widget whose script tag is on the page and not yet
  // running.
  const scan = () => {
    // Until the page is parsed, the DOMContentLoaded listener below scans.
    if (doc.readyState === 'loading') return;
    doc.querySelectorAll('script[data-frontdesk-widget]').forEach((s) => {
      const id = (s.getAttribute('data-frontdesk-widget') || '').trim();
      if (!id || live.has(id) || gone.has(id)) return;
      let gw = (s.getAttribute('data-frontdesk-gateway') || '').trim();
      if (!gw && s.src) gw = s.src.replace(/\/frontdesk\.js([?#].*)?$/, '');
      try {
        gw = new URL(gw, doc.baseURI).href.replace(/[?#].*$/, '').replace(/\/+$/, '');
      } catch (e) {
        gw = '';
      }
      if (!/^(https?|wss?):\/\//i.test(gw)) {
        console.warn('Frontdesk widget ' + id + ': no gateway URL (data-frontdesk-gateway)');
        return;
      }
      new Widget(id, gw);
    });
  };

  const api = (win.Frontdesk = {
    widgets,
    on(type, fn) {
      (listeners[type] = listeners[type] || []).push(fn);
      return () => api.off(type, fn);
    },
    off(type, fn) {
      const l = listeners[type] || [];
      const i = l.indexOf(fn);
      if (i >= 0) l.splice(i, 1);
    },
    scan
  });

  win.addEventListener('online', () => live.forEach((w) => {
    if (w.timer) {
      clearTimeout(w.timer);
      w.connect();
    }
  }));
  // Leave the back/forward cache with no open socket; reconnect on return.
  win.addEventListener('pagehide', (e) => {
    if (e.persisted) live.forEach((w) => w.pause());
  });
  win.addEventListener('pageshow', (e) => {
    if (e.persisted) live.forEach((w) => w.resume());
  });

  // [data-frontdesk-copy="ID"] buttons (the preview page) copy the text of
  // element ID to the clipboard.
  doc.addEventListener('click', (e) => {
    const b = e.target && e.target.closest && e.target.closest('[data-frontdesk-copy]');
    const src = b && doc.getElementById(b.getAttribute('data-frontdesk-copy'));
    if (!src) return;
    const text = src.value != null ? src.value : src.textContent;
    const done = () => {
      if (b.hasAttribute('data-frontdesk-copied')) return;
      const label = b.textContent;
      b.setAttribute('data-frontdesk-copied', '');
      b.textContent = b.getAttribute('data-frontdesk-copied-text') || 'Copied';
      setTimeout(() => {
        b.textContent = label;
        b.removeAttribute('data-frontdesk-copied');
      }, 1500);
    };
    const select = () => {
      const r = doc.createRange();
      r.selectNodeContents(src);
      const sel = win.getSelection();
      sel.removeAllRanges();
      sel.addRange(r);
      try {
        if (doc.execCommand('copy')) done();
      } catch (x) { /* the text stays selected for the visitor to copy */ }
    };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, select);
    else select();
  });

  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', scan);
  scan();
})();
