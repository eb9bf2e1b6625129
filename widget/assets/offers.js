  // The ways on after a failure (joined into frontdesk.js by the gateway;
  // see widget/assets.go).

  // WaysOn offers other ways to reach someone after a call or chat did not
  // work: the same again, another available agent, a chat instead of a
  // call, a message. While the connection is lost they stay in view,
  // disabled with the reason, and come back to life with it.
  class WaysOn {
    constructor(widget) {
      this.widget = widget;
    }

    // fill fills box after a failed call or chat (failed: 'call' or
    // 'chat') with agent id; id '' empties it. After a lost call (lost)
    // the same again is "Call again".
    fill(box, id, failed, video, lost) {
      const w = this.widget;
      const a = id && w.team.get(id);
      if (!a || !w.session || w.type === 'pop') {
        box.textContent = '';
        box.sig = '';
        return;
      }
      // Reachable but for the connection, which the offers wait for.
      const can = (x, m) => x && has(x.info, m) && w.blocker(x, m, true) === '';
      const again = (fn) => (e) => {
        if (off(e.currentTarget)) return;
        w.home();
        fn();
      };
      const out = [];
      const other = (m) => w.team.sorted().find((x) => x !== a && can(x, m) && w.cards.cards.has(x.id) && !w.cards.cards.get(x.id).el.hidden);
      const offer = (ic, text, fn) => out.push(button('btn', ic, again(fn), text));
      const callable = canCall();
      // The agent is busy: waiting in line for them comes first.
      const ended = failed === 'call' ? w.call : w.chat;
      const reason = ended ? ended.reason : '';
      if (w.session.queue && (a.info.presence === 'busy' || ['busy', 'too-many-calls', 'agent-busy'].indexOf(reason) >= 0)) {
        offer('clock', fill(w.t('waitFor'), { name: agentName(a) }), () => w.waitFor(id, failed === 'call' ? (video ? 'video' : 'voice') : 'chat'));
      }
      if (failed === 'call') {
        if (can(a, 'voice') && callable) offer('retry', w.t(lost ? 'callAgain' : 'tryAgain'), () => w.startCall(id, !!video));
        if (can(a, 'chat')) offer('chat', fill(w.t('chatWith'), { name: agentName(a) }), () => w.chats.openChat(id));
        const b = callable && other('voice');
        if (b) offer('phone', fill(w.t('callAgent'), { name: agentName(b) }), () => w.startCall(b.id, false));
      } else {
        if (can(a, 'chat')) offer('chat', w.t('newChat'), () => w.chats.openChat(id));
        const b = other('chat');
        if (b) offer('chat', fill(w.t('chatWith'), { name: agentName(b) }), () => w.chats.openChat(b.id));
        if (can(a, 'voice') && callable) offer('phone', fill(w.t('callAgent'), { name: agentName(a) }), () => w.startCall(id, false));
      }
      if (w.session.leaveMessage) offer('mail', w.t('leaveMessage'), () => w.leave.show());
      // The first way on is the one to take.
      if (out[0]) out[0].classList.add('pri');
      const why = w.online() ? '' : w.t('reconnecting');
      out.forEach((b) => {
        b.why = el('span', 'sr');
        b.append(b.why);
        disable(b, why);
      });
      // Unchanged offers stay as they are (and keep the focus).
      const sig = out.map((b) => b.lbl.textContent).join('|') + '|' + why;
      if (sig === box.sig && box.childElementCount) return;
      box.sig = sig;
      box.textContent = '';
      box.append(...out);
    }
  }
