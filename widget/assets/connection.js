  // The connection to the gateway (joined into frontdesk.js by the gateway;
  // see widget/assets.go): one websocket per widget, reconnected with
  // backoff, and an outbox that keeps under the gateway's message rate.

  // Backoff is the wait before each reconnect attempt: doubling from 1 s to
  // 30 s, with ±25 % jitter so that the visitors of a restarted gateway do
  // not all come back in the same second.
  class Backoff {
    constructor(random) {
      this.random = random || Math.random;
      this.attempts = 0;
    }

    next() {
      const base = 1000 * 2 ** Math.min(this.attempts++, 5);
      return Math.min(30000, base * (0.75 + this.random() * 0.5));
    }

    reset() {
      this.attempts = 0;
    }
  }

  // SendQueue holds messages until the rate allows them: a token bucket of
  // burst messages refilled at perSecond, under the gateway's limit (it
  // closes a connection that sends faster). Bursts of GetPicture for a
  // large widget wait here.
  class SendQueue {
    constructor(perSecond, burst, now) {
      this.perSecond = perSecond;
      this.burst = burst;
      this.now = now || Date.now;
      this.tokens = burst;
      this.last = this.now();
      this.items = [];
    }

    get length() {
      return this.items.length;
    }

    push(text) {
      this.items.push(text);
    }

    clear() {
      this.items = [];
    }

    // drain hands queued messages to send while the rate allows, and
    // returns how many milliseconds the next one must wait (0: none waits).
    drain(send) {
      const now = this.now();
      this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perSecond / 1000);
      this.last = now;
      while (this.items.length && this.tokens >= 1) {
        send(this.items.shift());
        this.tokens--;
      }
      return this.items.length ? Math.ceil((1 - this.tokens) * 1000 / this.perSecond) : 0;
    }
  }

  // Connection is a widget's websocket. It greets the gateway with
  // hello() on every (re)connect, and tells its owner what happens:
  // message(m) for each decoded message object, lost() when an open or
  // opening socket closed (it then reconnects by itself), broken(why) when
  // the URL cannot work at all.
  class Connection {
    constructor(url, handlers) {
      this.url = url;
      this.handlers = handlers;
      this.socket = null;
      this.backoff = new Backoff();
      this.outbox = new SendQueue(8, 20);
      this.retryTimer = 0;
      this.drainTimer = 0;
      this.paused = false;
      this.closed = false;
    }

    // open says whether messages go out now.
    get open() {
      return !!(this.socket && this.socket.readyState === 1);
    }

    // waiting says whether a reconnect is scheduled.
    get waiting() {
      return !!this.retryTimer;
    }

    connect() {
      clearTimeout(this.retryTimer);
      this.retryTimer = 0;
      if (this.closed || this.paused || this.socket) return;
      let socket;
      try {
        socket = new WebSocket(this.url);
      } catch (e) {
        this.close();
        this.handlers.broken(String(e));
        return;
      }
      this.socket = socket;
      // What was queued for the old socket means nothing to the new one.
      this.outbox.clear();
      socket.addEventListener('open', () => {
        if (this.socket === socket) socket.send(JSON.stringify(this.handlers.hello()));
      });
      socket.addEventListener('message', (e) => {
        if (this.socket !== socket) return;
        let m;
        try {
          m = JSON.parse(e.data);
        } catch (x) {
          return;
        }
        if (m && typeof m === 'object') this.handlers.message(m);
      });
      socket.addEventListener('close', () => {
        if (this.socket !== socket) return;
        this.socket = null;
        // Scheduled first: the owner sees that a retry waits.
        this.schedule();
        this.handlers.lost();
      });
    }

    // welcomed is called once the gateway accepted the greeting: the next
    // loss starts the backoff from 1 s again.
    welcomed() {
      this.backoff.reset();
    }

    schedule() {
      if (this.closed || this.paused || this.retryTimer) return;
      this.retryTimer = setTimeout(() => this.connect(), this.backoff.next());
    }

    // retryNow skips the wait before the next attempt (the visitor asked,
    // or the browser is online again).
    retryNow() {
      if (this.retryTimer) this.connect();
    }

    send(m) {
      this.outbox.push(JSON.stringify(m));
      this.drain();
    }

    drain() {
      const socket = this.socket;
      if (!this.open) return;
      const wait = this.outbox.drain((text) => socket.send(text));
      if (wait && !this.drainTimer) {
        this.drainTimer = setTimeout(() => {
          this.drainTimer = 0;
          this.drain();
        }, wait);
      }
    }

    // pause closes the socket until resume (the page went into the
    // back/forward cache).
    pause() {
      this.paused = true;
      this.drop();
    }

    resume() {
      this.paused = false;
      if (!this.socket) this.connect();
    }

    // close ends the connection for good.
    close() {
      this.closed = true;
      this.drop();
    }

    drop() {
      clearTimeout(this.retryTimer);
      clearTimeout(this.drainTimer);
      this.retryTimer = this.drainTimer = 0;
      const socket = this.socket;
      this.socket = null;
      if (!socket) return;
      socket.close();
      this.handlers.lost();
    }
  }
