  // The pre-contact form (joined into frontdesk.js by the gateway; see
  // widget/assets.go).

  // EMAIL is what the gateway takes as an email address (chat.ValidEmail).
  const EMAIL = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;".]+$/;

  // formSpec is what a Session's form asks: each of name, email and topic
  // 'required', 'optional' or 'off' (name off when the widget names the
  // caller), and the topics to choose from.
  const formSpec = (session) => {
    const f = (session && session.form) || {};
    const on = (v, def) => (v === 'required' || v === 'optional' || v === 'off' ? v : def);
    return {
      name: session && session.callerName ? 'off' : on(f.name, 'required'),
      email: on(f.email, 'off'),
      topic: on(f.topic, 'off'),
      topics: Array.isArray(f.topics) ? f.topics.map(String) : []
    };
  };

  // topicInput makes the topic field of a form: a choice of the widget's
  // topics, else a line to type.
  const topicInput = (spec, chooseText) => {
    if (!spec.topics.length) {
      const input = el('input');
      input.maxLength = 100;
      return input;
    }
    const s = el('select');
    const none = el('option', null, chooseText);
    none.value = '';
    s.append(none, ...spec.topics.map((t) => {
      const o = el('option', null, t);
      o.value = t;
      return o;
    }));
    return s;
  };

  // NameForm is the form the visitor fills in before the first call or
  // chat of the tab: their name (unless the widget sets callerName) and,
  // as the widget's form says, their email and a topic. The answers are
  // kept in storage and go with every contact (context).
  class NameForm {
    constructor(widget) {
      this.widget = widget;
      this.answer = null; // resolves the pending ask
      this.sig = ''; // the form the fields were built for
      this.inputs = {}; // name, email, topic → input
    }

    build() {
      const w = this.widget;
      const f = (this.form = el('form', 'view form'));
      f.noValidate = true;
      this.fields = el('div', 'fgrp');
      const ok = button('btn pri');
      ok.type = 'submit';
      w.label(ok.lbl, 'start');
      const cancel = button('btn', null, () => this.done(null));
      w.label(cancel.lbl, 'cancel');
      const row = el('div', 'row');
      row.append(ok, cancel);
      f.append(this.fields, row);
      f.addEventListener('submit', (e) => {
        e.preventDefault();
        this.submit();
      });
      this.layout();
      return f;
    }

    // layout builds the fields the widget's form asks, when it changed.
    layout() {
      const w = this.widget;
      const spec = formSpec(w.session);
      const sig = JSON.stringify(spec);
      if (sig === this.sig && this.fields.childElementCount) return spec;
      this.sig = sig;
      this.fields.textContent = '';
      this.inputs = {};
      const add = (key, input, label) => {
        if (spec[key] === 'off') return;
        input.required = spec[key] === 'required';
        const field = el('label', 'fld');
        const head = el('span');
        head.append(this.text(el('span'), label));
        if (!input.required) head.append(' ', this.text(el('span', 'opt'), 'optional'));
        const err = (input.err = el('span', 'ferr'));
        err.id = 'fd-' + w.id + '-' + key + '-err';
        err.hidden = true;
        field.append(head, input, err);
        this.inputs[key] = input;
        this.fields.append(field);
      };
      const name = el('input');
      name.autocomplete = 'name';
      name.maxLength = 80;
      add('name', name, 'yourName');
      const email = el('input');
      email.type = 'email';
      email.autocomplete = 'email';
      email.maxLength = 254;
      add('email', email, 'yourEmail');
      add('topic', topicInput(spec, w.t('chooseTopic')), 'topic');
      return spec;
    }

    // text binds node to string key (see Widget.label) and shows it now:
    // fields are built when the form changes, after the Session.
    text(node, key) {
      setText(this.widget.label(node, key), this.widget.t(key));
      return node;
    }

    focusTarget() {
      const ins = Object.values(this.inputs);
      return ins.find((x) => x.getAttribute('aria-invalid') === 'true') || ins[0];
    }

    // flag marks input as wrong with the words of key, or clears it.
    flag(input, key) {
      const err = input.err;
      if (key) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', err.id);
        setText(err, this.widget.t(key));
        err.hidden = false;
      } else {
        input.removeAttribute('aria-invalid');
        input.removeAttribute('aria-describedby');
        err.hidden = true;
      }
    }

    submit() {
      const w = this.widget;
      const value = (k) => (this.inputs[k] ? this.inputs[k].value.trim().replace(/\s+/g, ' ') : '');
      const v = { name: value('name'), email: value('email'), topic: value('topic') };
      let bad = null;
      Object.keys(this.inputs).forEach((k) => {
        const input = this.inputs[k];
        const why = !v[k] && input.required ? 'fieldRequired' : k === 'email' && v[k] && !EMAIL.test(v[k]) ? 'badEmail' : '';
        this.flag(input, why);
        if (why && !bad) bad = input;
      });
      if (bad) {
        focus(bad);
        return;
      }
      sound();
      if (this.inputs.name) {
        w.visitor = v.name;
        storage.save('name', v.name || null);
      }
      this.answers = { sig: this.sig, email: v.email, topic: v.topic };
      storage.save('form', this.answers);
      this.done(this.name());
    }

    // name is the name to call or chat with.
    name() {
      const w = this.widget;
      return (w.session && w.session.callerName) || w.visitor || '';
    }

    // ask resolves to the name to call or chat with, or null when the
    // visitor cancels. A form filled in before in this tab is not asked
    // again.
    ask(from) {
      const w = this.widget;
      const spec = this.layout();
      if (!w.visitor && storage.load('name')) w.visitor = String(storage.load('name'));
      if (!this.answers) this.answers = storage.load('form');
      const extra = spec.email !== 'off' || spec.topic !== 'off';
      const known = (spec.name === 'off' || !!w.visitor || (spec.name === 'optional' && this.answered())) &&
        (!extra || this.answered());
      if (known) return Promise.resolve(this.name());
      if (this.answer) this.done(null);
      return new Promise((resolve) => {
        this.answer = resolve;
        const saved = this.answered() ? this.answers : {};
        Object.keys(this.inputs).forEach((k) => {
          const input = this.inputs[k];
          input.value = (k === 'name' ? w.visitor : saved[k]) || '';
          this.flag(input, '');
        });
        w.panel.open('name', from);
      });
    }

    // answered says whether the visitor filled in this form before.
    answered() {
      const a = this.answers;
      return !!(a && a.sig === this.sig);
    }

    // forget drops the answers, so the form is asked again (the gateway
    // did not take them).
    forget() {
      this.answers = null;
      storage.save('form', null);
    }

    // context is what a contact request carries besides the name: the
    // form's answers and the page's address, as the widget's Session says
    // (for a left message the topic and page only).
    context(leaving) {
      const w = this.widget;
      const s = w.session;
      const out = {};
      const a = this.answered() ? this.answers : null;
      if (a && a.email && !leaving) out.email = a.email;
      if (a && a.topic) out.topic = a.topic;
      if (s && (s.page === 'path' || s.page === 'full') && w.type !== 'pop') {
        const loc = win.location;
        const page = loc.origin + loc.pathname + (s.page === 'full' ? loc.search : '');
        if (page.length <= 2048) out.page = page;
      }
      return out;
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
