  // The visitor's storage (joined into frontdesk.js by the gateway; see
  // widget/assets.go).

  // VisitorStorage keeps what survives a reload of the tab: the visitor's
  // name and an open chat. Nothing is written before the visitor uses a
  // widget: allow() is called on their first click or key press in one, a
  // call of the JS API by the page, or when an earlier page of this tab
  // stored something. Only sessionStorage is used (gone when the tab
  // closes); without it the widget works, forgetting on reload.
  class VisitorStorage {
    constructor(store, prefix) {
      this.store = store;
      this.prefix = prefix;
      this.allowed = false;
      try {
        for (let i = 0; store && i < store.length; i++) if (String(store.key(i)).indexOf(prefix) === 0) this.allowed = true;
      } catch (e) { /* no storage */ }
    }

    allow() {
      this.allowed = true;
    }

    load(key) {
      try {
        const v = this.store.getItem(this.prefix + key);
        return v ? JSON.parse(v) : null;
      } catch (e) {
        return null;
      }
    }

    // save stores value under key (null removes it), once allowed.
    save(key, value) {
      if (!this.allowed) return;
      try {
        if (value == null) this.store.removeItem(this.prefix + key);
        else this.store.setItem(this.prefix + key, JSON.stringify(value));
      } catch (e) { /* private mode or full: the widget works without */ }
    }
  }

  const sessionStore = () => {
    try { return win.sessionStorage; } catch (e) { return null; }
  };
  const storage = new VisitorStorage(sessionStore(), PREFIX);

