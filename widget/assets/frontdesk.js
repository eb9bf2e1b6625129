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
  // Replaced by the call part's path on the gateway, with its version (so a
  // cached copy always matches this script); see loadPart.
  const CALL_PART = "__FRONTDESK_CALL_PART__";
  // The wait part's path (waiting in line), likewise.
  const WAIT_PART = "__FRONTDESK_WAIT_PART__";

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
  const CHAT_ERR = ['chat-in-progress', 'no-chat', 'chat-expired'];
  const WAIT_ERR = ['no-queue', 'queue-full', 'already-waiting'];
  const GENERIC = ['medium-not-allowed', 'agent-unavailable', 'agent-busy', 'unknown-agent', 'unknown-message', 'retry-later', 'bad-form'];
  // Requests that reach someone: they carry the form's answers and the page.
  const CONTACTS = ['CreateCall', 'ChatOpen', 'LeaveMessage'];
  // Session.style keys and the custom properties frontdesk.css reads.
  const VARS = {
    fontFamily: '--fd-font', fontSize: '--fd-size', foreground: '--fd-fg', background: '--fd-bg',
    accent: '--fd-accent', accentText: '--fd-accent-text', marginTop: '--fd-mt', marginRight: '--fd-mr',
    marginBottom: '--fd-mb', marginLeft: '--fd-ml', zIndex: '--fd-z'
  };
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
    retry: 'M20 11a8 8 0 1 0-2.3 5.7M20 5v6h-6',
    clock: 'M12 7v5l3 2M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0'
  };
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

  // The helpers the call part (loaded later, see loadPart) uses.
  const shared = {
    win, doc, nav, el, button, icon, setIcon, setText, fill, focus, sound, tone, stopAll, clock, endKey,
    videoAnswered, gathered, canCall, showFace, agentName, emit, chime, has
  };

  // Widget is one widget on the page. It holds the parts (Connection, Team,
  // Launcher, Panel, HomeView, AgentCards, NameForm, WaysOn, ChatPart,
  // LeavePart, and CallPart once loaded), hands the gateway's messages to
  // them, and tells them what changed through its signals.
  class Widget {
    constructor(id, gateway, options) {
      this.id = id;
      this.gateway = gateway;
      this.popout = options.popout || null; // the call window: {agent, call, name}
      this.signals = new Signals();
      this.team = new Team();
      this.session = null; // the last Session
      this.ice = null; // the last IceConfig
      this.type = '';
      this.host = null;
      this.ready = false;
      this.dead = false;
      this.welcomed = false; // a Session arrived on the open connection
      this.unread = 0;
      this.requests = 0; // request ids
      // The request an Error without its own kind answers: call, chat or
      // leave.
      this.pending = '';
      this.visitor = (this.popout && this.popout.name) || '';
      this.labels = [];
      this.launcher = new Launcher(this);
      this.panel = new Panel(this);
      this.homeView = new HomeView(this);
      this.cards = new AgentCards(this);
      this.nameForm = new NameForm(this);
      this.waysOn = new WaysOn(this);
      this.chats = new ChatPart(this);
      this.leave = new LeavePart(this);
      this.afterView = new AfterView(this);
      this.calls = null; // the CallPart, once loaded (callPart)
      this.waits = null; // the WaitPart, once loaded (waitPart)
      this.chats.restore(storage.load('chat:' + id));
      // A call of an earlier page of this tab, resumed once connected.
      this.savedCall = storage.load('call:' + id);
      this.signals.on('team', () => this.refresh());
      this.signals.on('conversation', () => this.refresh());
      this.signals.on('connection', () => this.refresh());
      live.set(id, this);
      widgets.set(id, this.handle());
      this.connection = new Connection(gateway.replace(/^http/i, 'ws') + '/ws?widget=' + encodeURIComponent(id), {
        hello: () => {
          // After (re)connecting the gateway sends the full state; agents
          // it does not mention before IceConfig are gone.
          this.fresh = true;
          this.team.forgetAsked();
          return { mt: 'Start', uuid: this.id, lang: languages() };
        },
        message: (m) => this.receive(m),
        lost: () => this.lost(),
        broken: (why) => this.fail('bad-gateway', why)
      });
      this.connection.connect();
    }

    // handle is the page's view of this widget (Frontdesk.get(id)). What
    // the page calls counts as the visitor's own action: storage is allowed.
    handle() {
      const act = (fn) => (...a) => {
        storage.allow();
        return fn(...a);
      };
      return {
        id: this.id,
        open: act(() => this.panel.expand(true)),
        close: () => this.panel.collapse(),
        agents: () => this.snapshot(),
        contact: act(() => this.contact()),
        call: act((agent, o) => this.startCall(agent || this.pickId('voice'), !!(o && o.video))),
        videoCall: act((agent) => this.startCall(agent || this.pickId('video'), true)),
        hangup: () => { if (this.calls) this.calls.hangup(); },
        chat: act((agent, text) => this.chats.openChat(agent || this.pickId('chat'), text)),
        endChat: () => this.chats.endChatByVisitor(),
        leaveMessage: act(() => this.leave.show()),
        state: () => this.state()
      };
    }

    // The call and the chat running (or ended and still shown).
    get call() { return this.calls ? this.calls.current : null; }
    get chat() { return this.chats.current; }
    get waiting() { return this.waits ? this.waits.current : null; }

    t(key) {
      const s = this.session && this.session.strings;
      return (s && s[key]) || DEFAULTS[key] || '';
    }

    // mark sets data-frontdesk-NAME on the host: the widget's state for the
    // page's scripts and styles (and the tests).
    mark(name, value) {
      if (this.host) this.host.setAttribute('data-frontdesk-' + name, value);
    }

    // label binds node's text (or attribute attr) to string key, kept
    // current across Session changes.
    label(node, key, attr) {
      this.labels.push([node, key, attr]);
      return node;
    }

    applyLabels() {
      this.labels.forEach(([n, key, attr]) => {
        if (attr) n.setAttribute(attr, this.t(key));
        else setText(n, this.t(key));
      });
    }

    field(key, input) {
      const l = el('label', 'fld');
      l.append(this.label(el('span'), key), input);
      return l;
    }

    state() {
      const c = this.call;
      const h = this.chat;
      return {
        ready: this.ready, open: this.panel.opened, view: this.panel.view, unread: this.unread,
        call: c ? { agent: c.agent, state: c.state, reason: c.reason || '', video: c.video } : null,
        chat: h ? { agent: h.agent, state: h.state, reason: h.reason || '' } : null
      };
    }

    // --- the gateway's messages ---

    send(m) {
      if (CONTACTS.indexOf(m.mt) >= 0) m = Object.assign(this.nameForm.context(m.mt === 'LeaveMessage'), m);
      this.connection.send(m);
    }

    online() {
      return this.connection.open && this.welcomed;
    }

    receive(m) {
      switch (m.mt) {
        case 'Session': this.onSession(m); break;
        case 'Info': this.onInfo(m); break;
        case 'Remove': this.onRemove(m.id); break;
        case 'Picture': this.onPicture(m); break;
        case 'IceConfig': this.ice = m; this.synced(); break;
        case 'CallInfo': if (this.calls) this.calls.callInfo(m); break;
        case 'ChatOpened': this.chats.chatOpened(m); break;
        case 'ChatDelivery': this.chats.delivery(m); break;
        case 'ChatMessage': this.chats.chatMessage(m); break;
        case 'ChatTyping': this.chats.typing(!!m.active); break;
        case 'ChatEnded': this.chats.chatEnded(m.reason || 'ended'); break;
        case 'MessageLeft': this.leave.left(m); break;
        case 'WaitInfo': case 'WaitEnded': if (this.waits) this.waits.receive(m); break;
        case 'Rated': this.afterView.rated(m); break;
        case 'TranscriptSent': this.afterView.transcriptSent(m); break;
        case 'Error': this.onError(m); break;
      }
    }

    onSession(m) {
      this.session = m;
      const fresh = this.fresh;
      if (fresh) {
        this.fresh = false;
        this.syncing = true;
        this.team.markStale();
      }
      const type = this.popout ? 'pop' : m.type === 'cards' ? 'cards' : 'sidebar';
      if (type !== this.type && !this.build(type)) return;
      this.connection.welcomed();
      this.welcomed = true;
      this.mark('state', 'connected');
      this.applyStyle(m.style || {});
      this.applyLabels();
      this.signals.emit('texts');
      this.team.agents.forEach((a) => this.cards.render(a));
      this.signals.emit('connection');
      this.signals.emit('team');
      if (fresh) {
        this.chats.resume();
        if (this.calls) this.calls.resume();
        if (this.savedCall) this.restoreCall();
      }
    }

    // restoreCall takes back the call an earlier page of this tab had: the
    // gateway keeps it a while for the next page (CallPart.restore).
    restoreCall() {
      const saved = this.savedCall;
      this.savedCall = null;
      this.callPart().then((part) => part.restore(saved), () => this.keepCall(null));
    }

    // keepCall stores what the next page needs to resume the call (null:
    // nothing).
    keepCall(saved) {
      storage.save('call:' + this.id, saved);
    }

    onInfo(m) {
      if (!m.id || typeof m.id !== 'string') return;
      const { agent, before } = this.team.update(m);
      if (this.team.wantsPicture(agent)) this.send({ mt: 'GetPicture', id: m.id });
      this.cards.render(agent);
      this.signals.emit('team');
      if (before !== m.presence) {
        if (before && this.panel.opened && this.panel.view === 'home') this.panel.announce(agentName(agent) + ': ' + this.t(presenceKey(m.presence)));
        emit('availability', { widget: this.id, agent: m.id, presence: m.presence });
      }
    }

    onPicture(m) {
      const a = this.team.picture(m);
      if (!a) return;
      this.cards.showPicture(a);
      this.signals.emit('team');
    }

    onRemove(id) {
      if (!this.team.remove(id)) return;
      this.cards.remove(id);
      this.signals.emit('team');
    }

    synced() {
      if (!this.syncing) return;
      this.syncing = false;
      this.team.staleIds().forEach((id) => this.onRemove(id));
      this.ready = true;
      this.mark('ready', '1');
      emit('ready', { widget: this.id });
      // A call window never places a call by itself: a link to it must not
      // ring anyone. Its "Call <agent>" button does, on the visitor's click.
      this.refresh();
    }

    onError(m) {
      const code = String(m.code || '');
      if (FATAL.indexOf(code) >= 0) {
        this.fail(code, m.text);
        return;
      }
      if (code !== 'unknown-agent' && code !== 'shutting-down') {
        console.warn('Frontdesk widget ' + this.id + ': ' + code + (m.text && m.text !== code ? ' (' + m.text + ')' : ''));
      }
      const kind = CALL_ERR.indexOf(code) >= 0 ? 'call' : CHAT_ERR.indexOf(code) >= 0 ? 'chat' : WAIT_ERR.indexOf(code) >= 0 ? 'wait'
        : code === 'no-fallback' ? 'leave' : GENERIC.indexOf(code) >= 0 ? this.pending : '';
      if (kind && kind === this.pending) this.pending = '';
      // The gateway did not take the form's answers: ask them again.
      if (code === 'bad-form') this.nameForm.forget();
      // retry-later: started too often; the words say how long to wait.
      const wait = code === 'retry-later' ? this.t('retryLater').replace('{time}', inTime(+m.retryAfter || 60, this.session && this.session.lang)) : '';
      if (kind === 'call') {
        if (this.calls) this.calls.refused(code, Number(m.retryAfter) || 0);
      } else if (kind === 'chat') {
        this.chats.refused(code, wait);
      } else if (kind === 'leave') {
        this.leave.left({ ok: false }, wait);
      } else if (kind === 'wait' && this.waits) {
        this.waits.refused(code);
      } else if (kind === 'after') {
        this.afterView.transcriptSent({ ok: false }, wait);
      }
    }

    // lost ends what cannot survive a lost connection: a call the gateway
    // keeps and a chat wait to be resumed on the next connection.
    lost() {
      this.welcomed = false;
      if (this.dead) return;
      this.mark('state', 'reconnecting');
      if (this.calls) this.calls.connectionLost();
      if (this.waits) this.waits.connectionLost();
      this.chats.connectionLost();
      if (this.pending === 'leave') this.leave.left({ ok: false });
      this.pending = '';
      this.signals.emit('connection');
    }

    // fail removes the widget for good.
    fail(code, text) {
      console.warn('Frontdesk widget ' + this.id + ' removed: ' + code + (text && text !== code ? ' (' + text + ')' : ''));
      this.dead = true;
      this.launcher.stop();
      if (this.calls) this.calls.endCall('failed');
      this.connection.close();
      if (this.host) this.host.remove();
      this.host = null;
      this.type = '';
      live.delete(this.id);
      widgets.delete(this.id);
      gone.add(this.id);
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
      this.launcher.stop();
      this.type = type;
      this.panel.opened = false;
      this.labels = [];
      // Views built into the old shadow root are built again.
      this.afterView.root = null;
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
      root.append(this.probe, this.launcher.build(), this.panel.build());
      if (type === 'cards') root.append(this.homeView.list, this.homeView.offer);
      this.cards.mount(this.homeView.list);
      this.panel.addView('name', this.nameForm.build(), this.nameForm);
      this.panel.addView('chat', this.chats.build(), this.chats);
      this.panel.addView('leave', this.leave.build(), this.leave);
      if (this.calls) this.panel.addView('call', this.calls.build(), this.calls);
      if (this.waits) this.panel.addView('wait', this.waits.build(), this.waits);
      shadow.append(root);
      parent.append(host);
      this.mark('call', this.call ? this.call.state : 'idle');
      this.mark('chat', this.chat ? this.chat.state : 'idle');
      if (this.chat) {
        this.chats.thread();
        this.panel.show('chat');
        if (this.chat.expanded || type === 'pop') this.panel.expand(false);
      } else {
        this.panel.show(this.call ? 'call' : this.waiting ? 'wait' : 'home');
      }
      if (type === 'pop') {
        this.panel.expand(false);
        // The call window is for calling: its part comes at once.
        this.callPart().catch(() => {});
      }
      return true;
    }

    applyStyle(st) {
      const hs = this.host.style;
      Object.keys(VARS).forEach((k) => {
        const v = st[k];
        if (v != null && v !== '') hs.setProperty(VARS[k], String(v));
        else hs.removeProperty(VARS[k]);
      });
      const side = st.position === 'left' ? 'left' : 'right';
      if (this.host.getAttribute('data-position') !== side) this.launcher.place(side);
      this.host.setAttribute('data-position', side);
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

    // refresh shows the sidebar only while someone is available (or always
    // with alwaysShow and at least one agent, or while a call or chat runs,
    // or when the visitor can leave a message), and keeps the ways on after
    // a failure in step with availability and the connection.
    refresh() {
      if (!this.session || !this.host) return;
      this.homeView.update();
      const c = this.call;
      const h = this.chat;
      if (c && c.state === 'ended' && c.offerFor) this.calls.offerWays();
      if (h && h.state === 'ended' && h.offerFor) this.waysOn.fill(this.chats.alternatives, h.offerFor, 'chat');
      if (this.type !== 'sidebar') return;
      const online = this.team.anyAvailable();
      const leave = !online && !!this.session.leaveMessage;
      const show = online || (this.team.agents.size > 0 && !!this.session.alwaysShow) || leave || this.panel.view !== 'home';
      this.host.style.display = show ? '' : 'none';
      this.mark('visible', show ? '1' : '0');
      this.root.classList.toggle('on', online);
      if (!show) this.panel.collapse();
    }

    // home leaves the current view for the agents (for cards: closes the
    // panel) once nothing runs.
    home() {
      if (this.active()) return;
      if (this.nameForm.pending()) this.nameForm.done(null);
      if (this.calls && this.calls.current) this.calls.clear();
      if (this.waiting) this.waits.clear();
      if (this.chat) this.chats.clear();
      const panel = this.panel;
      const back = panel.opener;
      panel.opener = null;
      const focused = this.shadow.activeElement;
      panel.show('home');
      this.signals.emit('conversation');
      if (this.type === 'cards') {
        panel.collapse(true);
        if (focused && back) focus(back);
      } else if (focused) {
        panel.focusView();
      }
    }

    calling() {
      const c = this.call;
      return !!(c && c.state !== 'ended');
    }

    active() {
      const h = this.chat;
      const v = this.waiting;
      return this.calling() || !!(h && h.state !== 'ended') || !!(v && v.state !== 'ended');
    }

    // --- reaching agents ---

    // blocker says why agent a cannot be reached by medium now (a string
    // key, see Team.blocker), or ''; evenOffline leaves the connection out.
    blocker(a, medium, evenOffline) {
      return this.team.blocker(a, medium, {
        online: evenOffline || this.online(), time: Date.now(), canCall: canCall(), secure: !!win.isSecureContext,
        turn: this.waits ? this.waits.turn : ''
      });
    }

    reasonText(a, medium) {
      const key = this.blocker(a, medium);
      return key ? this.t(key) : '';
    }

    pickId(medium) {
      const a = this.team.pick(medium, this.session && this.session.equalPriority);
      return a ? a.id : '';
    }

    // callPart resolves to the CallPart, loading the call code from the
    // gateway the first time.
    callPart() {
      if (this.calls) return Promise.resolve(this.calls);
      return loadPart(this.gateway, CALL_PART).then((CallPart) => {
        if (!this.calls) {
          this.calls = new CallPart(this);
          if (this.root) this.panel.addView('call', this.calls.build(), this.calls);
          if (this.session) this.applyLabels();
        }
        return this.calls;
      });
    }

    // waitPart resolves to the WaitPart, loading it the first time.
    waitPart() {
      if (this.waits) return Promise.resolve(this.waits);
      return loadPart(this.gateway, WAIT_PART).then((WaitPart) => {
        if (!this.waits) {
          this.waits = new WaitPart(this);
          if (this.root) this.panel.addView('wait', this.waits.build(), this.waits);
        }
        return this.waits;
      });
    }

    // waitFor lets the visitor wait in agent id's line for medium ('':
    // what the agent and the browser can do).
    waitFor(id, medium, from) {
      this.waitPart().then((part) => part.start(id, medium, from), () => {
        const a = this.team.get(id);
        if (a) this.cards.explain(a, this.t('error'));
      });
    }

    // warmCallOn loads the call part when the visitor points at or tabs to
    // control b, so that the click finds it there.
    warmCallOn(b) {
      const warm = () => { if (canCall()) this.callPart().catch(() => {}); };
      b.addEventListener('pointerenter', warm);
      b.addEventListener('focus', warm);
    }

    startCall(id, video, from, dest) {
      // Within the visitor's click: audio may start now, not later.
      sound();
      // Until the call part is there, the button says it is busy.
      const busy = !this.calls && from;
      if (busy) from.setAttribute('aria-busy', 'true');
      this.callPart().then((part) => part.startCall(id, video, from, dest), () => {
        const a = this.team.get(id);
        if (a) this.cards.explain(a, this.t('error'));
      }).finally(() => { if (busy) from.removeAttribute('aria-busy'); });
    }

    // contact opens the preferred action of the agent pick chooses: a call
    // when it takes voice (and the browser can call), else a chat.
    contact() {
      if (!this.online()) return;
      const a = this.team.pick('', this.session && this.session.equalPriority);
      if (!a) {
        if (this.session && this.session.leaveMessage) this.leave.show();
        return;
      }
      const i = a.info;
      const way = this.contactWay(a);
      const from = this.homeView.contactButton;
      // The gateway rings whom "contact us" reaches, one after another.
      const group = this.session.contactUs;
      const g = group && this.team.get(group);
      if (way === 'call') this.startCall(g ? g.id : a.id, false, from, group);
      else if (way === 'chat') this.chats.openChat(a.id, '', from);
      else if (i.email && has(i, 'email')) anchor('mailto:' + i.email).click();
      else if (i.phonenumber) anchor(telURL(i.phonenumber)).click();
    }

    // contactWay says what "contact us" does with agent a (the one pick
    // chooses): call, chat or other.
    contactWay(a) {
      a = a || this.team.pick('');
      if (!a) return 'other';
      const i = a.info;
      if ((has(i, 'voice') || has(i, 'video')) && (canCall() || !has(i, 'chat'))) return 'call';
      return has(i, 'chat') ? 'chat' : 'other';
    }

    snapshot() {
      return this.team.sorted().map((a) => {
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
        opts.popout = {
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
    scan,
    // For the widget's own parts loaded later (see loadPart), not for pages.
    definePart
  });

  win.addEventListener('online', () => live.forEach((w) => w.connection.retryNow()));
  // Leave the back/forward cache with no open socket; reconnect on return.
  win.addEventListener('pagehide', (e) => {
    // A running call is resumed by the next page: it counts from now.
    live.forEach((w) => { if (w.calls) w.calls.keep(); });
    if (e.persisted) live.forEach((w) => w.connection.pause());
  });
  win.addEventListener('pageshow', (e) => {
    if (e.persisted) live.forEach((w) => w.connection.resume());
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
