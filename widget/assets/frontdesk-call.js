  // Calls (joined into frontdesk.js by the gateway; see widget/assets.go).
  Object.assign(Widget.prototype, {
    // --- calls ---

    setCall(state) {
      const c = this.call;
      c.state = state;
      this.mark('call', state);
      this.callUI();
      this.tabText();
      this.head();
      updateGuard();
      emit('call', { widget: this.id, agent: c.agent, state, reason: c.reason || '', video: c.video });
    },

    async startCall(id, video, from) {
      const a = this.agents.get(id);
      if (this.call && this.call.state !== 'ended') {
        this.open('call', from);
        return;
      }
      if (!a || !this.s) return;
      sound();
      if (!canCall()) {
        // Show the reason in the call view, with nothing sent.
        this.call = { agent: id, video, dn: '' };
        this.open('call', from);
        this.endCall(!win.isSecureContext ? 'insecure' : 'no-webrtc');
        return;
      }
      if (this.reason(a.info, video ? 'video' : 'voice')) return;
      const dn = await this.askName(from);
      if (dn == null || (this.call && this.call.state !== 'ended')) return;
      const c = (this.call = { agent: id, video, dn, state: '' });
      this.note.textContent = '';
      this.digits.textContent = '';
      this.open('call', from);
      this.setCall('connecting');
      let stream = null;
      try {
        stream = await nav.mediaDevices.getUserMedia({ audio: true, video });
      } catch (e) {
        if (video && /NotFound|Overconstrained|NotReadable/.test(e.name)) {
          // No usable camera: fall back to audio.
          c.video = false;
          setText(this.note, this.t('noCamera'));
          try {
            stream = await nav.mediaDevices.getUserMedia({ audio: true });
          } catch (e2) {
            e = e2;
          }
        }
        if (!stream) {
          if (this.call === c && c.state !== 'ended') this.endCall(/NotAllowed|Security/.test(e.name) ? 'media-denied' : /NotFound/.test(e.name) ? 'no-microphone' : 'failed');
          return;
        }
      }
      if (this.call !== c || c.state === 'ended') {
        stopAll(...stream.getTracks());
        return;
      }
      c.mic = stream.getAudioTracks()[0];
      c.cam = stream.getVideoTracks()[0] || null;
      c.video = !!c.cam;
      let pc;
      try {
        pc = c.pc = new RTCPeerConnection({ iceServers: (this.ice && Array.isArray(this.ice.iceServers)) ? this.ice.iceServers : [] });
        c.as = pc.addTrack(c.mic, stream);
        if (c.cam) c.vs = pc.addTrack(c.cam, stream);
        pc.addEventListener('track', (e) => {
          const s = (e.streams && e.streams[0]) || new MediaStream([e.track]);
          if (this.rv.srcObject !== s) this.rv.srcObject = s;
          this.rv.play().catch(() => {});
        });
        pc.addEventListener('connectionstatechange', () => {
          if (pc.connectionState === 'failed' && this.call === c && c.state !== 'ended') {
            this.send({ mt: 'ClearCall' });
            this.endCall('media-failed');
          }
        });
        this.preview();
        this.callUI();
        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc, 3000);
      } catch (e) {
        if (this.call === c && c.state !== 'ended') this.endCall('failed');
        return;
      }
      if (this.call !== c || c.state === 'ended') return;
      if (!this.online()) {
        this.endCall('connection-lost');
        return;
      }
      c.sent = true;
      this.pending = 'call';
      this.send({ mt: 'CreateCall', dest: id, dn, video: c.video });
      this.send({ mt: 'Channels', cmd: 'PROPOSAL', sdp: pc.localDescription.sdp });
    },

    callInfo(m) {
      const c = this.call;
      if (!c || !c.sent || c.state === 'ended') return;
      if (this.pending === 'call') this.pending = '';
      if (m.cmd === 'SELECT' && typeof m.sdp === 'string' && m.sdp && !c.answered) {
        c.answered = true;
        if (c.video && !videoAnswered(m.sdp)) this.audioOnly();
        c.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }).catch(() => {
          if (this.call === c && c.state !== 'ended') {
            this.send({ mt: 'ClearCall' });
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
              if (!this.opened) this.tabText();
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
    },

    // ring plays the ringback tone (425 Hz, 1 s on, 4 s off) while the
    // agent's phone rings.
    ring(on) {
      const c = this.call;
      clearInterval(c.ring);
      c.ring = 0;
      if (c.rg) {
        try { c.rg.disconnect(); } catch (e) { /* already gone */ }
        c.rg = null;
      }
      if (!on) return;
      const beep = () => { c.rg = tone([425], 0, 1, 0.08); };
      beep();
      c.ring = setInterval(beep, 5000);
    },

    // audioOnly turns a video call the other side answered without video
    // into the audio call it is: no camera, no black pane, and says so.
    audioOnly() {
      const c = this.call;
      c.video = false;
      c.audioOnly = true;
      if (c.scr) this.unshare();
      stopAll(c.cam);
      c.cam = null;
      if (c.vs) c.vs.replaceTrack(null).catch(() => {});
      this.preview();
      setText(this.note, this.t('audioOnly'));
      this.mark('call-audio-only', '1');
      this.callUI();
    },

    endCall(reason) {
      const c = this.call;
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
      if (this.pending === 'call') this.pending = '';
      this.pad.hidden = this.devs.hidden = true;
      this.mark('call-reason', reason);
      // After a call that did not work, offer other ways to reach someone.
      const normal = ['ended-by-visitor', 'ended-by-agent', 'popped-out'].indexOf(reason) >= 0;
      c.offerFor = normal ? '' : c.agent;
      this.alternatives(this.callAlts, c.offerFor, 'call', c.video);
      this.setCall('ended');
      if (this.view === 'call' && this.shadow.activeElement) focus(this.againBtn);
    },

    hangup() {
      const c = this.call;
      if (!c || c.state === 'ended') return;
      if (c.sent) this.send({ mt: 'ClearCall' });
      this.endCall('ended-by-visitor');
    },

    callUI() {
      const c = this.call;
      if (!c || !this.s || !this.cst) return;
      const ended = c.state === 'ended';
      const running = !ended && !!c.pc;
      let text;
      if (ended) {
        const r = c.reason;
        text = r === 'unavailable' ? this.t('unavailableReason') : r === 'retry-later' ? fill(this.t('endRetryLater'), { seconds: c.retryAfter || 1 })
          : this.t(r === 'insecure' ? 'insecure' : r === 'no-webrtc' ? 'noWebRTC'
            : r === 'media-denied' ? 'mediaDenied' : r === 'no-microphone' ? 'noMicrophone' : endKey(r)) || this.t('callEnded');
      } else {
        text = this.t(c.state === 'ringing' ? 'ringing' : c.state === 'connected' ? 'connected' : c.state === 'held' ? 'onHold' : 'connecting');
      }
      setText(this.cst, text);
      this.root.classList.toggle('vc', !ended && c.video);
      this.vids.hidden = ended || !c.video;
      this.tmr.hidden = !c.t0;
      if (!c.t0) setText(this.tmr, '');
      this.ctl.hidden = ended;
      this.after.hidden = !ended;
      this.muteBtn.hidden = !running;
      setText(this.muteBtn.lbl, this.t(c.muted ? 'unmute' : 'mute'));
      setIcon(this.muteBtn, c.muted ? 'micOff' : 'mic');
      this.muteBtn.setAttribute('aria-pressed', String(!!c.muted));
      this.camBtn.hidden = !running || !c.cam;
      setText(this.camBtn.lbl, this.t(c.camOff ? 'cameraOn' : 'cameraOff'));
      setIcon(this.camBtn, c.camOff ? 'camOff' : 'video');
      this.shareBtn.hidden = !running || !c.vs || !c.video || !(nav.mediaDevices && nav.mediaDevices.getDisplayMedia);
      setText(this.shareBtn.lbl, this.t(c.scr ? 'stopSharing' : 'shareScreen'));
      this.padBtn.hidden = c.state !== 'connected';
      if (this.padBtn.hidden) this.pad.hidden = true;
      this.digits.hidden = this.pad.hidden || !this.digits.textContent;
      this.devBtn.hidden = !running;
      this.popBtn.hidden = this.type === 'pop' || !(c.state === 'connecting' || c.state === 'ringing');
      this.padBtn.setAttribute('aria-expanded', String(!this.pad.hidden));
      this.devBtn.setAttribute('aria-expanded', String(!this.devs.hidden));
      if (this.type === 'pop') {
        const a = this.agents.get(c.agent);
        doc.title = (a ? a.info.dn || a.info.id : '') + ' – ' + text;
      }
    },

    preview() {
      const c = this.call;
      const t = c && (c.scr || c.cam);
      this.lv.srcObject = t ? new MediaStream([t]) : null;
      if (t) this.lv.play().catch(() => {});
    },

    mute() {
      const c = this.call;
      if (!c || !c.mic) return;
      c.muted = !c.muted;
      c.mic.enabled = !c.muted;
      this.callUI();
    },

    camera() {
      const c = this.call;
      if (!c || !c.cam) return;
      c.camOff = !c.camOff;
      c.cam.enabled = !c.camOff;
      this.callUI();
    },

    // share sends the screen in place of the camera, and back.
    async share() {
      const c = this.call;
      if (!c || !c.vs) return;
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
      if (this.call !== c || c.state === 'ended' || !t) {
        stopAll(...s.getTracks());
        return;
      }
      c.scr = t;
      t.addEventListener('ended', () => { if (c.scr === t) this.unshare(); });
      await c.vs.replaceTrack(t).catch(() => {});
      this.preview();
      this.callUI();
    },

    unshare() {
      const c = this.call;
      if (!c || !c.scr) return;
      const t = c.scr;
      c.scr = null;
      t.stop();
      if (c.state !== 'ended') c.vs.replaceTrack(c.cam).catch(() => {});
      this.preview();
      this.callUI();
    },

    dtmf(k) {
      const c = this.call;
      if (!c || c.state !== 'connected') return;
      const i = KEYS.indexOf(k);
      tone([ROWS[Math.floor(i / 3)], COLS[i % 3]], 0, 0.12, 0.05);
      this.send({ mt: 'Dtmf', digit: k });
      // The keys typed so far, as on a phone's display (the last 20).
      setText(this.digits, (this.digits.textContent + k).slice(-20));
      this.digits.hidden = false;
    },

    toggle(b, box, then) {
      box.hidden = !box.hidden;
      b.setAttribute('aria-expanded', String(!box.hidden));
      if (!box.hidden) {
        if (then) then();
        const f = box.querySelector('button,select');
        focus(f);
      }
    },

    // devices lists microphones, cameras and speakers for the settings.
    async devices() {
      const c = this.call;
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
          const o = el('option', null, d.label || this.t(key) + ' ' + (n + 1));
          o.value = d.deviceId;
          sel.append(o);
        });
        const cur = track && track.getSettings ? track.getSettings().deviceId : this.sink;
        if (cur) sel.value = cur;
        sel.parentNode.hidden = !ds.length || (kind === 'videoinput' && !(c && c.cam)) || (kind === 'audiooutput' && !sink);
      });
    },

    async device(kind, id) {
      const c = this.call;
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
      if (this.call !== c || c.state === 'ended') {
        stopAll(t);
        return;
      }
      if (audio) {
        const old = c.mic;
        t.enabled = !c.muted;
        c.mic = t;
        await c.as.replaceTrack(t).catch(() => {});
        stopAll(old);
      } else {
        const old = c.cam;
        t.enabled = !c.camOff;
        c.cam = t;
        if (!c.scr) await c.vs.replaceTrack(t).catch(() => {});
        stopAll(old);
        this.preview();
      }
    },

    // popOut moves a call that is being set up into its own window on the
    // gateway, which survives navigating this site.
    popOut() {
      const c = this.call;
      if (!c || c.state === 'ended') return;
      const u = this.gw + '/call/' + encodeURIComponent(this.id) + '?agent=' + encodeURIComponent(c.agent) +
        '&call=' + (c.video ? 'video' : 'voice') + '#name=' + encodeURIComponent(c.dn);
      const w = win.open(u, 'frontdesk-call', 'popup,width=420,height=680');
      if (!w) return; // blocked: the call stays here
      try { w.opener = null; } catch (e) { /* cross-origin already */ }
      if (c.sent) this.send({ mt: 'ClearCall' });
      this.endCall('popped-out');
    },
  });
