  // After the contact (joined into frontdesk.js by the gateway; see
  // widget/assets.go).

  // AfterView is shown under a call or chat that ended: a rating of it
  // (1 to 5 stars and a comment) when the widget's Session.rating says so,
  // and after a chat its transcript by email (Session.transcript), sent
  // only when the visitor ticks the box. The gateway takes one rating and
  // one transcript per contact.
  class AfterView {
    constructor(widget) {
      this.widget = widget;
      this.root = null;
      this.score = 0;
    }

    // build makes the view once; text binds a node to a string key.
    build() {
      const w = this.widget;
      const text = (n, key) => {
        setText(w.label(n, key), w.t(key));
        return n;
      };
      const root = (this.root = el('div', 'afterv'));
      const rate = (this.rateForm = el('form', 'rate'));
      rate.noValidate = true;
      const set = el('fieldset', 'stars');
      set.append(text(el('legend'), 'rateTitle'));
      this.stars = [];
      for (let n = 1; n <= 5; n++) {
        const input = el('input');
        input.type = 'radio';
        input.name = 'fd-' + w.id + '-score';
        input.value = String(n);
        input.id = 'fd-' + w.id + '-score-' + n;
        const label = el('label', 'star', '★');
        label.setAttribute('for', input.id);
        const words = el('span', 'sr');
        label.append(words);
        label.words = words;
        input.addEventListener('change', () => this.pick(n));
        set.append(input, label);
        this.stars.push(label);
      }
      this.comment = el('textarea');
      this.comment.rows = 2;
      this.comment.maxLength = 1000;
      const note = el('label', 'fld');
      const head = el('span');
      head.append(text(el('span'), 'comment'), ' ', text(el('span', 'opt'), 'optional'));
      note.append(head, this.comment);
      this.rateButton = button('btn pri');
      this.rateButton.type = 'submit';
      text(this.rateButton.lbl, 'send');
      this.rateStatus = el('p', 'lst');
      this.rateStatus.setAttribute('role', 'status');
      rate.append(set, note, this.rateButton, this.rateStatus);
      rate.addEventListener('submit', (e) => {
        e.preventDefault();
        this.rate();
      });

      const tr = (this.transcriptForm = el('form', 'trans'));
      tr.noValidate = true;
      const consent = (this.consent = el('input'));
      consent.type = 'checkbox';
      const ask = el('label', 'chk');
      ask.append(consent, text(el('span'), 'transcriptOffer'));
      const email = (this.email = el('input'));
      email.type = 'email';
      email.autocomplete = 'email';
      email.maxLength = 254;
      this.emailField = el('label', 'fld');
      this.emailField.append(text(el('span'), 'yourEmail'), email);
      this.emailError = el('span', 'ferr');
      this.emailError.id = 'fd-' + w.id + '-transcript-err';
      this.emailError.hidden = true;
      this.emailField.append(this.emailError);
      this.sendButton = button('btn');
      this.sendButton.type = 'submit';
      text(this.sendButton.lbl, 'transcriptSend');
      this.transcriptStatus = el('p', 'lst');
      this.transcriptStatus.setAttribute('role', 'status');
      consent.addEventListener('change', () => this.layout());
      tr.append(ask, this.emailField, this.sendButton, this.transcriptStatus);
      tr.addEventListener('submit', (e) => {
        e.preventDefault();
        this.sendTranscript();
      });
      root.append(rate, tr);
      root.hidden = true;
      return root;
    }

    // show puts the view into box for a contact of kind ('call' or 'chat')
    // that ended, as the Session says; hide takes it away.
    show(box, kind) {
      const w = this.widget;
      const s = w.session || {};
      const rating = !!s.rating;
      const transcript = !!s.transcript && kind === 'chat';
      if (!this.root) this.build();
      if (!rating && !transcript) {
        this.hide();
        return;
      }
      this.score = 0;
      this.sent = false;
      this.root.querySelectorAll('input, textarea').forEach((x) => { x.disabled = false; });
      this.stars.forEach((l, i) => {
        setText(l.words, fill(w.t('rateScore'), { n: i + 1 }));
        l.previousSibling.checked = false;
      });
      this.pick(0);
      this.comment.value = '';
      this.consent.checked = false;
      this.email.value = w.nameForm.context(false).email || '';
      [this.rateStatus, this.transcriptStatus].forEach((n) => {
        setText(n, '');
        n.classList.remove('err');
      });
      this.rateForm.hidden = !rating;
      this.transcriptForm.hidden = !transcript;
      this.rateButton.disabled = this.sendButton.disabled = false;
      this.rateButton.hidden = this.sendButton.hidden = false;
      this.layout();
      box.append(this.root);
      this.root.hidden = false;
    }

    hide() {
      if (this.root) this.root.hidden = true;
    }

    // pick shows n stars lit.
    pick(n) {
      this.score = n;
      this.stars.forEach((l, i) => l.classList.toggle('on', i < n));
    }

    layout() {
      this.emailField.hidden = this.sendButton.hidden = !this.consent.checked || this.sent;
    }

    rate() {
      const w = this.widget;
      if (!this.score) {
        focus(this.stars[0].previousSibling);
        return;
      }
      this.rateId = 'r' + ++w.requests;
      this.rateButton.disabled = true;
      w.send({ mt: 'Rate', id: this.rateId, score: this.score, comment: this.comment.value.trim() });
    }

    rated(m) {
      if (m.id !== this.rateId) return;
      const w = this.widget;
      this.rateButton.disabled = false;
      setText(this.rateStatus, w.t(m.ok ? 'rateThanks' : 'rateFailed'));
      this.rateStatus.classList.toggle('err', !m.ok);
      if (m.ok) {
        this.rateForm.querySelectorAll('input, textarea').forEach((x) => { x.disabled = true; });
        this.rateButton.hidden = true;
      }
    }

    sendTranscript() {
      const w = this.widget;
      const v = this.email.value.trim();
      if (!EMAIL.test(v)) {
        this.email.setAttribute('aria-invalid', 'true');
        this.email.setAttribute('aria-describedby', this.emailError.id);
        setText(this.emailError, w.t(v ? 'badEmail' : 'fieldRequired'));
        this.emailError.hidden = false;
        focus(this.email);
        return;
      }
      this.email.removeAttribute('aria-invalid');
      this.email.removeAttribute('aria-describedby');
      this.emailError.hidden = true;
      this.transcriptId = 't' + ++w.requests;
      this.sendButton.disabled = true;
      setText(this.transcriptStatus, w.t('sending'));
      w.pending = 'after';
      w.send({ mt: 'SendTranscript', id: this.transcriptId, email: v, consent: this.consent.checked });
    }

    transcriptSent(m, text) {
      const w = this.widget;
      if (m.id && m.id !== this.transcriptId) return;
      if (w.pending === 'after') w.pending = '';
      this.sendButton.disabled = false;
      setText(this.transcriptStatus, text || w.t(m.ok ? 'transcriptSent' : m.reason === 'bad-contact' ? 'badEmail' : 'transcriptFailed'));
      this.transcriptStatus.classList.toggle('err', !m.ok);
      if (m.ok) {
        this.sent = true;
        this.consent.disabled = true;
        this.layout();
      }
    }
  }
