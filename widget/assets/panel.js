  // The panel (joined into frontdesk.js by the gateway; see
  // widget/assets.go).

  // Panel is the dialog a visitor opens: a head (back, the agent or the
  // widget's title, close; on the home view the team's pictures and the
  // expected-reply line), a quiet banner while the connection is lost, and
  // one view at a time: home, name, call, chat or leave. It moves the focus
  // where each view starts and back to the launcher when it closes.
  class Panel {
    constructor(widget) {
      this.widget = widget;
      this.view = 'home';
      this.opened = false;
      this.views = {}; // name → {el, part}
      widget.signals.on('conversation', () => this.updateHead());
      widget.signals.on('texts', () => this.updateHead());
      widget.signals.on('team', () => this.updateTeam());
      widget.signals.on('connection', () => this.updateBanner());
    }

    build() {
      const w = this.widget;
      const panel = (this.el = el('div', 'panel'));
      panel.id = 'panel';
      panel.setAttribute('role', 'dialog');
      panel.setAttribute('aria-labelledby', 'title');
      const head = (this.head = el('div', 'head'));
      const top = el('div', 'top');
      this.backButton = w.label(button('x back', 'back', () => w.home()), 'back', 'aria-label');
      this.backButton.lbl.remove();
      this.face = el('span', 'av');
      this.face.setAttribute('aria-hidden', 'true');
      this.title = el('h2');
      this.title.id = 'title';
      this.closeButton = button('x shut', 'close', () => this.dismiss(false));
      this.closeButton.lbl.remove();
      top.append(this.backButton, this.face, this.title, this.closeButton);
      // The team: pictures of who is available now, and when an answer can
      // be expected.
      this.team = el('div', 'team');
      this.faces = el('div', 'faces');
      this.faces.setAttribute('aria-hidden', 'true');
      this.replyLine = el('p', 'reply');
      this.team.append(this.faces, this.replyLine);
      head.append(top, this.team);

      // While the connection is lost: what happens, and a button that does
      // not wait for the next attempt.
      this.banner = el('div', 'lost');
      this.banner.setAttribute('role', 'status');
      const words = w.label(el('span'), 'reconnecting');
      this.retryButton = button('lnkb', 'retry', () => w.connection.retryNow());
      w.label(this.retryButton.lbl, 'tryAgain');
      this.banner.append(words, this.retryButton);
      this.banner.hidden = true;

      this.stage = el('div', 'stage');
      this.announcer = el('div', 'sr');
      this.announcer.setAttribute('aria-live', 'polite');
      panel.append(head, this.banner, w.homeView.build(), this.stage, this.announcer);
      panel.addEventListener('keydown', (e) => {
        if (e.key === 'Escape' && this.opened) {
          e.stopPropagation();
          this.dismiss(true);
        }
      });
      return panel;
    }

    // addView puts a view (a part's element) on the stage; part.focusTarget()
    // says where the focus goes when it shows.
    addView(name, node, part) {
      const old = this.views[name];
      if (old) old.el.remove();
      this.views[name] = { el: node, part };
      node.hidden = name !== this.view;
      this.stage.append(node);
    }

    announce(text) {
      setText(this.announcer, text);
    }

    // show switches to view.
    show(view) {
      const w = this.widget;
      this.view = view;
      w.homeView.el.hidden = view !== 'home';
      this.stage.hidden = view === 'home';
      Object.keys(this.views).forEach((k) => { this.views[k].el.hidden = k !== view; });
      w.root.classList.toggle('conv', view !== 'home');
      w.mark('view', view);
      this.updateHead();
      w.refresh();
    }

    // updateHead sets the title and buttons for the view: the agent of a
    // call or chat (with their picture), else the widget.
    updateHead() {
      const w = this.widget;
      if (!w.session || !this.title) return;
      const view = this.view;
      const conv = view === 'call' || view === 'chat' || view === 'wait';
      const c = view === 'call' ? w.call : view === 'chat' ? w.chat : view === 'wait' ? w.waiting : null;
      // After a transfer the call is with whom the gateway named, if anyone.
      const a = c && !c.transferred && w.team.get(c.agent);
      const name = c && c.transferred ? c.party : a ? agentName(a) : (c && c.dn && view === 'chat' ? c.dn : '');
      setText(this.title, conv ? name : view === 'leave' ? w.t('leaveMessage') : w.type === 'pop' ? w.session.name || w.t('title') : w.t('title'));
      this.face.hidden = !conv || !name;
      if (conv && name) showFace(this.face, name, a ? a.url : '');
      this.team.hidden = view !== 'home' || this.team.empty;
      this.head.classList.toggle('hero', view === 'home' && !this.team.hidden);
      this.backButton.hidden = w.type === 'cards' || view === 'home' || w.active();
      // Cards: the panel closes when nothing runs, else it minimizes.
      const minimize = w.type === 'cards' && w.active();
      this.closeButton.setAttribute('aria-label', w.t(minimize ? 'minimize' : w.type === 'cards' ? 'dismiss' : 'close'));
      setIcon(this.closeButton, minimize ? 'min' : 'close');
      this.closeButton.hidden = w.type === 'pop';
    }

    // updateTeam shows up to three pictures (else initials) of available
    // agents and the expected-reply line.
    updateTeam() {
      const w = this.widget;
      if (!w.session || !this.faces) return;
      // People, not hunt groups (whose members show on their own).
      const on = w.team.available().filter((a) => !a.info.members).slice(0, 3);
      const sig = on.map((a) => a.id + a.url).join();
      if (sig !== this.faces.sig) {
        this.faces.sig = sig;
        this.faces.textContent = '';
        on.forEach((a) => {
          const face = el('span', 'face');
          showFace(face, agentName(a), a.url);
          this.faces.append(face);
        });
      }
      setText(this.replyLine, String(w.session.expectedReply || ''));
      this.team.empty = w.type === 'cards' || (!on.length && !w.session.expectedReply);
      this.updateHead();
    }

    updateBanner() {
      const w = this.widget;
      if (!this.banner) return;
      this.banner.hidden = w.online() || !w.session;
      this.retryButton.hidden = !w.connection.waiting;
    }

    // dismiss is the close button and Escape.
    dismiss(esc) {
      const w = this.widget;
      if (w.type === 'pop') {
        if (esc && !w.active()) w.home();
        return;
      }
      if (!w.active() && (w.type === 'cards' || (esc && (this.view === 'name' || this.view === 'leave')))) {
        w.home();
        if (w.type === 'cards' || this.view === 'home') return;
      }
      this.collapse();
    }

    expand(withFocus) {
      const w = this.widget;
      if (!w.host || this.opened || w.host.style.display === 'none') return;
      if (w.type === 'cards' && this.view === 'home') return;
      this.opened = true;
      w.root.classList.add('open');
      w.launcher.setExpanded(true);
      w.mark('open', '1');
      if (this.view === 'chat') w.chats.seen();
      if (withFocus) this.focusView();
      if (w.chat) w.chats.keep();
    }

    collapse(silent) {
      const w = this.widget;
      if (!this.opened || w.type === 'pop') return;
      this.opened = false;
      const focused = w.shadow.activeElement;
      w.root.classList.remove('open');
      w.launcher.setExpanded(false);
      w.mark('open', '0');
      if (w.chat) w.chats.keep();
      if (!silent && focused && w.host.style.display !== 'none' && (w.type !== 'cards' || this.view !== 'home')) {
        w.launcher.focus();
      }
    }

    // focusView puts the keyboard focus where the current view starts.
    focusView() {
      const v = this.views[this.view];
      const target = this.view === 'home' ? this.widget.homeView.focusTarget() : v && v.part.focusTarget();
      focus(target || (this.closeButton.hidden ? null : this.closeButton));
    }

    // open brings view to the front for a visitor's action from control
    // from (where the focus goes back to).
    open(view, from) {
      if (from) this.opener = from;
      if (this.view !== view) this.show(view);
      if (!this.opened) this.expand(false);
      this.focusView();
    }
  }
