/* Frontdesk contact widget: the wait part (waiting in line for a busy
   agent). The gateway serves it as /frontdesk-wait.js; frontdesk.js loads
   it when the visitor first waits (loadPart) and gives it its helpers. */
(() => {
  'use strict';

  const frontdesk = window.Frontdesk;
  if (!frontdesk || typeof frontdesk.definePart !== 'function') return;
  const src = document.currentScript && document.currentScript.src;

  frontdesk.definePart((shared) => {
    const { el, button, setText, fill, focus, chime, showFace, agentName, has, canCall, emit } = shared;

    // Why a wait ended, and its words (cancelled: the visitor left).
    const ENDED = { timeout: 'waitTimeout', missed: 'waitMissed', unavailable: 'waitUnavailable', lost: 'waitLost', full: 'waitFull', failed: 'error' };

    // WaitPart is the wait view and the wait it shows: the visitor's place
    // in the agent's line, live; when the agent is free, the call or chat
    // starts at once, or after the visitor confirms when they waited long;
    // a wait that ends without a turn offers the ways on. One wait at a
    // time; widget.waiting is its current one.
    class WaitPart {
      constructor(widget) {
        this.widget = widget;
        this.current = null; // {agent, medium, state: joining|waiting|ready|ended, position, hold, confirm, reason}
        // turn is the agent whose turn this visitor has (held for them by
        // the gateway) while the call or chat starts.
        this.turn = '';
      }

      build() {
        const v = el('div', 'view callv waitv');
        this.who = el('div', 'who');
        this.face = el('span', 'pic big');
        this.face.setAttribute('aria-hidden', 'true');
        this.name = el('p', 'nm');
        this.who.append(this.face, this.name);
        this.status = el('p', 'cst');
        this.status.setAttribute('role', 'status');
        this.note = el('p', 'note');
        this.actions = el('div', 'alts');
        v.append(this.who, this.status, this.note, this.actions);
        return v;
      }

      focusTarget() {
        return this.actions.querySelector('button');
      }

      // start joins agent id's line for medium ('' picks: a call when the
      // agent takes one and the browser can call, else a chat), once the
      // visitor said their name.
      async start(id, medium, from) {
        const w = this.widget;
        const a = w.team.get(id);
        const c = this.current;
        if (c && c.state !== 'ended') {
          w.panel.open('wait', from);
          return;
        }
        if (!a || !w.session || !w.session.queue) return;
        if (!medium) medium = (has(a.info, 'voice') || has(a.info, 'video')) && canCall() ? 'voice' : has(a.info, 'chat') ? 'chat' : '';
        if (!medium) return;
        const dn = await w.nameForm.ask(from);
        if (dn == null || (this.current && this.current.state !== 'ended')) return;
        this.current = { agent: id, medium, state: 'joining', position: 0 };
        this.update();
        w.panel.open('wait', from);
        if (!w.online()) {
          this.end('lost');
          return;
        }
        w.pending = 'wait';
        w.send({ mt: 'Wait', dest: id, medium });
      }

      // receive takes WaitInfo and WaitEnded.
      receive(m) {
        const w = this.widget;
        const c = this.current;
        if (!c || c.state === 'ended' || m.dest !== c.agent) return;
        if (w.pending === 'wait') w.pending = '';
        if (m.mt === 'WaitInfo') {
          c.state = 'waiting';
          c.position = Math.max(1, +m.position || 1);
          this.update();
          return;
        }
        if (m.reason !== 'ready') {
          this.end(m.reason);
          return;
        }
        c.state = 'ready';
        c.hold = +m.hold || 30;
        this.turn = c.agent;
        clearTimeout(this.turnTimer);
        this.turnTimer = setTimeout(() => { this.turn = ''; }, c.hold * 1000);
        if (!m.confirm) {
          this.go();
          return;
        }
        // A long wait: the visitor may have walked away, so ask first.
        chime();
        this.update();
        if (w.panel.view === 'wait') focus(this.focusTarget());
      }

      // go starts the call or chat the visitor waited for.
      go() {
        const w = this.widget;
        const c = this.current;
        if (!c || c.state !== 'ready') return;
        this.clear();
        if (c.medium === 'chat') w.chats.openChat(c.agent);
        else w.startCall(c.agent, c.medium === 'video');
      }

      // leave takes the visitor out of the line and back home.
      leave() {
        const w = this.widget;
        const c = this.current;
        if (c && c.state !== 'ended') w.send({ mt: 'WaitCancel' });
        this.clear();
        w.home();
      }

      // refused ends a wait the gateway refused with Error code.
      refused(code) {
        this.end(code === 'queue-full' ? 'full' : code === 'agent-unavailable' ? 'unavailable' : 'failed');
      }

      // connectionLost: the gateway forgets the wait with its connection.
      connectionLost() {
        const c = this.current;
        if (c && c.state !== 'ended') this.end('lost');
      }

      end(reason) {
        const w = this.widget;
        const c = this.current;
        if (!c || c.state === 'ended') return;
        c.state = 'ended';
        c.reason = reason;
        this.turn = '';
        this.update();
        if (w.panel.view === 'wait' && w.shadow.activeElement) focus(this.focusTarget());
      }

      // clear forgets the wait (the visitor left its view, or its call or
      // chat started).
      clear() {
        this.current = null;
        this.widget.mark('wait', 'idle');
        this.widget.signals.emit('conversation');
      }

      update() {
        const w = this.widget;
        const c = this.current;
        if (!c || !this.status || !w.session) return;
        const a = w.team.get(c.agent);
        const name = a ? agentName(a) : '';
        showFace(this.face, name, a ? a.url : '');
        setText(this.name, name);
        this.who.className = 'who ' + (c.state === 'ended' ? 'ended' : c.state === 'ready' ? '' : 'connecting');
        const text = c.state === 'ended' ? w.t(ENDED[c.reason] || 'error')
          : c.state === 'ready' ? w.t('waitReady')
            : c.position > 1 ? w.t('waitPlace') : c.position === 1 ? w.t('waitNext') : w.t('connecting');
        setText(this.status, fill(text, { name, n: c.position }));
        const q = w.session.queue || {};
        setText(this.note, c.state === 'ready' ? fill(w.t('waitHeld'), { name, seconds: c.hold })
          : c.state === 'ended' ? '' : fill(w.t('waitKept'), { minutes: Math.max(1, Math.round((+q.maxWait || 600) / 60)) }));
        const out = [];
        const add = (ic, key, fn) => out.push(button('btn', ic, fn, fill(w.t(key), { name })));
        if (c.state === 'ready') add(c.medium === 'chat' ? 'chat' : 'phone', c.medium === 'chat' ? 'chatNow' : 'callNow', () => this.go());
        if (c.state !== 'ended') add('close', 'leaveLine', () => this.leave());
        else {
          const again = () => {
            const agent = c.agent;
            this.clear();
            this.start(agent, c.medium);
          };
          const leave = () => {
            this.clear();
            w.home();
            w.leave.show();
          };
          if (c.reason !== 'unavailable' && c.reason !== 'timeout') add('retry', 'waitAgain', again);
          if (w.session.leaveMessage) add('mail', 'leaveMessage', leave);
          if (c.reason === 'timeout' || c.reason === 'full') add('retry', 'waitAgain', again);
          add(null, 'dismiss', () => {
            this.clear();
            w.home();
          });
        }
        out[0].classList.add('pri');
        // Unchanged actions stay (and keep the focus); those after an end
        // hold the wait they end.
        const sig = c.agent + '|' + (c.state === 'ended' ? c.reason : '') + '|' + out.map((b) => b.lbl.textContent).join('|');
        if (sig !== this.actions.sig) {
          this.actions.sig = sig;
          this.actions.textContent = '';
          this.actions.append(...out);
        }
        w.mark('wait', c.state);
        w.mark('wait-reason', c.reason || '');
        w.signals.emit('conversation');
        emit('wait', { widget: w.id, agent: c.agent, state: c.state, position: c.position || 0, reason: c.reason || '' });
      }
    }

    return WaitPart;
  }, src);
})();
