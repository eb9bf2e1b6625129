  // Agent cards (joined into frontdesk.js by the gateway; see
  // widget/assets.go).

  // AgentCards draws one card per agent of the team into a box (the grid of
  // a business-cards widget, the list in a sidebar's panel): picture, name,
  // department, availability, and its ways of contact, the first in view
  // and the others under "More". Buttons that cannot work now say why.
  class AgentCards {
    constructor(widget) {
      this.widget = widget;
      this.box = null;
      this.cards = new Map(); // agent id → {el, pic, ini, img, dn, dep, state, acts, wait, why, buttons, sig}
      widget.signals.on('connection', () => this.updateAll());
    }

    // mount starts drawing into box (after the widget was built anew).
    mount(box) {
      this.box = box;
      this.cards.clear();
    }

    updateAll() {
      this.widget.team.agents.forEach((a) => this.render(a));
    }

    // render creates or updates agent a's card in place.
    render(a) {
      const w = this.widget;
      if (!this.box || !w.session) return;
      const i = a.info;
      let c = this.cards.get(a.id);
      if (!c) {
        c = this.build(a);
        this.cards.set(a.id, c);
      }
      const name = agentName(a);
      setText(c.dn, name);
      setText(c.ini, initials(name));
      setText(c.dep, String(i.department || ''));
      c.dep.hidden = !i.department;
      const inChat = i.presence === 'online' && a.chatBusyUntil > Date.now();
      c.el.setAttribute('data-presence', inChat ? 'busy' : String(i.presence || 'offline'));
      const back = i.closed && i.opens ? whenOf(i.opens, w.session.lang) : '';
      setText(c.state, back ? fill(w.t('backAt'), { time: back }) : w.t(inChat ? 'inChat' : presenceKey(i.presence)));
      const pop = w.popout;
      c.el.hidden = (w.type === 'sidebar' && i.presence !== 'online' && !w.session.alwaysShow) ||
        (!!pop && !!pop.agent && pop.agent !== i.id);
      const sig = JSON.stringify([i.media, i.email, i.phonenumber, i.link, w.session.lang, w.session.strings]);
      if (sig !== c.sig) {
        c.sig = sig;
        c.acts.textContent = '';
        c.acts.append(...this.actions(a, c));
      }
      Object.keys(c.buttons).forEach((m) => disable(c.buttons[m], w.reasonText(a, m)));
      // A busy agent can be waited for, where the widget has a line.
      const waitable = !!w.session.queue && (i.presence === 'busy' || inChat) && ['voice', 'video', 'chat'].some((m) => has(i, m));
      if (waitable && !c.wait) {
        c.wait = button('btn pri', 'clock', () => w.waitFor(a.id, '', c.wait));
        c.wait.setAttribute('data-action', 'wait');
        c.acts.after(c.wait);
      } else if (!waitable && c.wait) {
        c.wait.remove();
        c.wait = null;
      }
      if (c.wait) setText(c.wait.lbl, fill(w.t('waitFor'), { name }));
      if (!w.reasonText(a, 'chat')) setText(c.why, '');
      this.showPicture(a, c);
      this.place(a, c);
    }

    build(a) {
      const c = { buttons: {} };
      c.el = el('article', 'card');
      c.el.setAttribute('data-agent-id', a.id);
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
      return c;
    }

    remove(id) {
      const c = this.cards.get(id);
      this.cards.delete(id);
      if (c) c.el.remove();
    }

    // actions builds the ways to reach agent a from its media and contacts.
    actions(a, c) {
      const w = this.widget;
      const i = a.info;
      const out = [];
      c.buttons = {};
      const act = (medium, key, ic, start) => {
        if (!has(i, medium)) return;
        const b = button('btn', ic, () => {
          const why = w.reasonText(a, medium);
          if (why) this.explain(a, why);
          else start(b);
        }, w.t(key));
        b.setAttribute('data-action', medium === 'voice' ? 'call' : medium);
        b.why = el('span', 'sr');
        b.append(b.why);
        c.buttons[medium] = b;
        out.push(b);
      };
      act('voice', 'call', 'phone', (b) => w.startCall(i.id, false, b));
      act('video', 'videoCall', 'video', (b) => w.startCall(i.id, true, b));
      act('chat', 'chat', 'chat', (b) => w.chats.openChat(i.id, '', b));
      ['voice', 'video'].forEach((m) => { if (c.buttons[m]) w.warmCallOn(c.buttons[m]); });
      if (has(i, 'email') && i.email) out.push(anchor('mailto:' + i.email, w.t('email'), 'btn', 'mail', i.email));
      if (i.phonenumber) out.push(anchor(telURL(i.phonenumber), i.phonenumber, 'btn', 'phone', w.t('phone')));
      const url = i.link && safeURL(i.link.url);
      if (url) out.push(anchor(url, i.link.title || url, 'btn', 'out', null, true));
      out.forEach((b) => {
        if (!b.hasAttribute('data-action')) b.setAttribute('data-action', /^mailto:/.test(b.href) ? 'email' : /^tel:/.test(b.href) ? 'phone' : 'link');
      });
      if (out[0]) out[0].classList.add('pri');
      if (out.length <= 2) return out;
      return [out[0], ...this.more(a, out.slice(1))];
    }

    // more puts ways of contact under a "More" disclosure: Escape in it
    // closes it and brings the focus back.
    more(a, ways) {
      const w = this.widget;
      const box = el('div', 'morebox');
      box.id = 'more-' + (++w.requests);
      box.hidden = true;
      box.append(...ways);
      const toggle = button('btn', 'more', () => {
        box.hidden = !box.hidden;
        toggle.setAttribute('aria-expanded', String(!box.hidden));
        if (!box.hidden) focus(box.querySelector('a,button'));
      }, w.t('more'));
      toggle.setAttribute('aria-expanded', 'false');
      toggle.setAttribute('aria-controls', box.id);
      toggle.setAttribute('data-more', '');
      toggle.setAttribute('aria-label', fill(w.t('moreWays'), { name: agentName(a) }));
      box.addEventListener('keydown', (e) => {
        if (e.key !== 'Escape') return;
        e.stopPropagation();
        box.hidden = true;
        toggle.setAttribute('aria-expanded', 'false');
        focus(toggle);
      });
      return [toggle, box];
    }

    // explain shows why a button does nothing (for touch and keyboard users
    // who never see its tooltip).
    explain(a, why) {
      const c = this.cards.get(a.id);
      if (!c) return;
      setText(c.why, why);
      clearTimeout(c.whyTimer);
      c.whyTimer = setTimeout(() => setText(c.why, ''), 8000);
    }

    showPicture(a, c) {
      c = c || this.cards.get(a.id);
      if (!c || c.url === a.url) return;
      c.url = a.url;
      if (a.url) c.img.src = a.url;
      else c.img.removeAttribute('src');
      c.img.hidden = !a.url;
      c.ini.hidden = !!a.url;
    }

    // place moves a's card to its position by order, only when needed.
    place(a, c) {
      const node = c.el;
      const order = +a.info.order || 0;
      let ref = null;
      for (const k of this.box.children) {
        if (k === node) continue;
        const b = this.widget.team.get(k.getAttribute('data-agent-id'));
        if (b && (+b.info.order || 0) > order) {
          ref = k;
          break;
        }
      }
      if (node.parentNode !== this.box || node.nextElementSibling !== ref) this.box.insertBefore(node, ref);
    }
  }
