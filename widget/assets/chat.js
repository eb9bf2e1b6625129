  // Chat (joined into frontdesk.js by the gateway; see widget/assets.go).

  // ChatDelivery reasons and the words for them; after those in NO_RETRY
  // sending again cannot help.
  const FAIL_WHY = { offline: 'whyOffline', rejected: 'whyRejected', timeout: 'whyTimeout', 'too-long': 'whyTooLong',
    'rate-limited': 'whyRateLimited', ended: 'whyEnded', moved: 'chatMoved' };
  const NO_RETRY = ['too-long', 'empty', 'ended', 'moved'];
  // Error codes that end a chat being opened or resumed, and the reason it
  // ends with (others: failed).
  const CHAT_REFUSED = { 'chat-expired': 'expired', 'agent-busy': 'agent-busy', 'agent-unavailable': 'agent-unavailable', 'retry-later': 'retry-later' };

  // ChatPart is the chat view and the chat it shows: sending, delivery,
  // replies in order and once, typing, resume after a reload; widget.chat is
  // its current one.
  class ChatPart {
    constructor(widget) {
      this.widget = widget;
      this.current = null; // {agent, dn, token, last, acked, items, state, reason, expanded}
      widget.signals.on('connection', () => this.chatUI());
    }

    // restore takes the chat a page of this tab stored before a reload.
    restore(saved) {
      if (!saved || !saved.token || !saved.agent) return;
      this.current = {
        agent: String(saved.agent), dn: String(saved.dn || ''), token: String(saved.token), last: Number(saved.last) || 0,
        items: Array.isArray(saved.items) ? saved.items.slice(-200) : [], state: 'resuming', expanded: !!saved.exp
      };
    }

    // resume asks a new connection's gateway for the chat running.
    resume() {
      const h = this.current;
      if (!h || !h.token || (h.state !== 'open' && h.state !== 'resuming')) return;
      this.widget.pending = 'chat';
      this.widget.send({ mt: 'ChatResume', token: h.token, seq: h.last || 0 });
    }

    // connectionLost: an open chat waits to be resumed; one being opened
    // failed.
    connectionLost() {
      const h = this.current;
      if (h && h.state === 'open') this.setChat('resuming');
      if (h && h.state === 'opening') this.endChat('failed');
    }

    // refused ends the chat being opened or resumed after Error code;
    // text (retry-later) says how long to wait. chat-expired answers a
    // resume: the gateway lost the chat (restarted, or the visitor was away
    // too long).
    refused(code, text) {
      const h = this.current;
      if (h && h.state !== 'ended') this.endChat(CHAT_REFUSED[code] || 'failed', text);
    }

    // chatEnded is the gateway's ChatEnded. Until ChatOpened confirms a new
    // chat, a ChatEnded is the late answer to ending the one before.
    chatEnded(reason) {
      const h = this.current;
      if (!h || h.state === 'opening') return;
      this.endChat(reason);
    }

    // clear forgets an ended chat (the visitor left its view).
    clear() {
      const w = this.widget;
      this.current = null;
      this.log.textContent = '';
      w.mark('chat', 'idle');
      w.unread = 0;
      w.signals.emit('unread');
    }

    focusTarget() {
      const h = this.current;
      return h && h.state === 'ended' ? this.doneButton : this.input;
    }

    // build makes the chat view.
    build() {
      const v = el('div', 'view chatv');
      const log = (this.log = el('div', 'log'));
      log.setAttribute('role', 'log');
      log.setAttribute('aria-live', 'polite');
      log.setAttribute('aria-relevant', 'additions');
      log.tabIndex = 0;
      this.widget.label(log, 'chat', 'aria-label');
      this.typingNote = el('p', 'typ');
      this.typingNote.hidden = true;
      const f = (this.form = el('form', 'cf'));
      f.noValidate = true;
      const ta = (this.input = el('textarea'));
      ta.rows = 1;
      ta.maxLength = 2000;
      this.widget.label(ta, 'typeMessage', 'aria-label');
      this.widget.label(ta, 'typeMessage', 'placeholder');
      const sendButton = (this.sendButton = button('sendb', 'send'));
      sendButton.type = 'submit';
      this.widget.label(sendButton.lbl, 'send');
      sendButton.lbl.className = 'sr';
      sendButton.why = el('span', 'sr');
      sendButton.append(sendButton.why);
      f.append(ta, sendButton);
      f.addEventListener('submit', (e) => {
        e.preventDefault();
        this.chatSend();
      });
      ta.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          this.chatSend();
        }
      });
      ta.addEventListener('input', () => this.typingOut());
      const row = el('div', 'row');
      this.endButton = button('btn', 'close', () => this.endChatByVisitor());
      this.widget.label(this.endButton.lbl, 'endChat');
      this.doneButton = button('btn', null, () => this.widget.home());
      this.widget.label(this.doneButton.lbl, 'dismiss');
      this.hereButton = button('btn', null, () => this.continueHere());
      this.widget.label(this.hereButton.lbl, 'continueHere');
      this.hereButton.why = el('span', 'sr');
      this.hereButton.append(this.hereButton.why);
      row.append(this.endButton, this.hereButton, this.doneButton);
      this.alternatives = el('div', 'alts');
      // The rating and transcript of a chat that ended (AfterView).
      this.afterBox = el('div');
      v.append(log, this.typingNote, f, this.alternatives, this.afterBox, row);
      return v;
    }

    setChat(state) {
      const h = this.current;
      h.state = state;
      this.widget.mark('chat', state);
      this.chatUI();
      this.keep();
      this.widget.signals.emit('conversation');
      emit('chat', { widget: this.widget.id, agent: h.agent, state, reason: h.reason || '' });
    }
    // keep stores the chat for a page reload, or forgets it once it ended.
    keep() {
      const h = this.current;
      if (!h || !h.token || h.state === 'ended') {
        storage.save('chat:' + this.widget.id, null);
        return;
      }
      storage.save('chat:' + this.widget.id, { agent: h.agent, dn: h.dn, token: h.token, last: h.last || 0, items: h.items.slice(-200), exp: this.widget.panel.opened });
    }
    async openChat(id, text, from) {
      const h = this.current;
      if (h && h.state !== 'ended') {
        if (text && !this.input.value) this.input.value = String(text);
        this.widget.panel.open('chat', from);
        return;
      }
      const a = this.widget.team.get(id);
      if (!a || this.widget.blocker(a, 'chat')) return;
      sound();
      const dn = await this.widget.nameForm.ask(from);
      if (dn == null || (this.current && this.current.state !== 'ended')) return;
      if (this.current) this.clear();
      this.current = { agent: id, dn: agentName(a), items: [], state: '' };
      this.log.textContent = '';
      this.alternatives.textContent = '';
      this.widget.afterView.hide();
      this.input.value = text ? String(text) : '';
      this.widget.panel.open('chat', from);
      this.setChat('opening');
      if (!this.widget.online()) {
        this.endChat('failed');
        return;
      }
      this.widget.pending = 'chat';
      this.widget.send({ mt: 'ChatOpen', dest: id, dn });
    }
    chatOpened(m) {
      const h = this.current;
      if (!h || h.state === 'ended') return;
      if (this.widget.pending === 'chat') this.widget.pending = '';
      h.token = String(m.token || h.token || '');
      if (m.dest) h.agent = String(m.dest);
      const a = this.widget.team.get(h.agent);
      if (a) h.dn = agentName(a);
      this.setChat('open');
      if (!m.resumed) return;
      // The resume confirmed what this tab has shown; texts whose result
      // never came are sent again (the gateway ignores an id it has seen).
      h.acked = h.last;
      h.items.forEach((it) => {
        if (it.me && it.st === 'sending') this.widget.send({ mt: 'ChatSend', id: it.id, text: it.text });
      });
    }
    // numbered reports whether the chat event m is new: a number shown
    // before (a replay after a reconnect) is dropped. New numbers are
    // confirmed with ChatAck about a second later, together.
    numbered(m) {
      const h = this.current;
      const n = Number(m.seq) || 0;
      if (!n) return true;
      if (n <= (h.last || 0)) return false;
      h.last = n;
      if (!this.ackTimer) this.ackTimer = setTimeout(() => this.ack(), 1000);
      return true;
    }
    ack() {
      clearTimeout(this.ackTimer);
      this.ackTimer = 0;
      const h = this.current;
      if (h && h.state === 'open' && h.last > (h.acked || 0) && this.widget.online()) {
        h.acked = h.last;
        this.widget.send({ mt: 'ChatAck', seq: h.last });
      }
    }
    chatSend() {
      const h = this.current;
      const text = this.input.value.trim();
      if (!h || h.state !== 'open' || !text) return;
      sound();
      h.sent = (h.sent || 0) + 1;
      const it = { id: 'c' + Date.now().toString(36) + h.sent, me: 1, text, time: new Date().toISOString(), st: 'sending' };
      h.items.push(it);
      this.input.value = '';
      this.typingOut(true);
      this.add(it);
      if (this.widget.online()) this.widget.send({ mt: 'ChatSend', id: it.id, text });
      else it.st = 'failed';
      this.markItem(it);
      this.keep();
    }
    delivery(m) {
      const h = this.current;
      if (!h || !this.numbered(m)) return;
      const it = h.items.find((x) => x.me && x.id === m.id);
      if (!it) return;
      it.st = m.state === 'delivered' ? 'delivered' : 'failed';
      it.why = m.reason || '';
      this.markItem(it);
      this.keep();
    }
    chatMessage(m) {
      const h = this.current;
      if (!h || h.state === 'ended' || typeof m.text !== 'string' || !this.numbered(m)) return;
      const id = String(m.id || '');
      if (id && h.items.some((x) => !x.me && x.id === id)) return;
      const it = { id, text: m.text, time: typeof m.time === 'string' ? m.time : new Date().toISOString() };
      h.items.push(it);
      this.typing(false);
      this.add(it);
      this.keep();
      if (!this.seeing()) {
        this.widget.unread++;
        chime();
        this.widget.signals.emit('unread');
      }
      emit('message', { widget: this.widget.id, agent: h.agent, id, text: m.text, time: it.time });
    }
    seeing() {
      return this.widget.panel.opened && this.widget.panel.view === 'chat' && doc.visibilityState !== 'hidden';
    }
    seen() {
      if (!this.widget.unread) return;
      this.widget.unread = 0;
      this.widget.signals.emit('unread');
    }
    typing(on) {
      const h = this.current;
      clearTimeout(this.typingTimer);
      this.typingNote.hidden = !on || !h;
      if (!on || !h) return;
      setText(this.typingNote, (h.dn || '') + ' ' + this.widget.t('typing'));
      this.typingTimer = setTimeout(() => { this.typingNote.hidden = true; }, 15000);
    }
    // typingOut tells the agent the visitor types (at most every 3 s), and
    // that they stopped after 4 s without input or on sending.
    typingOut(stop) {
      const h = this.current;
      if (!h || h.state !== 'open') return;
      clearTimeout(this.typingStopTimer);
      if (stop) {
        if (this.typingSentAt) this.widget.send({ mt: 'ChatTyping', active: false });
        this.typingSentAt = 0;
        return;
      }
      const now = Date.now();
      if (!this.typingSentAt || now - this.typingSentAt > 3000) {
        this.typingSentAt = now;
        this.widget.send({ mt: 'ChatTyping', active: true });
      }
      this.typingStopTimer = setTimeout(() => this.typingOut(true), 4000);
    }
    // endChat shows why the chat ended; text overrides the reason's words.
    endChat(reason, text) {
      const h = this.current;
      if (!h || h.state === 'ended') return;
      h.reason = reason;
      if (this.widget.pending === 'chat') this.widget.pending = '';
      this.typing(false);
      clearTimeout(this.typingStopTimer);
      this.typingSentAt = 0;
      const key = { 'agent-busy': 'agentBusy', 'agent-unavailable': 'unavailableReason', failed: 'error', moved: 'chatMoved',
        expired: 'chatLost', 'shutting-down': 'chatRestarted' }[reason] || 'chatEnded';
      if (reason === 'agent-busy') {
        // The agent is in another chat: the card says so for a minute, and
        // the chat button explains instead of failing again.
        const a = this.widget.team.get(h.agent);
        if (a) {
          a.chatBusyUntil = Date.now() + 60000;
          clearTimeout(a.chatBusyTimer);
          a.chatBusyTimer = setTimeout(() => this.widget.cards.render(a), 60000);
          this.widget.cards.render(a);
        }
      }
      const p = el('p', 'sys', text || this.widget.t(key));
      this.log.append(p);
      this.log.scrollTop = this.log.scrollHeight;
      this.widget.mark('chat-reason', reason);
      h.offerFor = reason === 'ended-by-visitor' || reason === 'moved' ? '' : h.agent;
      this.widget.waysOn.fill(this.alternatives, h.offerFor, 'chat');
      if (h.token && reason !== 'moved' && reason !== 'expired') this.widget.afterView.show(this.afterBox, 'chat');
      this.setChat('ended');
      if (this.widget.panel.view === 'chat' && this.widget.shadow.activeElement) focus(reason === 'moved' ? this.hereButton : this.doneButton);
    }
    // continueHere takes a chat that went on in another tab back to this one.
    continueHere() {
      const h = this.current;
      if (!h || h.reason !== 'moved' || !this.widget.online()) return;
      h.reason = '';
      this.setChat('resuming');
      this.widget.pending = 'chat';
      this.widget.send({ mt: 'ChatResume', token: h.token, seq: h.last || 0 });
    }
    endChatByVisitor() {
      const h = this.current;
      if (!h || h.state === 'ended') return;
      this.ack();
      if (h.state === 'open' || h.state === 'resuming') this.widget.send({ mt: 'ChatClose' });
      this.endChat('ended-by-visitor');
    }
    chatUI() {
      const h = this.current;
      if (!h) return;
      const w = this.widget;
      const open = h.state === 'open';
      this.form.hidden = h.state === 'ended';
      // While the chat is being opened or resumed the visitor may write
      // ahead; sending waits, and says why.
      this.input.disabled = !open && h.state !== 'opening' && h.state !== 'resuming';
      this.input.setAttribute('aria-busy', String(!open));
      disable(this.sendButton, open ? '' : w.t(w.online() ? 'connecting' : 'reconnecting'));
      this.endButton.hidden = h.state === 'ended';
      this.doneButton.hidden = h.state !== 'ended';
      this.hereButton.hidden = h.state !== 'ended' || h.reason !== 'moved';
      disable(this.hereButton, w.online() ? '' : w.t('reconnecting'));
    }
    // thread renders the stored conversation without announcing it: only
    // messages that arrive later are read out by the live log.
    thread() {
      const log = this.log;
      log.setAttribute('aria-live', 'off');
      log.textContent = '';
      this.current.items.forEach((it) => this.add(it));
      setTimeout(() => log.setAttribute('aria-live', 'polite'), 0);
      this.chatUI();
    }
    add(it) {
      const h = this.current;
      const n = el('div', 'msg ' + (it.me ? 'me' : 'them'));
      n.setAttribute('data-id', it.id);
      const b = el('p', 'bub');
      const words = el('span', 'txt');
      words.append(...linkify(it.text));
      b.append(el('span', 'sr', (it.me ? this.widget.t('you') : h.dn) + ': '), words);
      const meta = el('p', 'meta');
      const tm = el('time', null, timeOf(it.time, this.widget.session && this.widget.session.lang));
      tm.dateTime = it.time;
      meta.append(tm);
      if (it.me) {
        n.st = el('span');
        n.retry = button('lnkb', 'retry', () => this.resend(it), this.widget.t('retry'));
        meta.append(n.st, n.retry);
      }
      n.append(b, meta);
      it.node = n;
      Object.defineProperty(it, 'node', { enumerable: false });
      this.log.append(n);
      this.markItem(it);
      this.log.scrollTop = this.log.scrollHeight;
    }
    markItem(it) {
      const n = it.node;
      if (!n || !n.st) return;
      const failed = it.st === 'failed';
      n.classList.toggle('fail', failed);
      n.setAttribute('data-state', it.st || '');
      // A text that did not arrive says why, and can be sent again when
      // that may help.
      const why = failed ? this.widget.t(FAIL_WHY[it.why] || 'whyFailed') : '';
      setText(n.st, ' · ' + this.widget.t(it.st === 'delivered' ? 'delivered' : failed ? 'notDelivered' : 'sending') + (why ? ': ' + why : ''));
      const h = this.current;
      n.retry.hidden = !failed || NO_RETRY.indexOf(it.why) >= 0 || !h || h.state !== 'open';
    }
    // resend sends a text that was not delivered again, as a new message.
    resend(it) {
      const h = this.current;
      if (!h || h.state !== 'open' || !this.widget.online()) return;
      h.sent = (h.sent || 0) + 1;
      it.id = 'c' + Date.now().toString(36) + h.sent;
      it.st = 'sending';
      it.why = '';
      it.node.setAttribute('data-id', it.id);
      this.widget.send({ mt: 'ChatSend', id: it.id, text: it.text });
      this.markItem(it);
      this.keep();
      focus(this.input);
    }
  }
