  // Chat and leave-a-message (joined into frontdesk.js by the gateway; see widget/assets.go).

  // ChatDelivery reasons and the words for them; after those in NO_RETRY
  // sending again cannot help.
  const FAIL_WHY = { offline: 'whyOffline', rejected: 'whyRejected', timeout: 'whyTimeout', 'too-long': 'whyTooLong',
    'rate-limited': 'whyRateLimited', ended: 'whyEnded', moved: 'chatMoved' };
  const NO_RETRY = ['too-long', 'empty', 'ended', 'moved'];
  Object.assign(Widget.prototype, {
    // --- chat ---

    setChat(state) {
      const h = this.chat;
      h.state = state;
      this.mark('chat', state);
      this.chatUI();
      this.tabText();
      this.head();
      this.keep();
      updateGuard();
      emit('chat', { widget: this.id, agent: h.agent, state, reason: h.reason || '' });
    },

    // keep stores the chat for a page reload, or forgets it once it ended.
    keep() {
      const h = this.chat;
      if (!h || !h.token || h.state === 'ended') {
        save('chat:' + this.id, null);
        return;
      }
      save('chat:' + this.id, { agent: h.agent, dn: h.dn, token: h.token, last: h.last || 0, items: h.items.slice(-200), exp: this.opened });
    },

    async openChat(id, text, from) {
      const h = this.chat;
      if (h && h.state !== 'ended') {
        if (text && !this.chatIn.value) this.chatIn.value = String(text);
        this.open('chat', from);
        return;
      }
      const a = this.agents.get(id);
      if (!a || this.reason(a.info, 'chat')) return;
      sound();
      const dn = await this.askName(from);
      if (dn == null || (this.chat && this.chat.state !== 'ended')) return;
      this.chat = { agent: id, dn: a.info.dn || id, items: [], state: '' };
      this.log.textContent = '';
      this.chatAlts.textContent = '';
      this.chatIn.value = text ? String(text) : '';
      this.open('chat', from);
      this.setChat('opening');
      if (!this.online()) {
        this.endChat('failed');
        return;
      }
      this.pending = 'chat';
      this.send({ mt: 'ChatOpen', dest: id, dn });
    },

    chatOpened(m) {
      const h = this.chat;
      if (!h || h.state === 'ended') return;
      if (this.pending === 'chat') this.pending = '';
      h.token = String(m.token || h.token || '');
      if (m.dest) h.agent = String(m.dest);
      const a = this.agents.get(h.agent);
      if (a) h.dn = a.info.dn || h.agent;
      this.setChat('open');
      if (!m.resumed) return;
      // The resume confirmed what this tab has shown; texts whose result
      // never came are sent again (the gateway ignores an id it has seen).
      h.acked = h.last;
      h.items.forEach((it) => {
        if (it.me && it.st === 'sending') this.send({ mt: 'ChatSend', id: it.id, text: it.text });
      });
    },

    // numbered reports whether the chat event m is new: a number shown
    // before (a replay after a reconnect) is dropped. New numbers are
    // confirmed with ChatAck about a second later, together.
    numbered(m) {
      const h = this.chat;
      const n = Number(m.seq) || 0;
      if (!n) return true;
      if (n <= (h.last || 0)) return false;
      h.last = n;
      if (!this.ackTimer) this.ackTimer = setTimeout(() => this.ack(), 1000);
      return true;
    },

    ack() {
      clearTimeout(this.ackTimer);
      this.ackTimer = 0;
      const h = this.chat;
      if (h && h.state === 'open' && h.last > (h.acked || 0) && this.online()) {
        h.acked = h.last;
        this.send({ mt: 'ChatAck', seq: h.last });
      }
    },

    chatSend() {
      const h = this.chat;
      const text = this.chatIn.value.trim();
      if (!h || h.state !== 'open' || !text) return;
      sound();
      h.n = (h.n || 0) + 1;
      const it = { id: 'c' + Date.now().toString(36) + h.n, me: 1, text, time: new Date().toISOString(), st: 'sending' };
      h.items.push(it);
      this.chatIn.value = '';
      this.typingOut(true);
      this.add(it);
      if (this.online()) this.send({ mt: 'ChatSend', id: it.id, text });
      else it.st = 'failed';
      this.markItem(it);
      this.keep();
    },

    delivery(m) {
      const h = this.chat;
      if (!h || !this.numbered(m)) return;
      const it = h.items.find((x) => x.me && x.id === m.id);
      if (!it) return;
      it.st = m.state === 'delivered' ? 'delivered' : 'failed';
      it.why = m.reason || '';
      this.markItem(it);
      this.keep();
    },

    chatMessage(m) {
      const h = this.chat;
      if (!h || h.state === 'ended' || typeof m.text !== 'string' || !this.numbered(m)) return;
      const id = String(m.id || '');
      if (id && h.items.some((x) => !x.me && x.id === id)) return;
      const it = { id, text: m.text, time: typeof m.time === 'string' ? m.time : new Date().toISOString() };
      h.items.push(it);
      this.typing(false);
      this.add(it);
      this.keep();
      if (!this.seeing()) {
        this.unread++;
        chime();
        this.tabText();
      }
      emit('message', { widget: this.id, agent: h.agent, id, text: m.text, time: it.time });
    },

    seeing() {
      return this.opened && this.view === 'chat' && doc.visibilityState !== 'hidden';
    },

    seen() {
      if (!this.unread) return;
      this.unread = 0;
      this.tabText();
    },

    typing(on) {
      const h = this.chat;
      clearTimeout(this.typTimer);
      this.typ.hidden = !on || !h;
      if (!on || !h) return;
      setText(this.typ, (h.dn || '') + ' ' + this.t('typing'));
      this.typTimer = setTimeout(() => { this.typ.hidden = true; }, 15000);
    },

    // typingOut tells the agent the visitor types (at most every 3 s), and
    // that they stopped after 4 s without input or on sending.
    typingOut(stop) {
      const h = this.chat;
      if (!h || h.state !== 'open') return;
      clearTimeout(this.typOut);
      if (stop) {
        if (this.typSent) this.send({ mt: 'ChatTyping', active: false });
        this.typSent = 0;
        return;
      }
      const now = Date.now();
      if (!this.typSent || now - this.typSent > 3000) {
        this.typSent = now;
        this.send({ mt: 'ChatTyping', active: true });
      }
      this.typOut = setTimeout(() => this.typingOut(true), 4000);
    },

    // endChat shows why the chat ended; text overrides the reason's words.
    endChat(reason, text) {
      const h = this.chat;
      if (!h || h.state === 'ended') return;
      h.reason = reason;
      if (this.pending === 'chat') this.pending = '';
      this.typing(false);
      clearTimeout(this.typOut);
      this.typSent = 0;
      const key = { 'agent-busy': 'agentBusy', 'agent-unavailable': 'unavailableReason', failed: 'error', moved: 'chatMoved',
        expired: 'chatLost', 'shutting-down': 'chatRestarted' }[reason] || 'chatEnded';
      if (reason === 'agent-busy') {
        // The agent is in another chat: the card says so for a minute, and
        // the chat button explains instead of failing again.
        const a = this.agents.get(h.agent);
        if (a) {
          a.chatBusy = Date.now() + 60000;
          clearTimeout(a.chatBusyTimer);
          a.chatBusyTimer = setTimeout(() => this.render(a), 60000);
          this.render(a);
        }
      }
      const p = el('p', 'sys', text || this.t(key));
      this.log.append(p);
      this.log.scrollTop = this.log.scrollHeight;
      this.mark('chat-reason', reason);
      h.offerFor = reason === 'ended-by-visitor' || reason === 'moved' ? '' : h.agent;
      this.alternatives(this.chatAlts, h.offerFor, 'chat');
      this.setChat('ended');
      if (this.view === 'chat' && this.shadow.activeElement) focus(reason === 'moved' ? this.hereBtn : this.chatDone);
    },

    // continueHere takes a chat that went on in another tab back to this one.
    continueHere() {
      const h = this.chat;
      if (!h || h.reason !== 'moved' || !this.online()) return;
      h.reason = '';
      this.setChat('resuming');
      this.pending = 'chat';
      this.send({ mt: 'ChatResume', token: h.token, seq: h.last || 0 });
    },

    endChatByVisitor() {
      const h = this.chat;
      if (!h || h.state === 'ended') return;
      this.ack();
      if (h.state === 'open' || h.state === 'resuming') this.send({ mt: 'ChatClose' });
      this.endChat('ended-by-visitor');
    },

    chatUI() {
      const h = this.chat;
      if (!h) return;
      const open = h.state === 'open';
      this.chatForm.hidden = h.state === 'ended';
      this.chatIn.disabled = !open && h.state !== 'opening' && h.state !== 'resuming';
      this.chatIn.setAttribute('aria-busy', String(!open));
      this.endChatBtn.hidden = h.state === 'ended';
      this.chatDone.hidden = h.state !== 'ended';
      this.hereBtn.hidden = h.state !== 'ended' || h.reason !== 'moved';
    },

    // thread renders the stored conversation without announcing it: only
    // messages that arrive later are read out by the live log.
    thread() {
      const log = this.log;
      log.setAttribute('aria-live', 'off');
      log.textContent = '';
      this.chat.items.forEach((it) => this.add(it));
      setTimeout(() => log.setAttribute('aria-live', 'polite'), 0);
      this.chatUI();
    },

    add(it) {
      const h = this.chat;
      const n = el('div', 'msg ' + (it.me ? 'me' : 'them'));
      n.setAttribute('data-id', it.id);
      const b = el('p', 'bub');
      const words = el('span', 'txt');
      words.append(...linkify(it.text));
      b.append(el('span', 'sr', (it.me ? this.t('you') : h.dn) + ': '), words);
      const meta = el('p', 'meta');
      const tm = el('time', null, timeOf(it.time, this.s && this.s.lang));
      tm.dateTime = it.time;
      meta.append(tm);
      if (it.me) {
        n.st = el('span');
        n.retry = button('lnkb', 'retry', () => this.resend(it), this.t('retry'));
        meta.append(n.st, n.retry);
      }
      n.append(b, meta);
      it.node = n;
      Object.defineProperty(it, 'node', { enumerable: false });
      this.log.append(n);
      this.markItem(it);
      this.log.scrollTop = this.log.scrollHeight;
    },

    markItem(it) {
      const n = it.node;
      if (!n || !n.st) return;
      const failed = it.st === 'failed';
      n.classList.toggle('fail', failed);
      n.setAttribute('data-state', it.st || '');
      // A text that did not arrive says why, and can be sent again when
      // that may help.
      const why = failed ? this.t(FAIL_WHY[it.why] || 'whyFailed') : '';
      setText(n.st, ' · ' + this.t(it.st === 'delivered' ? 'delivered' : failed ? 'notDelivered' : 'sending') + (why ? ': ' + why : ''));
      const h = this.chat;
      n.retry.hidden = !failed || NO_RETRY.indexOf(it.why) >= 0 || !h || h.state !== 'open';
    },

    // resend sends a text that was not delivered again, as a new message.
    resend(it) {
      const h = this.chat;
      if (!h || h.state !== 'open' || !this.online()) return;
      h.n = (h.n || 0) + 1;
      it.id = 'c' + Date.now().toString(36) + h.n;
      it.st = 'sending';
      it.why = '';
      it.node.setAttribute('data-id', it.id);
      this.send({ mt: 'ChatSend', id: it.id, text: it.text });
      this.markItem(it);
      this.keep();
      focus(this.chatIn);
    },

    // --- leave a message ---

    showLeave(from) {
      if (this.active() || !this.s) return;
      this.lvFields.hidden = this.lvSend.parentNode.hidden = false;
      this.lvClose.hidden = true;
      this.lvSend.disabled = false;
      setText(this.lvStatus, '');
      if (!this.lvName.value) this.lvName.value = (this.s && this.s.callerName) || this.visitor || load('name') || '';
      this.open('leave', from);
    },

    leaveSend() {
      const f = [this.lvName, this.lvContact, this.lvText];
      let bad = null;
      f.forEach((x) => {
        const empty = !x.value.trim();
        if (empty) x.setAttribute('aria-invalid', 'true');
        else x.removeAttribute('aria-invalid');
        if (empty && !bad) bad = x;
      });
      if (bad) {
        focus(bad);
        return;
      }
      if (!this.online()) {
        setText(this.lvStatus, this.t('messageFailed'));
        return;
      }
      const name = this.lvName.value.trim();
      this.visitor = this.visitor || name;
      save('name', this.visitor);
      this.lvId = 'l' + ++this.n;
      this.lvSend.disabled = true;
      setText(this.lvStatus, this.t('sending'));
      this.pending = 'leave';
      this.send({ mt: 'LeaveMessage', id: this.lvId, name, contact: this.lvContact.value.trim(), text: this.lvText.value.trim() });
    },

    // left shows a left message's fate; text overrides the words.
    left(m, text) {
      if (m.id && m.id !== this.lvId) return;
      if (this.pending === 'leave') this.pending = '';
      this.lvSend.disabled = false;
      const ok = m.ok === true;
      const bad = { 'bad-contact': this.lvContact, empty: this.lvText, 'too-long': this.lvText }[m.reason];
      setText(this.lvStatus, text || this.t(ok ? 'messageSent' : m.reason === 'bad-contact' ? 'badContact' : m.reason === 'too-long' ? 'whyTooLong' : 'messageFailed'));
      if (!ok) {
        // The field at fault is marked and focused, so it can be fixed.
        if (bad) {
          bad.setAttribute('aria-invalid', 'true');
          focus(bad);
        }
        return;
      }
      this.lvText.value = '';
      this.lvFields.hidden = this.lvSend.parentNode.hidden = true;
      this.lvClose.hidden = false;
      if (this.shadow.activeElement) focus(this.lvClose);
    },
  });
