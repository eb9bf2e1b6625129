  // The launcher (joined into frontdesk.js by the gateway; see
  // widget/assets.go).

  // Launcher is what shows while the panel is closed: a round button with
  // the unread badge and a greeting bubble (the widget's teasers) while
  // nothing runs; a pill with the call's state and time, or the chat's
  // agent, while something does, with a hang-up button beside it during a
  // call. Business cards show it only during a call or chat.
  class Launcher {
    constructor(widget) {
      this.widget = widget;
      this.teasers = [];
      this.teaserAt = 0;
      this.greetingHidden = !!storage.load('greeted:' + widget.id);
      const update = () => this.update();
      ['team', 'conversation', 'unread', 'tick'].forEach((s) => widget.signals.on(s, update));
      widget.signals.on('texts', () => this.texts());
    }

    build() {
      const w = this.widget;
      const tab = (this.tab = el('button', 'tab'));
      tab.type = 'button';
      tab.setAttribute('aria-expanded', 'false');
      tab.setAttribute('aria-controls', 'panel');
      tab.addEventListener('click', () => w.panel.expand(true));
      this.badge = el('span', 'badge');
      this.badgeCount = el('span');
      this.badgeCount.setAttribute('aria-hidden', 'true');
      this.badgeWords = el('span', 'sr');
      this.badge.append(this.badgeCount, this.badgeWords);
      this.badge.hidden = true;
      const words = el('span', 'tx');
      words.append((this.label = el('span', 'tl')));
      this.icon = icon('chat');
      this.dot = el('span', 'dot');
      tab.append(this.icon, this.dot, words, this.badge);

      // The greeting bubble opens the panel too; its own button hides it
      // for the rest of the visit.
      const greeting = (this.greeting = el('div', 'greet'));
      this.teaser = button('teaser', null, () => w.panel.expand(true));
      this.hideButton = button('greetx', 'close', () => this.hideGreeting());
      this.hideButton.lbl.remove();
      w.label(this.hideButton, 'hideGreeting', 'aria-label');
      w.label(this.hideButton, 'hideGreeting', 'title');
      greeting.append(this.teaser, this.hideButton);

      this.hangupButton = button('tabend', 'phone', () => { if (w.calls) w.calls.hangup(); });
      w.label(this.hangupButton, 'hangup', 'aria-label');
      w.label(this.hangupButton, 'hangup', 'title');
      this.hangupButton.lbl.remove();
      this.hangupButton.hidden = true;
      this.bar = el('div', 'bar');
      this.place('right');
      return this.bar;
    }

    // place orders the bar for its side, so that the focus moves the way
    // the eye does: the launcher first at the left edge, last at the right.
    place(side) {
      if (side === 'left') this.bar.append(this.tab, this.hangupButton, this.greeting);
      else this.bar.append(this.greeting, this.hangupButton, this.tab);
    }

    setExpanded(open) {
      this.tab.setAttribute('aria-expanded', String(open));
    }

    focus() {
      focus(this.tab);
    }

    hideGreeting() {
      const refocus = this.widget.shadow.activeElement;
      this.greetingHidden = true;
      storage.save('greeted:' + this.widget.id, 1);
      this.update();
      if (refocus) this.focus();
    }

    texts() {
      const s = this.widget.session;
      this.teasers = (s && Array.isArray(s.teasers) ? s.teasers : []).filter((x) => typeof x === 'string' && x);
      this.teaserAt = 0;
      clearInterval(this.teaserTimer);
      setText(this.teaser.lbl, this.teasers[0] || '');
      if (this.teasers.length > 1) {
        this.teaserTimer = setInterval(() => {
          this.teaserAt = (this.teaserAt + 1) % this.teasers.length;
          setText(this.teaser.lbl, this.teasers[this.teaserAt]);
        }, 8000);
      }
      this.update();
    }

    stop() {
      clearInterval(this.teaserTimer);
    }

    // update labels the launcher: the widget, or the conversation running.
    update() {
      const w = this.widget;
      if (!w.session || !this.tab) return;
      const c = w.call;
      const h = w.chat;
      const calling = w.calling();
      const anyone = w.team.anyAvailable();
      let text = w.t('contactUs');
      if (calling) {
        text = w.t(c.state === 'connected' ? 'connected' : c.state === 'held' ? 'onHold' : c.state === 'ringing' ? 'ringing' : c.state === 'transferring' ? 'transferring' : 'connecting');
        if (c.t0) text += ' · ' + clock(Date.now() - c.t0);
      } else if (h && h.state !== 'ended') {
        text = w.t('chat') + (h.dn ? ': ' + h.dn : '');
      } else if (!anyone && w.session.leaveMessage) {
        text = w.t('leaveMessage');
      }
      setText(this.label, text);
      // The teasers promise someone is there: only while someone is.
      this.greeting.hidden = w.type !== 'sidebar' || w.active() || !anyone || !this.teaser.lbl.textContent || this.greetingHidden;
      this.tab.classList.toggle('round', w.type === 'sidebar' && !w.active());
      // The dot says someone is there: on the round launcher only.
      this.dot.hidden = !anyone || w.active();
      this.hangupButton.hidden = !calling || !c.sent;
      setIcon(this.tab, calling ? 'phone' : 'chat');
      const n = w.unread;
      this.badge.hidden = !n;
      setText(this.badgeCount, n ? String(n) : '');
      setText(this.badgeWords, n ? ', ' + n + ' ' + w.t('unread') : '');
      w.mark('unread', String(n));
    }
  }
