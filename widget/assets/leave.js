  // Leave a message (joined into frontdesk.js by the gateway; see
  // widget/assets.go).

  // LeavePart is the leave-a-message form for when nobody is available.
  class LeavePart {
    constructor(widget) {
      this.widget = widget;
      widget.signals.on('connection', () => this.update());
    }

    focusTarget() {
      return this.fields.hidden ? this.closeButton : this.nameInput;
    }

    // update disables sending while the connection is lost, with the reason.
    update() {
      if (this.sendButton) disable(this.sendButton, this.widget.online() ? '' : this.widget.t('reconnecting'));
    }

    // build makes the form.
    build() {
      const f = (this.form = el('form', 'view form'));
      f.noValidate = true;
      const intro = this.widget.label(el('p'), 'leaveMessageIntro');
      const name = (this.nameInput = el('input'));
      name.autocomplete = 'name';
      name.maxLength = 80;
      const contact = (this.contactInput = el('input'));
      contact.autocomplete = 'email';
      contact.maxLength = 200;
      const text = (this.textInput = el('textarea'));
      text.rows = 4;
      text.maxLength = 2000;
      [name, contact, text].forEach((x) => { x.required = true; });
      this.status = el('p', 'lst');
      this.status.setAttribute('role', 'status');
      const row = (this.row = el('div', 'row'));
      this.sendButton = button('btn pri');
      this.sendButton.type = 'submit';
      this.sendButton.why = el('span', 'sr');
      this.sendButton.append(this.sendButton.why);
      this.widget.label(this.sendButton.lbl, 'send');
      const cancel = button('btn', null, () => this.widget.home());
      this.widget.label(cancel.lbl, 'cancel');
      row.append(this.sendButton, cancel);
      this.fields = el('div', 'flds');
      // The topic, when the widget's form asks one (see topicField).
      this.topicSlot = el('div', 'fgrp');
      this.fields.append(this.widget.field('yourName', name), this.widget.field('contact', contact), this.topicSlot, this.widget.field('message', text));
      this.closeButton = button('btn pri', null, () => this.widget.home());
      this.widget.label(this.closeButton.lbl, 'dismiss');
      f.append(intro, this.fields, this.status, row, this.closeButton);
      f.addEventListener('submit', (e) => {
        e.preventDefault();
        this.submit();
      });
      return f;
    }


    show(from) {
      if (this.widget.active() || !this.widget.session) return;
      this.fields.hidden = this.sendButton.parentNode.hidden = false;
      this.closeButton.hidden = true;
      this.sendButton.disabled = false;
      setText(this.status, '');
      this.status.classList.remove('err');
      if (!this.nameInput.value) this.nameInput.value = (this.widget.session && this.widget.session.callerName) || this.widget.visitor || storage.load('name') || '';
      this.topicField();
      this.update();
      this.widget.panel.open('leave', from);
    }
    // topicField shows the topic field the widget's form asks, with the
    // topic the visitor gave before.
    topicField() {
      const w = this.widget;
      const spec = formSpec(w.session);
      const sig = spec.topic + '|' + spec.topics.join('|');
      if (sig !== this.topicSig) {
        this.topicSig = sig;
        this.topicSlot.textContent = '';
        this.topicInput = null;
        if (spec.topic !== 'off') {
          const input = (this.topicInput = topicInput(spec, w.t('chooseTopic')));
          input.required = spec.topic === 'required';
          this.topicSlot.append(w.field('topic', input));
          setText(this.topicSlot.querySelector('span'), w.t('topic'));
        }
      }
      this.topicSlot.hidden = !this.topicInput;
      const known = w.nameForm.context(true).topic;
      if (this.topicInput && !this.topicInput.value && known) this.topicInput.value = known;
    }

    submit() {
      const f = [this.nameInput, this.contactInput, this.textInput];
      if (this.topicInput && this.topicInput.required) f.splice(2, 0, this.topicInput);
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
      if (off(this.sendButton)) return;
      if (!this.widget.online()) {
        setText(this.status, this.widget.t('messageFailed'));
        return;
      }
      const name = this.nameInput.value.trim();
      this.widget.visitor = this.widget.visitor || name;
      storage.save('name', this.widget.visitor);
      this.sentId = 'l' + ++this.widget.requests;
      this.sendButton.disabled = true;
      setText(this.status, this.widget.t('sending'));
      this.widget.pending = 'leave';
      const m = { mt: 'LeaveMessage', id: this.sentId, name, contact: this.contactInput.value.trim(), text: this.textInput.value.trim() };
      if (this.topicInput && this.topicInput.value.trim()) m.topic = this.topicInput.value.trim();
      this.widget.send(m);
    }
    // left shows a left message's fate; text overrides the words.
    left(m, text) {
      if (m.id && m.id !== this.sentId) return;
      if (this.widget.pending === 'leave') this.widget.pending = '';
      this.sendButton.disabled = false;
      const ok = m.ok === true;
      const bad = { 'bad-contact': this.contactInput, empty: this.textInput, 'too-long': this.textInput }[m.reason];
      setText(this.status, text || this.widget.t(ok ? 'messageSent' : m.reason === 'bad-contact' ? 'badContact' : m.reason === 'too-long' ? 'whyTooLong' : 'messageFailed'));
      this.status.classList.toggle('err', !ok);
      if (!ok) {
        // The field at fault is marked and focused, so it can be fixed.
        if (bad) {
          bad.setAttribute('aria-invalid', 'true');
          focus(bad);
        }
        return;
      }
      this.textInput.value = '';
      this.fields.hidden = this.sendButton.parentNode.hidden = true;
      this.closeButton.hidden = false;
      if (this.widget.shadow.activeElement) focus(this.closeButton);
    }
  }
