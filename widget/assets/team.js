  // The team (joined into frontdesk.js by the gateway; see
  // widget/assets.go): the agents the gateway announced, their
  // availability and pictures, and who "contact us" reaches. No DOM here:
  // AgentCards shows them.

  // Team holds one record per agent: {id, info (the last Info), url (its
  // picture as a data: URL, or ''), shownTag and askedTag (the picture
  // versions shown and asked for), stale, chatBusyUntil}.
  class Team {
    constructor() {
      this.agents = new Map();
    }

    get(id) {
      return this.agents.get(id) || null;
    }

    // update takes an Info message. It returns the agent's record and its
    // presence before ('' for a new agent).
    update(info) {
      let a = this.agents.get(info.id);
      const before = a ? a.info.presence : '';
      if (!a) {
        a = { id: info.id, url: '', shownTag: '', askedTag: '', chatBusyUntil: 0 };
        this.agents.set(info.id, a);
      }
      a.info = info;
      a.stale = false;
      return { agent: a, before };
    }

    // wantsPicture says whether agent a's picture must be asked for: its
    // Info names a version not shown or asked for yet. An agent without a
    // picture loses the one it had.
    wantsPicture(a) {
      const tag = typeof a.info.picture === 'string' ? a.info.picture : '';
      if (!tag) {
        a.shownTag = a.askedTag = a.url = '';
        return false;
      }
      if (tag === a.askedTag) return false;
      a.askedTag = tag;
      return true;
    }

    // picture takes a Picture message; only data: URLs of images count. It
    // returns the agent whose picture changed, or null.
    picture(m) {
      const a = this.get(m.id);
      if (!a || !a.askedTag) return null;
      a.url = typeof m.url === 'string' && /^data:image\/(png|jpe?g|gif|webp);base64,/i.test(m.url) ? m.url : '';
      a.shownTag = a.askedTag;
      return a;
    }

    // forgetAsked is for a new connection: pictures asked for on the old
    // one will not arrive.
    forgetAsked() {
      this.agents.forEach((a) => { a.askedTag = a.shownTag; });
    }

    remove(id) {
      const a = this.get(id);
      this.agents.delete(id);
      return a;
    }

    // markStale and staleIds find the agents the gateway no longer
    // announces after a reconnect.
    markStale() {
      this.agents.forEach((a) => { a.stale = true; });
    }

    staleIds() {
      return Array.from(this.agents.values()).filter((a) => a.stale).map((a) => a.id);
    }

    sorted() {
      return Array.from(this.agents.values()).sort((x, y) => (+x.info.order || 0) - (+y.info.order || 0));
    }

    available() {
      return this.sorted().filter((a) => a.info.presence === 'online');
    }

    anyAvailable() {
      return this.available().length > 0;
    }

    // pick returns the agent "contact us" reaches for medium ('' for any):
    // the first available one in order, or a random one with
    // equalPriority. Voice also finds an agent who takes only video.
    pick(medium, equalPriority, random) {
      const on = this.available().filter((a) => !medium || has(a.info, medium) || (medium === 'voice' && has(a.info, 'video')));
      if (!on.length) return null;
      return equalPriority ? on[Math.floor((random || Math.random)() * on.length)] : on[0];
    }

    // blocker says why agent a cannot be reached by medium now, as a
    // string key, or '': the widget is reconnecting, the agent is not
    // available or in another chat (unless it is this visitor's turn), the
    // browser cannot call.
    blocker(a, medium, now) {
      // now.turn: the agent is held for this visitor, who waited in line.
      const turn = now.turn === a.id;
      if (!now.online) return 'reconnecting';
      if (a.info.presence !== 'online' && !turn) return 'unavailableReason';
      if (medium === 'chat') return a.chatBusyUntil > now.time && !turn ? 'agentBusy' : '';
      if (medium === 'voice' || medium === 'video') {
        if (!now.canCall) return now.secure ? 'noWebRTC' : 'insecure';
      }
      return '';
    }
  }

  // agentName is what the visitor sees of an agent: its name, else its id.
  const agentName = (a) => String((a && (a.info.dn || a.info.id)) || '');
