  // The home view (joined into frontdesk.js by the gateway; see
  // widget/assets.go).

  // HomeView is what the panel shows first: "Contact us now" (a sidebar),
  // the call window's one button, "Leave a message" while nobody is
  // available, the agents' cards and the company's contacts.
  class HomeView {
    constructor(widget) {
      this.widget = widget;
      widget.signals.on('texts', () => this.texts());
      widget.signals.on('connection', () => this.update());
    }

    build() {
      const w = this.widget;
      const home = (this.el = el('div', 'home'));
      this.contactButton = this.popCallButton = this.empty = this.foot = null;
      if (w.type !== 'cards') {
        this.empty = el('p', 'empty');
        if (w.type === 'sidebar') {
          const cta = (this.contactButton = button('btn pri cta', 'chat', () => w.contact()));
          cta.why = el('span', 'sr');
          cta.append(cta.why);
          w.label(cta.lbl, 'contactNow');
          w.warmCallOn(cta);
          home.append(cta);
        }
        const pop = w.popout;
        if (w.type === 'pop' && pop && pop.call) {
          const b = (this.popCallButton = button('btn pri cta', pop.call === 'video' ? 'video' : 'phone', (e) => {
            if (!off(e.currentTarget)) w.startCall(pop.agent, pop.call === 'video', e.currentTarget);
          }));
          b.setAttribute('data-action', 'pop-call');
          b.why = el('span', 'sr');
          b.append(b.why);
          home.append(b);
        }
      }
      this.leaveButton = button('btn pri', 'mail', (e) => { if (!off(e.currentTarget)) w.leave.show(e.currentTarget); });
      w.label(this.leaveButton.lbl, 'leaveMessage');
      this.offer = el('div', 'offer');
      this.offer.append(this.leaveButton);
      if (w.type === 'cards') {
        // Business cards: the cards stay in the page; the panel is for
        // calls and chats.
        this.list = el('div', 'grid');
        return home;
      }
      this.list = el('div', 'list');
      this.foot = el('div', 'foot');
      home.append(this.empty, this.offer, this.list, this.foot);
      return home;
    }

    focusTarget() {
      const b = this.contactButton;
      return b && !off(b) ? b : null;
    }

    texts() {
      const w = this.widget;
      this.update();
      if (!this.foot) return;
      const c = w.session.company || {};
      const f = this.foot;
      f.textContent = '';
      if (c.company) f.append(el('span', null, c.company));
      if (c.address) f.append(el('span', null, c.address));
      if (c.phone) f.append(anchor(telURL(c.phone), c.phone));
      if (c.email) f.append(anchor('mailto:' + c.email, c.email));
      const web = c.web && safeURL(c.web);
      if (web) f.append(anchor(web, c.web.replace(/^https?:\/\//i, '').replace(/\/$/, ''), null, null, null, true));
    }

    // nobodyText says why nobody can be reached: closed (and when the
    // widget opens again), else nobody available.
    nobodyText() {
      const w = this.widget;
      const m = w.session;
      if (!m.closed) return w.t('nobodyAvailable');
      const when = m.opens ? whenOf(m.opens, m.lang) : '';
      return w.t('closedNow') + (when ? ' ' + fill(w.t('opensAt'), { time: when }) : '');
    }

    // update follows availability and the connection: "leave a message"
    // only while nobody is available, the buttons with their reasons.
    update() {
      const w = this.widget;
      if (!w.session || !this.el) return;
      const online = w.team.anyAvailable();
      this.offer.hidden = online || !w.session.leaveMessage || w.type === 'pop';
      disable(this.leaveButton, w.online() ? '' : w.t('reconnecting'));
      const nobody = this.nobodyText();
      if (this.empty) {
        this.empty.hidden = online;
        setText(this.empty, nobody);
      }
      if (this.contactButton) {
        // With nobody there, leaving a message is the way (no dead button);
        // while reconnecting it waits, disabled with the reason.
        this.contactButton.hidden = w.online() && !online && !!w.session.leaveMessage;
        disable(this.contactButton, !w.online() ? w.t('reconnecting') : online ? '' : nobody);
        // The icon says what the button does: a call or a chat.
        setIcon(this.contactButton, w.contactWay() === 'chat' ? 'chat' : 'phone');
      }
      const b = this.popCallButton;
      if (b) {
        const pop = w.popout;
        const a = w.team.get(pop.agent);
        setText(b.lbl, fill(w.t(pop.call === 'video' ? 'videoCallAgent' : 'callAgent'), { name: agentName(a) }));
        disable(b, a ? w.reasonText(a, pop.call === 'video' ? 'video' : 'voice') : w.t('unavailableReason'));
        b.hidden = !a || !w.ready;
      }
    }
  }
