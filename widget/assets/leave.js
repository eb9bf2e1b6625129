  // Leave a message (joined into frontdesk.js by the gateway; see widget/assets.go).
  // LeavePart is the leave-a-message form for when nobody is available.
  class LeavePart {
    constructor(widget) {
      this.widget = widget;
    }

    // build makes the form.
    build() {
      const f = (this.form = el('form', 'view form'));
      f.noValidate = true;
      const intro = this.widget.L(el('p'), 'leaveMessageIntro');
      const name = (this.nameIn = el('input'));
      name.autocomplete = 'name';
      name.maxLength = 80;
      const contact = (this.contactIn = el('input'));
      contact.autocomplete = 'email';
      contact.maxLength = 200;
      const text = (this.textIn = el('textarea'));
      text.rows = 4;
      text.maxLength = 2000;
      [name, contact, text].forEach((x) => { x.required = true; });
      this.status = el('p', 'lst');
      this.status.setAttribute('role', 'status');
      const row = (this.row = el('div', 'row'));
      this.sendBtn = button('btn pri');
      this.sendBtn.type = 'submit';
      this.widget.L(this.sendBtn.lbl, 'send');
      const cancel = button('btn', null, () => this.widget.home());
      this.widget.L(cancel.lbl, 'cancel');
      row.append(this.sendBtn, cancel);
      this.fields = el('div', 'flds');
      this.fields.append(this.widget.field('yourName', name), this.widget.field('contact', contact), this.widget.field('message', text));
      this.closeBtn = button('btn pri', null, () => this.widget.home());
      this.widget.L(this.closeBtn.lbl, 'dismiss');
      f.append(intro, this.fields, this.status, row, this.closeBtn);
      f.addEventListener('submit', (e) => {
        e.preventDefault();
        this.submit();
      });
      return f;
    }


    show(from) {
      if (this.widget.active() || !this.widget.session) return;
      this.fields.hidden = this.sendBtn.parentNode.hidden = false;
      this.closeBtn.hidden = true;
      this.sendBtn.disabled = false;
      setText(this.status, '');
      if (!this.nameIn.value) this.nameIn.value = (this.widget.session && this.widget.session.callerName) || this.widget.visitor || storage.load('name') || '';
      this.widget.open('leave', from);
    }
    submit() {
      const f = [this.nameIn, this.contactIn, this.textIn];
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
      if (!this.widget.online()) {
        setText(this.status, this.widget.t('messageFailed'));
        return;
      }
      const name = this.nameIn.value.trim();
      this.widget.visitor = this.widget.visitor || name;
      storage.save('name', this.widget.visitor);
      this.sentId = 'l' + ++this.widget.requests;
      this.sendBtn.disabled = true;
      setText(this.status, this.widget.t('sending'));
      this.widget.pending = 'leave';
      this.widget.send({ mt: 'LeaveMessage', id: this.sentId, name, contact: this.contactIn.value.trim(), text: this.textIn.value.trim() });
    }
    // left shows a left message's fate; text overrides the words.
    left(m, text) {
      if (m.id && m.id !== this.sentId) return;
      if (this.widget.pending === 'leave') this.widget.pending = '';
      this.sendBtn.disabled = false;
      const ok = m.ok === true;
      const bad = { 'bad-contact': this.contactIn, empty: this.textIn, 'too-long': this.textIn }[m.reason];
      setText(this.status, text || this.widget.t(ok ? 'messageSent' : m.reason === 'bad-contact' ? 'badContact' : m.reason === 'too-long' ? 'whyTooLong' : 'messageFailed'));
      if (!ok) {
        // The field at fault is marked and focused, so it can be fixed.
        if (bad) {
          bad.setAttribute('aria-invalid', 'true');
          focus(bad);
        }
        return;
      }
      this.textIn.value = '';
      this.fields.hidden = this.sendBtn.parentNode.hidden = true;
      this.closeBtn.hidden = false;
      if (this.widget.shadow.activeElement) focus(this.closeBtn);
    }
  }
