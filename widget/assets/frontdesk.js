/* Frontdesk contact widget. Protocol: docs/protocol.md (Widget-API). */
(() => {
  'use strict';

  const win = window;
  const doc = document;
  const nav = navigator;

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

  // English texts for a gateway that sends fewer strings than this script
  // knows (widget/i18n/en.json is the source of every string).
  const DEFAULTS = {
    contactUs: 'Contact us', title: 'Contact us', close: 'Close contact panel', dismiss: 'Close',
    available: 'Available', busy: 'Busy', offline: 'Not available', back: 'Back', minimize: 'Minimize',
    email: 'Email', phone: 'Phone', nobodyAvailable: 'Nobody is available right now.',
    call: 'Call', videoCall: 'Video call', chat: 'Chat', error: 'Something went wrong. Please try again.',
    unavailableReason: 'This contact is not available right now.', callEnded: 'Call ended'
  };
  // Error codes after which reconnecting cannot help.
  const FATAL = ['unknown-widget', 'origin-not-allowed', 'widget-removed'];
  // Error codes that answer a call or chat request, and those that answer
  // whichever request is pending.
  const CALL_ERR = ['call-in-progress', 'too-many-calls', 'no-call'];
  const CHAT_ERR = ['chat-in-progress', 'agent-busy', 'no-chat', 'chat-expired'];
  const GENERIC = ['medium-not-allowed', 'agent-unavailable', 'unknown-agent', 'unknown-message', 'retry-later'];
  // Session.style keys and the custom properties frontdesk.css reads.
  const VARS = {
    fontFamily: '--fd-font', fontSize: '--fd-size', foreground: '--fd-fg', background: '--fd-bg',
    accent: '--fd-accent', accentText: '--fd-accent-text', marginTop: '--fd-mt', marginRight: '--fd-mr',
    marginBottom: '--fd-mb', marginLeft: '--fd-ml', zIndex: '--fd-z'
  };
  const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
  const SVG = 'http://www.w3.org/2000/svg';
  const CAM = 'M3 7h12v10H3zM15 10l6-3v10l-6-3';
  const MIC = 'M9 5a3 3 0 0 1 6 0v6a3 3 0 0 1-6 0zM5 11a7 7 0 0 0 14 0M12 18v3';
  const ICONS = {
    chat: 'M4 5h16v11H9l-5 4z',
    close: 'M6 6l12 12M18 6L6 18',
    mail: 'M3 5h18v14H3zM3 6l9 7 9-7',
    phone: 'M5 3h4l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z',
    out: 'M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5',
    video: CAM,
    camOff: CAM + 'M3 3l18 18',
    mic: MIC,
    micOff: MIC + 'M3 3l18 18',
    screen: 'M3 4h18v12H3zM8 20h8M12 16v4',
    pad: 'M6 5h0M12 5h0M18 5h0M6 11h0M12 11h0M18 11h0M6 17h0M12 17h0M18 17h0M12 22h0',
    gear: 'M4 6h9M17 6h3M4 12h3M11 12h9M4 18h11M19 18h1M15 4v4M9 10v4M17 16v4',
    back: 'M15 5l-7 7 7 7',
    min: 'M5 12h14',
    send: 'M4 12l16-8-6 16-2-6z',
    more: 'M5 12h.01M12 12h.01M19 12h.01',
    retry: 'M20 11a8 8 0 1 0-2.3 5.7M20 5v6h-6'
  };
  // DTMF frequencies per KEYS row and column, for the keypad's local tone.
  const ROWS = [697, 770, 852, 941];
  const COLS = [1209, 1336, 1477];
  const PREFIX = 'frontdesk:';

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

  /*__FRONTDESK_PARTS__*/

  // The page asks before it is left while a call runs (a call does not
  // survive a reload yet); a chat does, so it never asks.
  const guard = (e) => {
    e.preventDefault();
    e.returnValue = '';
  };
  let guarded = false;
  const updateGuard = () => {
    let busy = false;
    live.forEach((w) => { if (w.calling()) busy = true; });
    if (busy !== guarded) {
      guarded = busy;
      if (busy) win.addEventListener('beforeunload', guard);
      else win.removeEventListener('beforeunload', guard);
    }
  };

  class Widget {
    constructor(id, gw, opts) {
      this.calls = new CallPart(this);
      this.chats = new ChatPart(this);
      this.leave = new LeavePart(this);
      this.id = id;
      this.gw = gw;
      this.pop = opts.pop || null; // popout mode: {agent, call}
      this.agents = new Map(); // agent id → {info, card, pic, want, url, stale}
      this.session = null; // the last Session
      this.type = '';
      this.host = null;
      this.ws = null;
      this.retries = 0;
      this.retryTimer = 0;
      this.dead = false;
      this.paused = false;
      this.ready = false;
      this.opened = false;
      this.outbox = [];
      this.tokens = 20;
      this.lastPump = Date.now();
      this.pumpTimer = 0;
      this.view = 'home';
      this.call = null;
      this.chat = null;
      this.unread = 0;
      this.requests = 0; // request ids
      this.pending = '';
      this.visitor = (this.pop && this.pop.name) || '';
      const saved = storage.load('chat:' + id);
      if (saved && saved.token && saved.agent) {
        this.chat = { agent: String(saved.agent), dn: String(saved.dn || ''), token: String(saved.token), last: Number(saved.last) || 0,
          items: Array.isArray(saved.items) ? saved.items.slice(-200) : [], state: 'resuming', exp: !!saved.exp };
      }
      live.set(id, this);
      const api = (fn) => (...a) => {
        storage.allow();
        return fn(...a);
      };
      widgets.set(id, {
        id,
        open: api(() => this.expand(true)),
        close: () => this.collapse(),
        agents: () => this.snapshot(),
        contact: api(() => this.contact()),
        call: api((agent, o) => this.calls.startCall(agent || this.pick('voice'), !!(o && o.video))),
        videoCall: api((agent) => this.calls.startCall(agent || this.pick('video'), true)),
        hangup: () => this.calls.hangup(),
        chat: api((agent, text) => this.chats.openChat(agent || this.pick('chat'), text)),
        endChat: () => this.chats.endChatByVisitor(),
        leaveMessage: api(() => this.leave.show()),
        state: () => this.state()
      });
      this.connect();
    }

    // The call and the chat running (or ended and still shown), kept by
    // their parts.
    get call() { return this.calls.current; }
    set call(c) { this.calls.current = c; }
    get chat() { return this.chats.current; }
    set chat(h) { this.chats.current = h; }

    t(key) {
      const s = this.session && this.session.strings;
      return (s && s[key]) || DEFAULTS[key] || '';
    }

    mark(name, value) {
      if (this.host) this.host.setAttribute('data-frontdesk-' + name, value);
    }

    // L binds node's text (or attribute attr) to string key, kept current
    // across Session changes.
    L(node, key, attr) {
      this.binds.push([node, key, attr]);
      return node;
    }

    state() {
      const c = this.call;
      const h = this.chat;
      return {
        ready: this.ready, open: this.opened, view: this.view, unread: this.unread,
        call: c ? { agent: c.agent, state: c.state, reason: c.reason || '', video: c.video } : null,
        chat: h ? { agent: h.agent, state: h.state, reason: h.reason || '' } : null
      };
    }

    // --- connection ---

    connect() {
      this.retryTimer = 0;
      if (this.dead || this.paused) return;
      let ws;
      try {
        ws = new WebSocket(this.gw.replace(/^http/i, 'ws') + '/ws?widget=' + encodeURIComponent(this.id));
      } catch (e) {
        this.fail('bad-gateway', String(e));
        return;
      }
      this.ws = ws;
      this.outbox = [];
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
        if (this.lostNote) this.lostNote.hidden = false;
        this.lost();
        this.schedule();
      });
    }

    // lost ends what cannot survive a lost connection: the gateway ends the
    // call; a chat waits to be resumed.
    lost() {
      const c = this.call;
      if (c && c.state !== 'ended') this.calls.endCall('connection-lost');
      const h = this.chat;
      if (h && h.state === 'open') this.chats.setChat('resuming');
      if (h && h.state === 'opening') this.chats.endChat('failed');
      if (this.pending === 'leave') this.leave.left({ ok: false });
      this.pending = '';
    }

    // schedule reconnects with exponential backoff, 1 s to 30 s, ±25 % jitter.
    schedule() {
      if (this.dead || this.paused || this.retryTimer) return;
      const base = 1000 * 2 ** Math.min(this.retries++, 5);
      this.retryTimer = setTimeout(() => this.connect(), Math.min(30000, base * (0.75 + Math.random() * 0.5)));
    }

    pause() {
      this.paused = true;
      clearTimeout(this.retryTimer);
      this.retryTimer = 0;
      const ws = this.ws;
      this.ws = null;
      if (ws) ws.close();
      this.lost();
    }

    resume() {
      this.paused = false;
      if (!this.ws && !this.retryTimer) this.connect();
    }

    online() {
      return !!(this.ws && this.ws.readyState === 1 && this.session);
    }

    // send queues m, keeping well under the gateway's message rate (bursts
    // of GetPicture for large widgets).
    send(m) {
      this.outbox.push(JSON.stringify(m));
      this.pump();
    }

    pump() {
      const now = Date.now();
      this.tokens = Math.min(20, this.tokens + (now - this.lastPump) / 125);
      this.lastPump = now;
      const ws = this.ws;
      while (this.outbox.length && this.tokens >= 1 && ws && ws.readyState === 1) {
        ws.send(this.outbox.shift());
        this.tokens--;
      }
      if (this.outbox.length && ws && !this.pumpTimer) {
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
        case 'Session': this.onSession(m); break;
        case 'Info': this.info(m); break;
        case 'Remove': this.drop(m.id); break;
        case 'Picture': this.picture(m); break;
        case 'IceConfig': this.ice = m; this.synced(); break;
        case 'CallInfo': this.calls.callInfo(m); break;
        case 'ChatOpened': this.chats.chatOpened(m); break;
        case 'ChatDelivery': this.chats.delivery(m); break;
        case 'ChatMessage': this.chats.chatMessage(m); break;
        case 'ChatTyping': this.chats.typing(!!m.active); break;
        case 'ChatEnded': this.chats.endChat(m.reason || 'ended'); break;
        case 'MessageLeft': this.leave.left(m); break;
        case 'Error': this.error(m); break;
      }
    }

    onSession(m) {
      this.session = m;
      this.retries = 0;
      const fresh = this.fresh;
      if (fresh) {
        // After (re)connecting the gateway sends the full state; agents it
        // does not mention before IceConfig are gone.
        this.fresh = false;
        this.syncing = true;
        this.agents.forEach((a) => { a.stale = true; });
      }
      const type = this.pop ? 'pop' : m.type === 'cards' ? 'cards' : 'sidebar';
      if (type !== this.type && !this.build(type)) return;
      this.mark('state', 'connected');
      this.lostNote.hidden = true;
      this.applyStyle(m.style || {});
      this.texts();
      this.agents.forEach((a) => this.render(a));
      this.refresh();
      const h = this.chat;
      if (fresh && h && h.token && (h.state === 'open' || h.state === 'resuming')) {
        this.pending = 'chat';
        this.send({ mt: 'ChatResume', token: h.token, seq: h.last || 0 });
      }
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
        if (prev && this.opened && this.view === 'home') setText(this.announce, (m.dn || m.id) + ': ' + this.t(presenceKey(m.presence)));
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
      // A call window never places a call by itself: a link to it must not
      // ring anyone. Its "Call <agent>" button does, on the visitor's click.
      this.refresh();
    }

    error(m) {
      const code = String(m.code || '');
      if (FATAL.indexOf(code) >= 0) {
        this.fail(code, m.text);
        return;
      }
      if (code !== 'unknown-agent' && code !== 'shutting-down') {
        console.warn('Frontdesk widget ' + this.id + ': ' + code + (m.text && m.text !== code ? ' (' + m.text + ')' : ''));
      }
      const kind = CALL_ERR.indexOf(code) >= 0 ? 'call' : CHAT_ERR.indexOf(code) >= 0 ? 'chat'
        : code === 'no-fallback' ? 'leave' : GENERIC.indexOf(code) >= 0 ? this.pending : '';
      if (kind && kind === this.pending) this.pending = '';
      // retry-later: started too often; the words say how long to wait.
      const wait = code === 'retry-later' ? this.t('retryLater').replace('{time}', inTime(+m.retryAfter || 60, this.session && this.session.lang)) : '';
      if (kind === 'call') {
        const c = this.call;
        if (c && c.state !== 'ended') {
          if (code === 'retry-later') c.retryAfter = Math.max(1, Math.ceil(Number(m.retryAfter) || 1));
          this.calls.endCall(code === 'agent-unavailable' ? 'unavailable' : code === 'too-many-calls' || code === 'retry-later' ? code : 'failed');
        }
      } else if (kind === 'chat') {
        const h = this.chat;
        if (h && h.state !== 'ended') {
          // chat-expired answers a resume: the gateway lost the chat
          // (restarted, or the visitor was away too long).
          this.chats.endChat(code === 'chat-expired' ? 'expired' : code === 'agent-busy' || code === 'agent-unavailable' || code === 'retry-later' ? code : 'failed', wait);
        }
      } else if (kind === 'leave') {
        this.leave.left({ ok: false }, wait);
      }
    }

    // fail removes the widget for good.
    fail(code, text) {
      console.warn('Frontdesk widget ' + this.id + ' removed: ' + code + (text && text !== code ? ' (' + text + ')' : ''));
      this.dead = true;
      clearTimeout(this.retryTimer);
      clearTimeout(this.pumpTimer);
      clearInterval(this.teaseTimer);
      if (this.call) this.calls.endCall('failed');
      const ws = this.ws;
      this.ws = null;
      if (ws) ws.close();
      if (this.host) this.host.remove();
      this.host = null;
      this.type = '';
      live.delete(this.id);
      widgets.delete(this.id);
      gone.add(this.id);
      updateGuard();
      emit('removed', { widget: this.id, code });
    }

    // --- building ---

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
      this.binds = [];
      const host = (this.host = el('div'));
      // The first click or key press in the widget allows it to store state.
      const touch = () => { storage.allow(); };
      host.addEventListener('pointerdown', touch, true);
      host.addEventListener('keydown', touch, true);
      const shadow = (this.shadow = host.attachShadow({ mode: 'open' }));
      adoptStyle(shadow);
      host.setAttribute('data-frontdesk-host', this.id);
      this.mark('type', type === 'pop' ? 'popout' : type);
      this.mark('ready', this.ready ? '1' : '0');
      this.mark('open', '0');
      this.mark('unread', String(this.unread));
      const root = (this.root = el('div', 'root ' + type));
      this.probe = el('i', 'probe');
      this.probe.hidden = true;
      root.append(this.probe);
      if (type === 'cards') {
        this.box = el('div', 'grid');
        this.offer = el('div', 'offer');
        this.offer.append(this.L(button('btn', 'mail', (e) => this.leave.show(e.currentTarget)).lbl, 'leaveMessage').parentNode);
        root.append(this.box, this.offer);
      }
      this.buildDock();
      shadow.append(root);
      parent.append(host);
      this.mark('call', this.call ? this.call.state : 'idle');
      this.mark('chat', this.chat ? this.chat.state : 'idle');
      if (this.chat) {
        this.chats.thread();
        this.show('chat');
        if (this.chat.exp || type === 'pop') this.expand(false);
      } else {
        this.show(this.call ? 'call' : 'home');
      }
      if (type === 'pop') this.expand(false);
      return true;
    }

    // buildDock builds the tab and the panel: for a sidebar the whole
    // widget, for business cards the place calls and chats happen.
    buildDock() {
      const tab = (this.tab = el('button', 'tab'));
      tab.type = 'button';
      tab.setAttribute('aria-expanded', 'false');
      tab.setAttribute('aria-controls', 'panel');
      this.badge = el('span', 'badge');
      this.badgeN = el('span');
      this.badgeN.setAttribute('aria-hidden', 'true');
      this.badgeSr = el('span', 'sr');
      this.badge.append(this.badgeN, this.badgeSr);
      this.badge.hidden = true;
      const words = el('span', 'tx');
      words.append((this.tabLabel = el('span', 'tl')));
      // The greeting bubble beside the round launcher: the teasers. The
      // launcher's own label says the same to assistive technology.
      this.greet = el('div', 'greet');
      this.greet.setAttribute('aria-hidden', 'true');
      this.greet.append((this.teaser = el('span', 'teaser')));
      this.greet.addEventListener('click', () => this.expand(true));
      this.tabTeaser = el('span', 'sr');
      this.tabIcon = icon('chat');
      this.tabDot = el('span', 'dot');
      words.append(this.tabTeaser);
      tab.append(this.tabIcon, this.tabDot, words, this.badge);
      // While a call runs with the panel collapsed, the bar beside the tab
      // hangs up.
      this.tabEnd = button('tabend', 'phone', () => this.calls.hangup());
      this.L(this.tabEnd, 'hangup', 'aria-label');
      this.L(this.tabEnd, 'hangup', 'title');
      this.tabEnd.lbl.remove();
      this.tabEnd.hidden = true;
      const bar = (this.bar = el('div', 'bar'));
      bar.append(this.greet, this.tabEnd, tab);

      const panel = (this.panel = el('div', 'panel'));
      panel.id = 'panel';
      panel.setAttribute('role', 'dialog');
      panel.setAttribute('aria-labelledby', 'title');
      const head = el('div', 'head');
      this.backBtn = this.L(button('x', 'back', () => this.home()), 'back', 'aria-label');
      this.title = el('h2');
      this.title.id = 'title';
      this.x = button('x shut', 'close', () => this.dismiss(false));
      head.append(this.backBtn, this.title, this.x);

      const home = (this.homeEl = el('div', 'home'));
      if (this.type !== 'cards') {
        this.empty = this.L(el('p', 'empty'), 'nobodyAvailable');
        if (this.type === 'sidebar') {
          this.cta = button('btn pri cta', 'chat', () => this.contact());
          this.cta.why = el('span', 'sr');
          this.cta.append(this.cta.why);
          this.L(this.cta.lbl, 'contactNow');
          home.append(this.cta);
        }
        const p = this.pop;
        if (this.type === 'pop' && p && p.call) {
          this.popCall = button('btn pri cta', p.call === 'video' ? 'video' : 'phone', (e) => {
            if (!off(e.currentTarget)) this.calls.startCall(p.agent, p.call === 'video', e.currentTarget);
          });
          this.popCall.setAttribute('data-action', 'pop-call');
          this.popCall.why = el('span', 'sr');
          this.popCall.append(this.popCall.why);
          home.append(this.popCall);
        }
        this.leaveBtn = button('btn', 'mail', (e) => this.leave.show(e.currentTarget));
        this.L(this.leaveBtn.lbl, 'leaveMessage');
        const offer = (this.offer = el('div', 'offer'));
        offer.append(this.leaveBtn);
        this.box = el('div', 'list');
        this.foot = el('div', 'foot');
        // The team: pictures of who is available now, and when an answer
        // can be expected.
        this.team = el('div', 'team');
        this.faces = el('div', 'faces');
        this.faces.setAttribute('aria-hidden', 'true');
        this.replyLine = el('p', 'reply');
        this.team.append(this.faces, this.replyLine);
        home.append(this.team, this.empty, offer, this.box, this.foot);
      }
      this.stage = el('div', 'stage');
      this.views = {
        name: this.buildName(),
        call: this.calls.build(),
        chat: this.chats.build(),
        leave: this.leave.build()
      };
      Object.keys(this.views).forEach((k) => this.stage.append(this.views[k]));
      this.announce = el('div', 'sr');
      this.announce.setAttribute('aria-live', 'polite');
      this.lostNote = this.L(el('p', 'lost'), 'reconnecting');
      this.lostNote.setAttribute('role', 'status');
      this.lostNote.hidden = !!this.session;
      panel.append(head, this.lostNote, home, this.stage, this.announce);
      this.root.append(bar, panel);

      tab.addEventListener('click', () => this.expand(true));
      this.root.addEventListener('keydown', (e) => {
        if (e.key === 'Escape' && this.opened && panel.contains(e.composedPath()[0])) {
          e.stopPropagation();
          this.dismiss(true);
        }
      });
    }

    field(label, input) {
      const l = el('label', 'fld');
      const s = this.L(el('span'), label);
      l.append(s, input);
      return l;
    }

    buildName() {
      const f = el('form', 'view form');
      f.noValidate = true;
      const input = (this.nameIn = el('input'));
      input.autocomplete = 'name';
      input.maxLength = 80;
      input.required = true;
      const ok = button('btn pri');
      ok.type = 'submit';
      this.L(ok.lbl, 'start');
      const cancel = button('btn', null, () => this.nameDone(null));
      this.L(cancel.lbl, 'cancel');
      const row = el('div', 'row');
      row.append(ok, cancel);
      f.append(this.field('yourName', input), row);
      f.addEventListener('submit', (e) => {
        e.preventDefault();
        const v = input.value.trim().replace(/\s+/g, ' ');
        if (!v) {
          input.setAttribute('aria-invalid', 'true');
          focus(input);
          return;
        }
        input.removeAttribute('aria-invalid');
        sound();
        this.visitor = v;
        storage.save('name', v);
        this.nameDone(v);
      });
      return f;
    }

    applyStyle(st) {
      const hs = this.host.style;
      Object.keys(VARS).forEach((k) => {
        const v = st[k];
        if (v != null && v !== '') hs.setProperty(VARS[k], String(v));
        else hs.removeProperty(VARS[k]);
      });
      this.host.setAttribute('data-position', st.position === 'left' ? 'left' : 'right');
      // Text on the accent gets the colour (white or black) with the better
      // contrast unless accentText is set; the accent is used as a text
      // colour on the background only when it is readable (WCAG AA 4.5:1).
      const cs = getComputedStyle(this.probe);
      const acc = rgb(cs.color);
      const bg = rgb(cs.backgroundColor);
      const fg = rgb(cs.caretColor);
      if (!acc || !bg) return;
      if (!st.accentText) hs.setProperty('--fd-accent-text', ratio(acc, [255, 255, 255]) >= ratio(acc, [0, 0, 0]) ? '#fff' : '#000');
      if (ratio(acc, bg) < 4.5) hs.setProperty('--fd-ink', fg && ratio(fg, bg) >= 4.5 ? cs.caretColor : (lum(bg) > 0.18 ? '#000' : '#fff'));
      else hs.removeProperty('--fd-ink');
    }

    texts() {
      this.binds.forEach(([n, key, attr]) => {
        if (attr) n.setAttribute(attr, this.t(key));
        else setText(n, this.t(key));
      });
      this.head();
      this.tabText();
      this.calls.callUI();
      if (this.chat) this.chats.thread();
      if (this.type !== 'sidebar') return;
      const c = this.session.company || {};
      const f = this.foot;
      f.textContent = '';
      if (c.company) f.append(el('span', null, c.company));
      if (c.address) f.append(el('span', null, c.address));
      if (c.phone) f.append(anchor(telURL(c.phone), c.phone));
      if (c.email) f.append(anchor('mailto:' + c.email, c.email));
      const web = c.web && safeURL(c.web);
      if (web) f.append(anchor(web, c.web.replace(/^https?:\/\//i, '').replace(/\/$/, ''), null, null, null, true));

      const teasers = (Array.isArray(this.session.teasers) ? this.session.teasers : []).filter((s) => typeof s === 'string' && s);
      let n = 0;
      clearInterval(this.teaseTimer);
      setText(this.teaser, teasers[0] || '');
      this.tabText();
      if (teasers.length > 1) {
        this.teaseTimer = setInterval(() => setText(this.teaser, teasers[(n = (n + 1) % teasers.length)]), 8000);
      }
    }

    // head sets the panel's title and its buttons for the current view.
    head() {
      if (!this.session) return;
      const conv = this.view === 'call' || this.view === 'chat';
      const a = conv && this.agents.get(this.view === 'call' ? this.call && this.call.agent : this.chat && this.chat.agent);
      const dn = a ? a.info.dn || a.info.id : conv ? (this.view === 'chat' && this.chat.dn) || '' : '';
      setText(this.title, dn || (this.view === 'leave' ? this.t('leaveMessage') : this.type === 'pop' ? this.session.name || this.t('title') : this.t('title')));
      this.backBtn.hidden = this.type === 'cards' || this.view === 'home' || this.active();
      // Cards: the panel closes when nothing runs, else it minimizes.
      const min = this.type === 'cards' ? this.active() : false;
      this.x.setAttribute('aria-label', this.t(min ? 'minimize' : this.type === 'cards' ? 'dismiss' : 'close'));
      setIcon(this.x, min ? 'min' : 'close');
      this.x.hidden = this.type === 'pop';
    }

    // tabText labels the tab: the widget, or the conversation running.
    tabText() {
      if (!this.session) return;
      const c = this.call;
      const h = this.chat;
      let label = this.t('contactUs');
      const calling = this.calling();
      if (calling) {
        label = this.t(c.state === 'connected' ? 'connected' : c.state === 'held' ? 'onHold' : c.state === 'ringing' ? 'ringing' : 'connecting');
        if (c.t0) label += ' · ' + clock(Date.now() - c.t0);
      } else if (h && h.state !== 'ended') {
        label = this.t('chat') + (h.dn ? ': ' + h.dn : '');
      } else if (!this.anyOnline && this.session.leaveMessage) {
        label = this.t('leaveMessage');
      }
      setText(this.tabLabel, label);
      // The teasers promise someone is there: only while someone is.
      this.teaser.hidden = this.active() || !this.anyOnline || !this.teaser.textContent;
      this.greet.hidden = this.teaser.hidden || this.type !== 'sidebar';
      setText(this.tabTeaser, this.greet.hidden ? '' : ', ' + this.teaser.textContent);
      // Round launcher while nothing runs; a pill with the state during a
      // call or chat.
      this.tab.classList.toggle('round', this.type === 'sidebar' && !this.active());
      this.tabDot.hidden = this.type === 'sidebar' && !this.anyOnline && !this.active();
      this.tabEnd.hidden = !calling || !c.sent;
      setIcon(this.tabIcon, calling ? 'phone' : 'chat');
      const n = this.unread;
      this.badge.hidden = !n;
      setText(this.badgeN, String(n));
      setText(this.badgeSr, n ? ', ' + n + ' ' + this.t('unread') : '');
      this.mark('unread', String(n));
    }

    // --- agents ---

    // render creates or updates agent a's card in place.
    render(a) {
      if (!this.box || !this.session) return;
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
        c.why = el('p', 'why');
        c.why.setAttribute('role', 'status');
        body.append(c.dn, c.dep, st, c.acts, c.why);
        c.el.append(pic, body);
      }
      const dn = String(i.dn || i.id);
      setText(c.dn, dn);
      setText(c.ini, initials(dn));
      setText(c.dep, String(i.department || ''));
      c.dep.hidden = !i.department;
      const chatBusy = i.presence === 'online' && a.chatBusy > Date.now();
      c.el.setAttribute('data-presence', chatBusy ? 'busy' : String(i.presence || 'offline'));
      setText(c.state, this.t(chatBusy ? 'inChat' : presenceKey(i.presence)));
      const p = this.pop;
      c.el.hidden = (this.type === 'sidebar' && i.presence !== 'online' && !this.session.alwaysShow) ||
        (!!p && !!p.agent && p.agent !== i.id);
      const sig = JSON.stringify([i.media, i.email, i.phonenumber, i.link, this.session.lang, this.session.strings]);
      if (sig !== c.sig) {
        c.sig = sig;
        c.acts.textContent = '';
        c.acts.append(...this.actions(a));
      }
      this.avail(a);
      this.showPicture(a);
      this.place(a);
    }

    // actions builds the action row of agent a from its media and contacts.
    actions(a) {
      const i = a.info;
      const out = [];
      const c = a.card;
      c.btns = {};
      const act = (medium, key, ic, fn) => {
        if (!has(i, medium)) return;
        const b = button('btn', ic, () => {
          const why = this.reason(a.info, medium);
          if (why) this.explain(c, why);
          else fn(b);
        }, this.t(key));
        b.setAttribute('data-action', medium === 'voice' ? 'call' : medium);
        b.why = el('span', 'sr');
        b.append(b.why);
        c.btns[medium] = b;
        out.push(b);
      };
      act('voice', 'call', 'phone', (b) => this.calls.startCall(i.id, false, b));
      act('video', 'videoCall', 'video', (b) => this.calls.startCall(i.id, true, b));
      act('chat', 'chat', 'chat', (b) => this.chats.openChat(i.id, '', b));
      if (has(i, 'email') && i.email) out.push(anchor('mailto:' + i.email, this.t('email'), 'btn', 'mail', i.email));
      if (i.phonenumber) out.push(anchor(telURL(i.phonenumber), i.phonenumber, 'btn', 'phone', this.t('phone')));
      const url = i.link && safeURL(i.link.url);
      if (url) out.push(anchor(url, i.link.title || url, 'btn', 'out', null, true));
      out.forEach((b) => {
        if (!b.hasAttribute('data-action')) b.setAttribute('data-action', /^mailto:/.test(b.href) ? 'email' : /^tel:/.test(b.href) ? 'phone' : 'link');
      });
      if (out[0]) out[0].classList.add('pri');
      if (out.length <= 2) return out;
      // The first action stays in view; the others open under "More".
      const box = el('div', 'morebox');
      box.id = 'more-' + (++this.requests);
      box.hidden = true;
      box.append(...out.slice(1));
      const more = button('btn', 'more', () => {
        box.hidden = !box.hidden;
        more.setAttribute('aria-expanded', String(!box.hidden));
        if (!box.hidden) focus(box.querySelector('a,button'));
      }, this.t('more'));
      more.setAttribute('aria-expanded', 'false');
      more.setAttribute('aria-controls', box.id);
      more.setAttribute('data-more', '');
      more.setAttribute('aria-label', fill(this.t('moreWays'), { name: String(i.dn || i.id) }));
      return [out[0], more, box];
    }

    // alternatives fills box with other ways to reach someone after a call
    // or chat with agent id did not work: the same again, another available
    // agent, a chat instead of a call, a message. id '' empties it.
    alternatives(box, id, failed, video) {
      const a = id && this.agents.get(id);
      if (!a || !this.session || this.type === 'pop') {
        box.textContent = '';
        box.sig = '';
        return;
      }
      const can = (x, m) => x && has(x.info, m) && !this.reason(x.info, m);
      const name = (x) => String(x.info.dn || x.info.id);
      const again = (fn) => () => {
        this.home();
        fn();
      };
      const out = [];
      const other = (m) => this.sorted().find((x) => x !== a && can(x, m) && !!x.card && !x.card.el.hidden);
      if (failed === 'call') {
        if (can(a, 'voice') && canCall()) out.push(button('btn pri', 'retry', again(() => this.calls.startCall(id, !!video)), this.t('tryAgain')));
        if (can(a, 'chat')) out.push(button('btn', 'chat', again(() => this.chats.openChat(id)), fill(this.t('chatWith'), { name: name(a) })));
        const b = canCall() && other('voice');
        if (b) out.push(button('btn', 'phone', again(() => this.calls.startCall(b.info.id, false)), fill(this.t('callAgent'), { name: name(b) })));
      } else {
        if (can(a, 'chat')) out.push(button('btn pri', 'chat', again(() => this.chats.openChat(id)), this.t('newChat')));
        const b = other('chat');
        if (b) out.push(button('btn', 'chat', again(() => this.chats.openChat(b.info.id)), fill(this.t('chatWith'), { name: name(b) })));
        if (can(a, 'voice') && canCall()) out.push(button('btn', 'phone', again(() => this.calls.startCall(id, false)), fill(this.t('callAgent'), { name: name(a) })));
      }
      if (this.session.leaveMessage) out.push(button('btn', 'mail', again(() => this.leave.show()), this.t('leaveMessage')));
      // Unchanged offers stay as they are (and keep the focus).
      const sig = out.map((b) => b.textContent).join('|');
      if (sig === box.sig && box.childElementCount) return;
      box.sig = sig;
      box.textContent = '';
      box.append(...out);
    }

    // reason says why agent i cannot be reached by medium now, or ''.
    reason(i, medium) {
      if (i.presence !== 'online') return this.t('unavailableReason');
      const a = this.agents.get(i.id);
      if (medium === 'chat' && a && a.chatBusy > Date.now()) return this.t('agentBusy');
      if (medium !== 'chat' && !canCall()) return this.t(!win.isSecureContext ? 'insecure' : 'noWebRTC');
      return '';
    }

    avail(a) {
      const c = a.card;
      Object.keys(c.btns || {}).forEach((m) => disable(c.btns[m], this.reason(a.info, m)));
      if (!this.reason(a.info, 'chat')) setText(c.why, '');
    }

    // explain shows why a button does nothing (for touch and keyboard users
    // who never see its tooltip).
    explain(c, why) {
      setText(c.why, why);
      clearTimeout(c.whyTimer);
      c.whyTimer = setTimeout(() => setText(c.why, ''), 8000);
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

    sorted() {
      return Array.from(this.agents.values()).sort((x, y) => (+x.info.order || 0) - (+y.info.order || 0));
    }

    // pick returns the agent "contact us" reaches: the first available one
    // in order (a random one with equalPriority) that takes medium.
    pick(medium) {
      const on = this.sorted().filter((a) => a.info.presence === 'online' && (!medium || has(a.info, medium) ||
        (medium === 'voice' && has(a.info, 'video'))));
      if (!on.length) return '';
      return (this.session && this.session.equalPriority ? on[Math.floor(Math.random() * on.length)] : on[0]).info.id;
    }

    // contact opens the preferred action of the agent pick chooses: a call
    // when it takes voice (and the browser can call), else a chat.
    contact() {
      const id = this.pick('');
      const a = id && this.agents.get(id);
      if (!a) {
        if (this.session && this.session.leaveMessage) this.leave.show();
        return;
      }
      const i = a.info;
      const way = this.contactWay();
      if (way === 'call') this.calls.startCall(id, false, this.cta);
      else if (way === 'chat') this.chats.openChat(id, '', this.cta);
      else if (i.email && has(i, 'email')) anchor('mailto:' + i.email).click();
      else if (i.phonenumber) anchor(telURL(i.phonenumber)).click();
    }

    // contactWay says what "contact us" does with the agent pick chooses:
    // call, chat or other.
    contactWay() {
      const a = this.agents.get(this.pick(''));
      if (!a) return 'other';
      const i = a.info;
      if ((has(i, 'voice') || has(i, 'video')) && (canCall() || !has(i, 'chat'))) return 'call';
      return has(i, 'chat') ? 'chat' : 'other';
    }

    // refresh shows the sidebar only while someone is available (or always
    // with alwaysShow and at least one agent, or while a call or chat runs,
    // or when the visitor can leave a message), and offers "leave a
    // message" when nobody is available.
    refresh() {
      if (!this.session || !this.host) return;
      let any = false;
      let online = false;
      this.agents.forEach((a) => {
        any = true;
        if (a.info.presence === 'online') online = true;
      });
      const leave = !online && !!this.session.leaveMessage && this.type !== 'pop';
      if (this.anyOnline !== online) {
        this.anyOnline = online;
        this.tabText();
      }
      if (this.offer) this.offer.hidden = !leave;
      if (this.empty) this.empty.hidden = online;
      if (this.cta) {
        disable(this.cta, online ? '' : this.t('nobodyAvailable'));
        // The icon says what the button does: a call or a chat.
        setIcon(this.cta, this.contactWay() === 'chat' ? 'chat' : 'phone');
      }
      if (this.popCall) {
        const p = this.pop;
        const a = this.agents.get(p.agent);
        setText(this.popCall.lbl, fill(this.t(p.call === 'video' ? 'videoCallAgent' : 'callAgent'), { name: a ? String(a.info.dn || a.info.id) : '' }));
        disable(this.popCall, a && a.info.presence === 'online' ? '' : this.t('unavailableReason'));
        this.popCall.hidden = !a || !this.ready;
      }
      // The ways on after a failed call or chat follow availability.
      const c = this.call;
      const h = this.chat;
      if (c && c.state === 'ended' && c.offerFor) this.alternatives(this.calls.callAlts, c.offerFor, 'call', c.video);
      if (h && h.state === 'ended' && h.offerFor) this.alternatives(this.chats.chatAlts, h.offerFor, 'chat');
      if (this.type !== 'sidebar') return;
      this.showTeam();
      const show = online || (any && !!this.session.alwaysShow) || leave || this.view !== 'home';
      this.host.style.display = show ? '' : 'none';
      this.mark('visible', show ? '1' : '0');
      this.root.classList.toggle('on', online);
      if (!show) this.collapse();
    }

    // showTeam puts up to three pictures (else initials) of available agents
    // and the expected-reply line at the top of the panel.
    showTeam() {
      const on = this.sorted().filter((a) => a.info.presence === 'online').slice(0, 3);
      const sig = on.map((a) => a.info.id + a.url).join();
      if (sig !== this.faces.sig) {
        this.faces.sig = sig;
        this.faces.textContent = '';
        on.forEach((a) => {
          const f = el('span', 'face', a.url ? null : initials(String(a.info.dn || a.info.id)));
          if (a.url) {
            const img = el('img');
            img.alt = '';
            img.src = a.url;
            f.append(img);
          }
          this.faces.append(f);
        });
      }
      setText(this.replyLine, String(this.session.expectedReply || ''));
      this.team.hidden = !on.length && !this.session.expectedReply;
    }

    // --- panel ---

    // show switches the panel to view: home (the agents), name, call, chat
    // or leave.
    show(view) {
      this.view = view;
      this.homeEl.hidden = view !== 'home';
      this.stage.hidden = view === 'home';
      Object.keys(this.views).forEach((k) => { this.views[k].hidden = k !== view; });
      this.root.classList.toggle('conv', view !== 'home');
      this.mark('view', view);
      this.head();
      this.refresh();
    }

    // home leaves the current view for the agents (for cards: closes the
    // panel) once nothing runs.
    home() {
      if (this.active()) return;
      if (this.nameCb) this.nameDone(null);
      if (this.call) {
        this.call = null;
        this.mark('call', 'idle');
      }
      if (this.chat) {
        this.chat = null;
        this.chats.log.textContent = '';
        this.mark('chat', 'idle');
        this.unread = 0;
      }
      const back = this.opener;
      this.opener = null;
      const focused = this.shadow.activeElement;
      this.show('home');
      this.tabText();
      if (this.type === 'cards') {
        this.collapse(true);
        if (focused && back) focus(back);
      } else if (focused) {
        this.focusView();
      }
    }

    // dismiss is the panel's close button and Escape.
    dismiss(esc) {
      if (this.type === 'pop') {
        if (esc && !this.active()) this.home();
        return;
      }
      if (!this.active() && (this.type === 'cards' || (esc && (this.view === 'name' || this.view === 'leave')))) {
        this.home();
        if (this.type === 'cards' || this.view === 'home') return;
      }
      this.collapse();
    }

    expand(withFocus) {
      if (!this.host || this.opened || this.host.style.display === 'none') return;
      if (this.type === 'cards' && this.view === 'home') return;
      this.opened = true;
      this.root.classList.add('open');
      this.tab.setAttribute('aria-expanded', 'true');
      this.mark('open', '1');
      if (this.view === 'chat') this.chats.seen();
      if (withFocus) this.focusView();
      if (this.chat) this.chats.keep();
    }

    collapse(silent) {
      if (!this.opened || this.type === 'pop') return;
      this.opened = false;
      const focused = this.shadow.activeElement;
      this.root.classList.remove('open');
      this.tab.setAttribute('aria-expanded', 'false');
      this.mark('open', '0');
      if (this.chat) this.chats.keep();
      if (!silent && focused && this.host.style.display !== 'none' && (this.type !== 'cards' || this.view !== 'home')) {
        focus(this.tab);
      }
    }

    // focusView puts the keyboard focus where the current view starts.
    focusView() {
      const v = this.view;
      const c = this.call;
      const h = this.chat;
      const n = v === 'name' ? this.nameIn : v === 'leave' ? (this.leave.fields.hidden ? this.leave.closeBtn : this.leave.nameIn)
        : v === 'call' ? (c && c.state === 'ended' ? this.calls.againBtn : this.calls.hangBtn)
          : v === 'chat' ? (h && h.state === 'ended' ? this.chats.chatDone : this.chats.chatIn)
            : this.cta && !off(this.cta) ? this.cta : this.x.hidden ? null : this.x;
      focus(n);
    }

    // open brings view to the front for a visitor's action.
    open(view, from) {
      if (from) this.opener = from;
      if (this.view !== view) this.show(view);
      if (!this.opened) this.expand(false);
      this.focusView();
    }

    calling() {
      const c = this.call;
      return !!(c && c.state !== 'ended');
    }

    active() {
      const c = this.call;
      const h = this.chat;
      return !!((c && c.state !== 'ended') || (h && h.state !== 'ended'));
    }

    // --- the visitor's name ---

    askName(from) {
      const fixed = this.session && this.session.callerName;
      if (fixed) return Promise.resolve(fixed);
      const n = this.visitor || storage.load('name');
      if (n) {
        this.visitor = String(n);
        return Promise.resolve(this.visitor);
      }
      if (this.nameCb) this.nameDone(null);
      return new Promise((res) => {
        this.nameCb = res;
        this.nameIn.value = '';
        this.open('name', from);
      });
    }

    nameDone(v) {
      const cb = this.nameCb;
      this.nameCb = null;
      if (v == null && this.view === 'name') {
        this.show('home');
        if (this.type === 'cards') this.collapse(true);
        const back = this.opener;
        if (back && back.isConnected) focus(back);
        else this.focusView();
      }
      if (cb) cb(v);
    }

    snapshot() {
      return this.sorted().map((a) => {
        const o = Object.assign({}, a.info);
        delete o.mt;
        return o;
      });
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
      const opts = {};
      if (s.getAttribute('data-frontdesk-mode') === 'popout') {
        // The call window (/call/<widget>?agent=ID&call=voice|video#name=…).
        const q = new URLSearchParams(location.search);
        const h = new URLSearchParams(location.hash.slice(1));
        opts.pop = {
          agent: s.getAttribute('data-frontdesk-agent') || q.get('agent') || '',
          call: /^(voice|video)$/.test(q.get('call') || '') ? q.get('call') : '',
          name: (h.get('name') || '').slice(0, 80)
        };
        if (location.hash) history.replaceState(null, '', location.pathname + location.search);
      }
      new Widget(id, gw, opts);
    });
  };

  const api = (win.Frontdesk = {
    widgets,
    get: (id) => widgets.get(String(id || '').replace(/-/g, '').toLowerCase()) || widgets.get(id),
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
    if (w.retryTimer) {
      clearTimeout(w.retryTimer);
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
  doc.addEventListener('visibilitychange', () => live.forEach((w) => {
    if (w.chats.seeing()) w.chats.seen();
  }));

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
    if (nav.clipboard && nav.clipboard.writeText) nav.clipboard.writeText(text).then(done, select);
    else select();
  });

  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', scan);
  scan();
})();
