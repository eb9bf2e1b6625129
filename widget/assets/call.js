  // Calls (joined into frontdesk.js by the gateway; see widget/assets.go).
  // CallPart is the call view and the call it shows: WebRTC toward the
  // gateway, the ringback, mute, camera, screen sharing, keypad and devices.
  // One call at a time; widget.call is its current one.
  class CallPart {
    constructor(widget) {
      this.widget = widget;
      this.current = null; // {agent, video, dn, state, reason, pc, mic, cam, …}
    }

    // build makes the call view.
    build() {
      const v = el('div', 'view callv');
      const vids = (this.vids = el('div', 'vids'));
      const rv = (this.rv = el('video', 'rv'));
      const lv = (this.lv = el('video', 'lv'));
      [rv, lv].forEach((x) => {
        x.autoplay = true;
        x.playsInline = true;
        x.setAttribute('playsinline', '');
      });
      lv.muted = true;
      vids.append(rv, lv);
      this.cst = el('p', 'cst');
      this.cst.setAttribute('role', 'status');
      this.tmr = el('p', 'tmr');
      this.tmr.setAttribute('role', 'timer');
      this.note = el('p', 'note');
      const ctl = (this.ctl = el('div', 'ctl'));
      this.muteBtn = button('rb', 'mic', () => this.mute());
      this.camBtn = button('rb', 'video', () => this.camera());
      this.shareBtn = button('rb', 'screen', () => this.share());
      this.padBtn = button('rb', 'pad', () => this.toggle(this.padBtn, this.pad));
      this.widget.L(this.padBtn.lbl, 'keypad');
      this.devBtn = button('rb', 'gear', () => this.toggle(this.devBtn, this.devs, () => this.devices()));
      // A short label on the button, the full one for assistive technology.
      this.widget.L(this.devBtn.lbl, 'settings');
      this.widget.L(this.devBtn, 'devices', 'aria-label');
      this.widget.L(this.devBtn, 'devices', 'title');
      this.popBtn = button('rb', 'out', () => this.popOut());
      this.widget.L(this.popBtn.lbl, 'popOut');
      this.hangBtn = button('rb end', 'phone', () => this.hangup());
      this.widget.L(this.hangBtn.lbl, 'hangup');
      ctl.append(this.muteBtn, this.camBtn, this.shareBtn, this.padBtn, this.devBtn, this.popBtn, this.hangBtn);

      const pad = (this.pad = el('div', 'pad'));
      pad.setAttribute('role', 'group');
      this.widget.L(pad, 'keypad', 'aria-label');
      KEYS.forEach((k) => pad.append(button('key', null, () => this.dtmf(k), k)));
      this.digits = el('output', 'digits');
      this.widget.L(this.digits, 'keypad', 'aria-label');
      this.digits.hidden = true;
      pad.addEventListener('keydown', (e) => {
        const k = e.key === '#' || e.key === '*' || /^[0-9]$/.test(e.key) ? e.key : '';
        if (k && !e.repeat) this.dtmf(k);
      });
      pad.hidden = true;

      const devs = (this.devs = el('div', 'devs'));
      this.sel = {};
      [['audioinput', 'microphone'], ['videoinput', 'camera'], ['audiooutput', 'speaker']].forEach(([kind, key]) => {
        const s = (this.sel[kind] = el('select'));
        s.addEventListener('change', () => this.device(kind, s.value));
        devs.append(this.widget.field(key, s));
      });
      devs.hidden = true;

      const after = (this.after = el('div', 'row'));
      this.againBtn = button('btn pri', null, () => this.widget.home());
      this.widget.L(this.againBtn.lbl, 'dismiss');
      after.append(this.againBtn);
      this.callAlts = el('div', 'alts');
      if (this.widget.type === 'pop') {
        const cw = button('btn', null, () => win.close());
        this.widget.L(cw.lbl, 'closeWindow');
        after.append(cw);
      }
      v.append(vids, this.cst, this.tmr, this.note, this.digits, ctl, pad, devs, this.callAlts, after);
      return v;
    }


    // --- calls ---

    setCall(state) {
      const c = this.current;
      c.state = state;
      this.widget.mark('call', state);
      this.callUI();
      this.widget.tabText();
      this.widget.head();
      updateGuard();
      emit('call', { widget: this.widget.id, agent: c.agent, state, reason: c.reason || '', video: c.video });
    }
    async startCall(id, video, from) {
      const a = this.widget.agents.get(id);
      if (this.current && this.current.state !== 'ended') {
        this.widget.open('call', from);
        return;
      }
      if (!a || !this.widget.session) return;
      sound();
      if (!canCall()) {
        // Show the reason in the call view, with nothing sent.
        this.current = { agent: id, video, dn: '' };
        this.widget.open('call', from);
        this.endCall(!win.isSecureContext ? 'insecure' : 'no-webrtc');
        return;
      }
      if (this.widget.reason(a.info, video ? 'video' : 'voice')) return;
      const dn = await this.widget.askName(from);
      if (dn == null || (this.current && this.current.state !== 'ended')) return;
      const c = (this.current = { agent: id, video, dn, state: '' });
      this.note.textContent = '';
      this.digits.textContent = '';
      this.widget.open('call', from);
      this.setCall('connecting');
      let stream = null;
      try {
        stream = await nav.mediaDevices.getUserMedia({ audio: true, video });
      } catch (e) {
        if (video && /NotFound|Overconstrained|NotReadable/.test(e.name)) {
          // No usable camera: fall back to audio.
          c.video = false;
          setText(this.note, this.widget.t('noCamera'));
          try {
            stream = await nav.mediaDevices.getUserMedia({ audio: true });
          } catch (e2) {
            e = e2;
          }
        }
        if (!stream) {
          if (this.current === c && c.state !== 'ended') this.endCall(/NotAllowed|Security/.test(e.name) ? 'media-denied' : /NotFound/.test(e.name) ? 'no-microphone' : 'failed');
          return;
        }
      }
      if (this.current !== c || c.state === 'ended') {
        stopAll(...stream.getTracks());
        return;
      }
      c.mic = stream.getAudioTracks()[0];
      c.cam = stream.getVideoTracks()[0] || null;
      c.video = !!c.cam;
      let pc;
      try {
        pc = c.pc = new RTCPeerConnection({ iceServers: (this.widget.ice && Array.isArray(this.widget.ice.iceServers)) ? this.widget.ice.iceServers : [] });
        c.audioSender = pc.addTrack(c.mic, stream);
        if (c.cam) c.videoSender = pc.addTrack(c.cam, stream);
        pc.addEventListener('track', (e) => {
          const s = (e.streams && e.streams[0]) || new MediaStream([e.track]);
          if (this.rv.srcObject !== s) this.rv.srcObject = s;
          this.rv.play().catch(() => {});
        });
        pc.addEventListener('connectionstatechange', () => {
          if (pc.connectionState === 'failed' && this.current === c && c.state !== 'ended') {
            this.widget.send({ mt: 'ClearCall' });
            this.endCall('media-failed');
          }
        });
        this.preview();
        this.callUI();
        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc, 3000);
      } catch (e) {
        if (this.current === c && c.state !== 'ended') this.endCall('failed');
        return;
      }
      if (this.current !== c || c.state === 'ended') return;
      if (!this.widget.online()) {
        this.endCall('connection-lost');
        return;
      }
      c.sent = true;
      this.widget.pending = 'call';
      this.widget.send({ mt: 'CreateCall', dest: id, dn, video: c.video });
      this.widget.send({ mt: 'Channels', cmd: 'PROPOSAL', sdp: pc.localDescription.sdp });
    }
    callInfo(m) {
      const c = this.current;
      if (!c || !c.sent || c.state === 'ended') return;
      if (this.widget.pending === 'call') this.widget.pending = '';
      if (m.cmd === 'SELECT' && typeof m.sdp === 'string' && m.sdp && !c.answered) {
        c.answered = true;
        if (c.video && !videoAnswered(m.sdp)) this.audioOnly();
        c.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }).catch(() => {
          if (this.current === c && c.state !== 'ended') {
            this.widget.send({ mt: 'ClearCall' });
            this.endCall('no-common-codec');
          }
        });
      }
      switch (m.state) {
        case 'alerting':
          if (!c.answered) this.ring(true);
          this.setCall('ringing');
          break;
        case 'early':
          // The PBX plays its own ringback now.
          this.ring(false);
          this.setCall('ringing');
          break;
        case 'connected':
          this.ring(false);
          if (!c.t0) {
            c.t0 = Date.now();
            c.tick = setInterval(() => {
              setText(this.tmr, clock(Date.now() - c.t0));
              if (!this.widget.opened) this.widget.tabText();
            }, 1000);
          }
          this.setCall('connected');
          break;
        case 'held':
          this.setCall('held');
          break;
        case 'terminated':
          this.endCall(m.reason || 'failed');
          break;
      }
    }
    // ring plays the ringback tone (425 Hz, 1 s on, 4 s off) while the
    // agent's phone rings.
    ring(on) {
      const c = this.current;
      clearInterval(c.ringTimer);
      c.ringTimer = 0;
      if (c.ringTone) {
        try { c.ringTone.disconnect(); } catch (e) { /* already gone */ }
        c.ringTone = null;
      }
      if (!on) return;
      const beep = () => { c.ringTone = tone([425], 0, 1, 0.08); };
      beep();
      c.ringTimer = setInterval(beep, 5000);
    }
    // audioOnly turns a video call the other side answered without video
    // into the audio call it is: no camera, no black pane, and says so.
    audioOnly() {
      const c = this.current;
      c.video = false;
      c.audioOnly = true;
      if (c.scr) this.unshare();
      stopAll(c.cam);
      c.cam = null;
      if (c.videoSender) c.videoSender.replaceTrack(null).catch(() => {});
      this.preview();
      setText(this.note, this.widget.t('audioOnly'));
      this.widget.mark('call-audio-only', '1');
      this.callUI();
    }
    endCall(reason) {
      const c = this.current;
      if (!c || c.state === 'ended') return;
      c.reason = reason;
      this.ring(false);
      clearInterval(c.tick);
      if (c.pc) {
        try { c.pc.close(); } catch (e) { /* closed */ }
      }
      stopAll(c.mic, c.cam, c.scr);
      this.rv.srcObject = null;
      this.lv.srcObject = null;
      if (this.widget.pending === 'call') this.widget.pending = '';
      this.pad.hidden = this.devs.hidden = true;
      this.widget.mark('call-reason', reason);
      // After a call that did not work, offer other ways to reach someone.
      const normal = ['ended-by-visitor', 'ended-by-agent', 'popped-out'].indexOf(reason) >= 0;
      c.offerFor = normal ? '' : c.agent;
      this.widget.alternatives(this.callAlts, c.offerFor, 'call', c.video);
      this.setCall('ended');
      if (this.widget.view === 'call' && this.widget.shadow.activeElement) focus(this.againBtn);
    }
    hangup() {
      const c = this.current;
      if (!c || c.state === 'ended') return;
      if (c.sent) this.widget.send({ mt: 'ClearCall' });
      this.endCall('ended-by-visitor');
    }
    callUI() {
      const c = this.current;
      if (!c || !this.widget.session || !this.cst) return;
      const ended = c.state === 'ended';
      const running = !ended && !!c.pc;
      let text;
      if (ended) {
        const r = c.reason;
        text = r === 'unavailable' ? this.widget.t('unavailableReason') : r === 'retry-later' ? fill(this.widget.t('endRetryLater'), { seconds: c.retryAfter || 1 })
          : this.widget.t(r === 'insecure' ? 'insecure' : r === 'no-webrtc' ? 'noWebRTC'
            : r === 'media-denied' ? 'mediaDenied' : r === 'no-microphone' ? 'noMicrophone' : endKey(r)) || this.widget.t('callEnded');
      } else {
        text = this.widget.t(c.state === 'ringing' ? 'ringing' : c.state === 'connected' ? 'connected' : c.state === 'held' ? 'onHold' : 'connecting');
      }
      setText(this.cst, text);
      this.widget.root.classList.toggle('vc', !ended && c.video);
      this.vids.hidden = ended || !c.video;
      this.tmr.hidden = !c.t0;
      if (!c.t0) setText(this.tmr, '');
      this.ctl.hidden = ended;
      this.after.hidden = !ended;
      this.muteBtn.hidden = !running;
      setText(this.muteBtn.lbl, this.widget.t(c.muted ? 'unmute' : 'mute'));
      setIcon(this.muteBtn, c.muted ? 'micOff' : 'mic');
      this.muteBtn.setAttribute('aria-pressed', String(!!c.muted));
      this.camBtn.hidden = !running || !c.cam;
      setText(this.camBtn.lbl, this.widget.t(c.camOff ? 'cameraOn' : 'cameraOff'));
      setIcon(this.camBtn, c.camOff ? 'camOff' : 'video');
      this.shareBtn.hidden = !running || !c.videoSender || !c.video || !(nav.mediaDevices && nav.mediaDevices.getDisplayMedia);
      setText(this.shareBtn.lbl, this.widget.t(c.scr ? 'stopSharing' : 'shareScreen'));
      this.padBtn.hidden = c.state !== 'connected';
      if (this.padBtn.hidden) this.pad.hidden = true;
      this.digits.hidden = this.pad.hidden || !this.digits.textContent;
      this.devBtn.hidden = !running;
      this.popBtn.hidden = this.widget.type === 'pop' || !(c.state === 'connecting' || c.state === 'ringing');
      this.padBtn.setAttribute('aria-expanded', String(!this.pad.hidden));
      this.devBtn.setAttribute('aria-expanded', String(!this.devs.hidden));
      if (this.widget.type === 'pop') {
        const a = this.widget.agents.get(c.agent);
        doc.title = (a ? a.info.dn || a.info.id : '') + ' – ' + text;
      }
    }
    preview() {
      const c = this.current;
      const t = c && (c.scr || c.cam);
      this.lv.srcObject = t ? new MediaStream([t]) : null;
      if (t) this.lv.play().catch(() => {});
    }
    mute() {
      const c = this.current;
      if (!c || !c.mic) return;
      c.muted = !c.muted;
      c.mic.enabled = !c.muted;
      this.callUI();
    }
    camera() {
      const c = this.current;
      if (!c || !c.cam) return;
      c.camOff = !c.camOff;
      c.cam.enabled = !c.camOff;
      this.callUI();
    }
    // share sends the screen in place of the camera, and back.
    async share() {
      const c = this.current;
      if (!c || !c.videoSender) return;
      if (c.scr) {
        this.unshare();
        return;
      }
      let s;
      try {
        s = await nav.mediaDevices.getDisplayMedia({ video: true });
      } catch (e) {
        return;
      }
      const t = s.getVideoTracks()[0];
      if (this.current !== c || c.state === 'ended' || !t) {
        stopAll(...s.getTracks());
        return;
      }
      c.scr = t;
      t.addEventListener('ended', () => { if (c.scr === t) this.unshare(); });
      await c.videoSender.replaceTrack(t).catch(() => {});
      this.preview();
      this.callUI();
    }
    unshare() {
      const c = this.current;
      if (!c || !c.scr) return;
      const t = c.scr;
      c.scr = null;
      t.stop();
      if (c.state !== 'ended') c.videoSender.replaceTrack(c.cam).catch(() => {});
      this.preview();
      this.callUI();
    }
    dtmf(k) {
      const c = this.current;
      if (!c || c.state !== 'connected') return;
      const i = KEYS.indexOf(k);
      tone([ROWS[Math.floor(i / 3)], COLS[i % 3]], 0, 0.12, 0.05);
      this.widget.send({ mt: 'Dtmf', digit: k });
      // The keys typed so far, as on a phone's display (the last 20).
      setText(this.digits, (this.digits.textContent + k).slice(-20));
      this.digits.hidden = false;
    }
    toggle(b, box, then) {
      box.hidden = !box.hidden;
      b.setAttribute('aria-expanded', String(!box.hidden));
      if (!box.hidden) {
        if (then) then();
        const f = box.querySelector('button,select');
        focus(f);
      }
    }
    // devices lists microphones, cameras and speakers for the settings.
    async devices() {
      const c = this.current;
      let list = [];
      try {
        list = await nav.mediaDevices.enumerateDevices();
      } catch (e) { /* none listed */ }
      const sink = 'setSinkId' in HTMLMediaElement.prototype;
      [['audioinput', 'microphone', c && c.mic], ['videoinput', 'camera', c && c.cam], ['audiooutput', 'speaker']].forEach(([kind, key, track]) => {
        const sel = this.sel[kind];
        const ds = list.filter((d) => d.kind === kind && d.deviceId);
        sel.textContent = '';
        ds.forEach((d, n) => {
          const o = el('option', null, d.label || this.widget.t(key) + ' ' + (n + 1));
          o.value = d.deviceId;
          sel.append(o);
        });
        const cur = track && track.getSettings ? track.getSettings().deviceId : this.sink;
        if (cur) sel.value = cur;
        sel.parentNode.hidden = !ds.length || (kind === 'videoinput' && !(c && c.cam)) || (kind === 'audiooutput' && !sink);
      });
    }
    async device(kind, id) {
      const c = this.current;
      if (!c || c.state === 'ended' || !id) return;
      if (kind === 'audiooutput') {
        try {
          await this.rv.setSinkId(id);
          this.sink = id;
        } catch (e) { /* the old output stays */ }
        return;
      }
      const audio = kind === 'audioinput';
      let s;
      try {
        s = await nav.mediaDevices.getUserMedia(audio ? { audio: { deviceId: { exact: id } } } : { video: { deviceId: { exact: id } } });
      } catch (e) {
        return;
      }
      const t = s.getTracks()[0];
      if (this.current !== c || c.state === 'ended') {
        stopAll(t);
        return;
      }
      if (audio) {
        const old = c.mic;
        t.enabled = !c.muted;
        c.mic = t;
        await c.audioSender.replaceTrack(t).catch(() => {});
        stopAll(old);
      } else {
        const old = c.cam;
        t.enabled = !c.camOff;
        c.cam = t;
        if (!c.scr) await c.videoSender.replaceTrack(t).catch(() => {});
        stopAll(old);
        this.preview();
      }
    }
    // popOut moves a call that is being set up into its own window on the
    // gateway, which survives navigating this site.
    popOut() {
      const c = this.current;
      if (!c || c.state === 'ended') return;
      const u = this.widget.gw + '/call/' + encodeURIComponent(this.widget.id) + '?agent=' + encodeURIComponent(c.agent) +
        '&call=' + (c.video ? 'video' : 'voice') + '#name=' + encodeURIComponent(c.dn);
      const w = win.open(u, 'frontdesk-call', 'popup,width=420,height=680');
      if (!w) return; // blocked: the call stays here
      try { w.opener = null; } catch (e) { /* cross-origin already */ }
      if (c.sent) this.widget.send({ mt: 'ClearCall' });
      this.endCall('popped-out');
    }
  }
