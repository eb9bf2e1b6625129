  // The visitor's name (joined into frontdesk.js by the gateway; see
  // widget/assets.go).

  // NameForm asks the visitor's name before the first call or chat (unless
  // the widget sets callerName), once per tab: it is kept in storage.
  class NameForm {
    constructor(widget) {
      this.widget = widget;
      this.answer = null; // resolves the pending ask
    }

    build() {
      const w = this.widget;
      const f = el('form', 'view form');
      f.noValidate = true;
      const input = (this.input = el('input'));
      input.autocomplete = 'name';
      input.maxLength = 80;
      input.required = true;
      const ok = button('btn pri');
      ok.type = 'submit';
      w.label(ok.lbl, 'start');
      const cancel = button('btn', null, () => this.done(null));
      w.label(cancel.lbl, 'cancel');
      const row = el('div', 'row');
      row.append(ok, cancel);
      f.append(w.field('yourName', input), row);
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
        w.visitor = v;
        storage.save('name', v);
        this.done(v);
      });
      return f;
    }

    focusTarget() {
      return this.input;
    }

    // ask resolves to the name to call or chat with, or null when the
    // visitor cancels.
    ask(from) {
      const w = this.widget;
      const fixed = w.session && w.session.callerName;
      if (fixed) return Promise.resolve(fixed);
      const known = w.visitor || storage.load('name');
      if (known) {
        w.visitor = String(known);
        return Promise.resolve(w.visitor);
      }
      if (this.answer) this.done(null);
      return new Promise((resolve) => {
        this.answer = resolve;
        this.input.value = '';
        w.panel.open('name', from);
      });
    }

    pending() {
      return !!this.answer;
    }

    done(v) {
      const w = this.widget;
      const answer = this.answer;
      this.answer = null;
      if (v == null && w.panel.view === 'name') {
        w.panel.show('home');
        if (w.type === 'cards') w.panel.collapse(true);
        const back = w.panel.opener;
        if (back && back.isConnected) focus(back);
        else w.panel.focusView();
      }
      if (answer) answer(v);
    }
  }
