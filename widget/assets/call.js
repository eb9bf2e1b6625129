/* Frontdesk contact widget: the call part (WebRTC and the call view). The
   gateway serves it as /frontdesk-call.js; frontdesk.js loads it on the
   first call (loadPart) and gives it its helpers. */
(() => {
  'use strict';

  const frontdesk = window.Frontdesk;
  if (!frontdesk || typeof frontdesk.definePart !== 'function') return;
  const src = document.currentScript && document.currentScript.src;

  frontdesk.definePart((shared) => {
    const {
      win, doc, nav, el, button, setIcon, setText, fill, focus, sound, tone, stopAll, clock, endKey,
      videoAnswered, gathered, canCall, showFace, agentName, emit
    } = shared;

    const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
    // DTMF frequencies per KEYS row and column, for the keypad's local tone.
    const ROWS = [697, 770, 852, 941];
    const COLS = [1209, 1336, 1477];
    // Call end reasons that are no failure: nothing to offer after them.
    const NORMAL_END = ['ended-by-visitor', 'ended-by-agent', 'popped-out'];
    // Local reasons and their words (the gateway's: endKey).
    const LOCAL_END = { insecure: 'insecure', 'no-webrtc': 'noWebRTC', 'media-denied': 'mediaDenied', 'no-microphone': 'noMicrophone', unavailable: 'unavailableReason' };
    // How old a stored call may be for the next page to ask for it: the
    // longest calls.reattach_grace.
    const KEPT_FOR = 5 * 60 * 1000;

    // CallPart is the call view and the call it shows: WebRTC toward the
    // gateway, who is called (their picture, ringing, on hold), the
    // ringback, mute, camera, screen sharing, keypad and devices. One call
    // at a time; widget.call is its current one.
    class CallPart {
      constructor(widget) {
        this.widget = widget;
        this.current = null; // {agent, video, dn, state, reason, pc, mic, cam, scr, t0, sent, answered, …}
      }

      // build makes the call view.
      build() {
        const w = this.widget;
        const v = el('div', 'view callv');
        // Who is called: their picture (else initials), name, the call's
        // state and time.
        const who = (this.who = el('div', 'who'));
        this.face = el('span', 'pic big');
        this.face.setAttribute('aria-hidden', 'true');
        this.name = el('p', 'nm');
        who.append(this.face, this.name);
        const vids = (this.videos = el('div', 'vids'));
        const rv = (this.remoteVideo = el('video', 'rv'));
        const lv = (this.localVideo = el('video', 'lv'));
        [rv, lv].forEach((x) => {
          x.autoplay = true;
          x.playsInline = true;
          x.setAttribute('playsinline', '');
        });
        lv.muted = true;
        vids.append(rv, lv);
        this.status = el('p', 'cst');
        this.status.setAttribute('role', 'status');
        this.timer = el('p', 'tmr');
        this.timer.setAttribute('role', 'timer');
        this.note = el('p', 'note');
        // The browser would not play the call's audio without a click on
        // this page (a resumed call).
        this.tapButton = button('btn', null, () => this.tapAudio());
        w.label(this.tapButton.lbl, 'tapAudio');
        this.tapButton.hidden = true;
        this.heldNote = w.label(el('p', 'note'), 'heldNote');
        const ctl = (this.controls = el('div', 'ctl'));
        this.muteButton = button('rb', 'mic', () => this.mute());
        this.cameraButton = button('rb', 'video', () => this.camera());
        this.shareButton = button('rb', 'screen', () => this.share());
        this.padButton = button('rb', 'pad', () => this.toggle(this.padButton, this.pad));
        w.label(this.padButton.lbl, 'keypad');
        this.devicesButton = button('rb', 'gear', () => this.toggle(this.devicesButton, this.devices, () => this.listDevices()));
        // A short label on the button, the full one for assistive technology.
        w.label(this.devicesButton.lbl, 'settings');
        w.label(this.devicesButton, 'devices', 'aria-label');
        w.label(this.devicesButton, 'devices', 'title');
        this.popButton = button('rb', 'out', () => this.popOut());
        w.label(this.popButton.lbl, 'popOutShort');
        w.label(this.popButton, 'popOut', 'aria-label');
        w.label(this.popButton, 'popOut', 'title');
        this.hangupButton = button('rb end', 'phone', () => this.hangup());
        w.label(this.hangupButton.lbl, 'hangup');
        ctl.append(this.muteButton, this.cameraButton, this.shareButton, this.padButton, this.devicesButton, this.popButton, this.hangupButton);

        const pad = (this.pad = el('div', 'pad'));
        pad.setAttribute('role', 'group');
        w.label(pad, 'keypad', 'aria-label');
        KEYS.forEach((k) => pad.append(button('key', null, () => this.dtmf(k), k)));
        this.digits = el('output', 'digits');
        w.label(this.digits, 'keypad', 'aria-label');
        this.digits.hidden = true;
        pad.addEventListener('keydown', (e) => {
          const k = e.key === '#' || e.key === '*' || /^[0-9]$/.test(e.key) ? e.key : '';
          if (k && !e.repeat) this.dtmf(k);
        });
        pad.hidden = true;

        const devs = (this.devices = el('div', 'devs'));
        this.selects = {};
        [['audioinput', 'microphone'], ['videoinput', 'camera'], ['audiooutput', 'speaker']].forEach(([kind, key]) => {
          const s = (this.selects[kind] = el('select'));
          s.addEventListener('change', () => this.useDevice(kind, s.value));
          devs.append(w.field(key, s));
        });
        devs.hidden = true;

        const after = (this.after = el('div', 'row'));
        this.closeButton = button('btn', null, () => w.home());
        w.label(this.closeButton.lbl, 'dismiss');
        after.append(this.closeButton);
        this.alternatives = el('div', 'alts');
        if (w.type === 'pop') {
          const cw = button('btn', null, () => win.close());
          w.label(cw.lbl, 'closeWindow');
          after.append(cw);
        }
        // The rating of an answered call, when the widget asks (AfterView).
        this.afterBox = el('div');
        v.append(who, vids, this.status, this.timer, this.note, this.tapButton, this.heldNote, this.digits, ctl, pad, devs, this.alternatives, this.afterBox, after);
        return v;
      }

      // focusTarget is where the focus goes when the view shows: hang up
      // during a call; after one, the first way on, else Close.
      focusTarget() {
        const c = this.current;
        if (c && c.state !== 'ended') return this.hangupButton;
        return this.alternatives.querySelector('button:not([aria-disabled=true])') || this.closeButton;
      }

      setCall(state) {
        const c = this.current;
        c.state = state;
        this.widget.mark('call', state);
        this.callUI();
        this.widget.signals.emit('conversation');
        emit('call', { widget: this.widget.id, agent: c.agent, state, reason: c.reason || '', video: c.video });
      }

      // startCall calls agent id, or dest when it names what to call
      // instead (a group, or "contact us"; id is who the view shows until
      // the gateway says whom it rings).
      async startCall(id, video, from, dest) {
        const w = this.widget;
        const a = w.team.get(id);
        if (this.current && this.current.state !== 'ended') {
          w.panel.open('call', from);
          return;
        }
        if (!a || !w.session) return;
        sound();
        if (!canCall()) {
          // Show the reason in the call view, with nothing sent.
          this.begin({ agent: id, video, dn: '' });
          w.panel.open('call', from);
          this.endCall(!win.isSecureContext ? 'insecure' : 'no-webrtc');
          return;
        }
        if (w.blocker(a, video ? 'video' : 'voice')) return;
        const dn = await w.nameForm.ask(from);
        if (dn == null || (this.current && this.current.state !== 'ended')) return;
        const c = this.begin({ agent: id, dest: dest || id, video, dn, state: '', tries: 0 });
        w.panel.open('call', from);
        this.setCall('connecting');
        let stream = null;
        try {
          stream = await nav.mediaDevices.getUserMedia({ audio: true, video });
        } catch (e) {
          if (video && /NotFound|Overconstrained|NotReadable/.test(e.name)) {
            // No usable camera: fall back to audio.
            c.video = false;
            setText(this.note, w.t('noCamera'));
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
          pc = await this.offer(c, stream);
        } catch (e) {
          if (this.current === c && c.state !== 'ended') this.endCall('failed');
          return;
        }
        if (this.current !== c || c.state === 'ended') return;
        if (!w.online()) {
          this.endCall('connection-lost');
          return;
        }
        c.sent = true;
        w.pending = 'call';
        w.send({ mt: 'CreateCall', dest: c.dest, dn, video: c.video });
        w.send({ mt: 'Channels', cmd: 'PROPOSAL', sdp: pc.localDescription.sdp });
      }

      // offer makes c's PeerConnection with stream's tracks and its
      // offer, candidates gathered.
      async offer(c, stream) {
        const w = this.widget;
        const pc = (c.pc = new RTCPeerConnection({ iceServers: (w.ice && Array.isArray(w.ice.iceServers)) ? w.ice.iceServers : [] }));
        c.audioSender = pc.addTrack(c.mic, stream);
        if (c.cam) c.videoSender = pc.addTrack(c.cam, stream);
        pc.addEventListener('track', (e) => {
          const s = (e.streams && e.streams[0]) || new MediaStream([e.track]);
          if (this.remoteVideo.srcObject !== s) this.remoteVideo.srcObject = s;
          this.remoteVideo.play().then(() => { this.tapButton.hidden = true; }, () => { this.tapButton.hidden = false; });
        });
        pc.addEventListener('connectionstatechange', () => {
          if (pc.connectionState === 'failed' && this.current === c && c.pc === pc && c.state !== 'ended') {
            w.send({ mt: 'ClearCall' });
            this.endCall('media-failed');
          }
        });
        this.preview();
        this.callUI();
        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc, 3000);
        return pc;
      }

      // begin makes c the current call, with a clean view.
      begin(c) {
        this.current = c;
        setText(this.note, '');
        setText(this.digits, '');
        // The ways on after the call before are gone with it.
        this.widget.waysOn.fill(this.alternatives, '');
        this.widget.afterView.hide();
        this.widget.mark('call-audio-only', '0');
        return c;
      }

      callInfo(m) {
        const w = this.widget;
        const c = this.current;
        // Reason lost answers CallResume, never a running call.
        if (m.reason === 'lost') {
          this.lost();
          return;
        }
        // A call resumed after the visitor hung up: end it.
        if (m.resume && c && c.resuming && c.state === 'ended') w.send({ mt: 'ClearCall' });
        if (!c || !c.sent || c.state === 'ended') return;
        if (w.pending === 'call') w.pending = '';
        if (m.cmd === 'SELECT' && typeof m.sdp === 'string' && m.sdp && !c.answered) {
          c.answered = true;
          if (c.video && !videoAnswered(m.sdp)) this.audioOnly();
          c.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }).catch(() => {
            if (this.current === c && c.state !== 'ended') {
              w.send({ mt: 'ClearCall' });
              this.endCall('no-common-codec');
            }
          });
        }
        // After a transfer: who took the call (a name, or nobody named:
        // never still the agent who passed it on), or that it stayed here.
        if (c.state === 'transferring' && m.state === 'connected' && m.reason !== 'transfer-failed') {
          c.transferred = true;
          c.party = '';
        }
        if (typeof m.party === 'string' && m.party) {
          c.party = m.party;
          c.transferred = true; // also when a resumed call was transferred before
        }
        if (m.reason === 'transfer-failed' && m.state !== 'terminated') setText(this.note, w.t('transferFailed'));
        else if (c.state === 'transferring') setText(this.note, '');
        switch (m.state) {
          case 'trying':
            // A group call rings this member now; after the first, the
            // visitor hears that the next one is tried.
            if (typeof m.dest === 'string' && m.dest) c.agent = m.dest;
            this.ring(false);
            this.setCall(++c.tries > 1 ? 'trying' : 'connecting');
            break;
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
            c.resuming = false;
            if (!c.tick) {
              c.t0 = c.t0 || Date.now();
              c.tick = setInterval(() => {
                setText(this.timer, clock(Date.now() - c.t0));
                if (!w.panel.opened) w.signals.emit('tick');
              }, 1000);
            }
            this.setCall('connected');
            if (typeof m.resume === 'string' && m.resume) {
              c.token = m.resume;
              this.keep();
            }
            break;
          case 'held':
            this.setCall('held');
            break;
          case 'transferring':
            // The agent passes the call on: the timer runs on.
            this.setCall('transferring');
            break;
          case 'terminated':
            this.endCall(m.reason || 'failed');
            break;
        }
      }

      // refused ends the call the gateway refused with Error code.
      refused(code, retryAfter) {
        const c = this.current;
        if (!c || c.state === 'ended') return;
        if (code === 'retry-later') c.retryAfter = Math.max(1, Math.ceil(retryAfter || 1));
        this.endCall(code === 'agent-unavailable' ? 'unavailable' : code === 'agent-busy' ? 'busy' : code === 'too-many-calls' || code === 'retry-later' ? code : 'failed');
      }

      // connectionLost: the gateway keeps an answered call that has a
      // token for the next connection (reattach); it ends any other call
      // with its websocket, and one it knew of is asked after on the next
      // connection (resume).
      connectionLost() {
        const c = this.current;
        if (!c || c.state === 'ended') return;
        if (c.token && (c.state === 'connected' || c.state === 'held')) {
          // The gateway keeps the call a while: take it back once
          // connected again, with a new PeerConnection.
          if (c.pc) c.pc.close();
          c.reattach = true;
          this.setCall('reconnecting');
          return;
        }
        c.resume = !!c.sent;
        this.endCall('connection-lost');
      }

      // resume asks the gateway, once connected again, what became of the
      // call the lost connection carried (CallResume); the answer is a
      // CallInfo with reason lost (see lost).
      resume() {
        const c = this.current;
        if (c && c.reattach && c.state !== 'ended') this.reattach(c);
        if (!c || !c.resume) return;
        c.resume = false;
        c.resuming = true;
        this.widget.send({ mt: 'CallResume' });
      }

      // lost takes the answer to CallResume: the call did not survive the
      // lost connection (nor the gateway node that carried it), and the
      // visitor may call again.
      lost() {
        const c = this.current;
        if (!c || !c.resuming) return;
        if (c.state !== 'ended') this.endCall('lost');
        c.resuming = false;
        c.reason = 'lost';
        c.offerFor = c.agent;
        this.widget.mark('call-reason', 'lost');
        this.offerWays();
        this.callUI();
        emit('call', { widget: this.widget.id, agent: c.agent, state: 'ended', reason: 'lost', video: c.video });
      }

      // offerWays fills the ways on after a call that did not work: after a
      // lost call the first is to call again.
      offerWays() {
        const c = this.current;
        this.widget.waysOn.fill(this.alternatives, c ? c.offerFor : '', 'call', c && c.video, !!c && c.reason === 'lost');
      }

      // clear forgets an ended call (the visitor left its view).
      clear() {
        this.current = null;
        this.widget.mark('call', 'idle');
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
        const w = this.widget;
        const c = this.current;
        if (!c || c.state === 'ended') return;
        c.reason = reason;
        this.ring(false);
        clearInterval(c.tick);
        if (c.pc) {
          try { c.pc.close(); } catch (e) { /* closed */ }
        }
        stopAll(c.mic, c.cam, c.scr);
        if (c.token) w.keepCall(null);
        this.tapButton.hidden = true;
        this.remoteVideo.srcObject = null;
        this.localVideo.srcObject = null;
        if (w.pending === 'call') w.pending = '';
        this.pad.hidden = this.devices.hidden = true;
        w.mark('call-reason', reason);
        // After a call that did not work, offer other ways to reach someone.
        c.offerFor = NORMAL_END.indexOf(reason) >= 0 ? '' : c.agent;
        this.offerWays();
        if (c.t0) w.afterView.show(this.afterBox, 'call');
        this.setCall('ended');
        if (w.panel.view === 'call' && w.shadow.activeElement) focus(this.focusTarget());
      }

      hangup() {
        const c = this.current;
        if (!c || c.state === 'ended') return;
        if (c.sent && !c.resuming && !c.reattach) this.widget.send({ mt: 'ClearCall' });
        this.endCall('ended-by-visitor');
      }

      // words says the call's state, or why it ended.
      words(c) {
        const w = this.widget;
        if (c.state !== 'ended') {
          // After the first member of a group, the call tries the next.
          if (c.tries > 1 && (c.state === 'trying' || c.state === 'ringing')) return w.t('tryingNext');
          return w.t(c.state === 'ringing' ? 'ringing' : c.state === 'connected' ? 'connected' : c.state === 'held' ? 'onHold' : c.state === 'transferring' ? 'transferring' : c.state === 'reconnecting' ? 'callReconnecting' : 'connecting');
        }
        const r = c.reason;
        if (r === 'retry-later') return fill(w.t('endRetryLater'), { seconds: c.retryAfter || 1 });
        return w.t(LOCAL_END[r] || endKey(r)) || w.t('callEnded');
      }

      callUI() {
        const w = this.widget;
        const c = this.current;
        if (!c || !w.session || !this.status) return;
        const ended = c.state === 'ended';
        const running = !ended && !!c.pc && c.state !== 'reconnecting';
        const text = this.words(c);
        setText(this.status, text);
        const a = w.team.get(c.agent);
        // A transferred call shows the new party's name (initials only).
        const name = c.transferred ? c.party : a ? agentName(a) : '';
        showFace(this.face, name, a && !c.transferred ? a.url : '');
        setText(this.name, name);
        // While the agent's phone rings the picture pulses; on hold it
        // dims; in a video call the video takes its place.
        const seeing = !ended && c.video && (c.state === 'connected' || c.state === 'held');
        // The keypad and the settings take the picture's place (the head
        // still shows who it is).
        this.who.hidden = seeing || !this.pad.hidden || !this.devices.hidden;
        this.who.className = 'who ' + (ended ? 'ended' : c.state || 'connecting');
        w.root.classList.toggle('vc', seeing);
        this.videos.hidden = !seeing;
        this.heldNote.hidden = c.state !== 'held';
        this.timer.hidden = !c.t0;
        if (!c.t0) setText(this.timer, '');
        this.controls.hidden = ended;
        this.after.hidden = !ended;
        this.muteButton.hidden = !running;
        setText(this.muteButton.lbl, w.t(c.muted ? 'unmute' : 'mute'));
        setIcon(this.muteButton, c.muted ? 'micOff' : 'mic');
        this.muteButton.setAttribute('aria-pressed', String(!!c.muted));
        this.cameraButton.hidden = !running || !c.cam;
        setText(this.cameraButton.lbl, w.t(c.camOff ? 'cameraOn' : 'cameraOff'));
        setIcon(this.cameraButton, c.camOff ? 'camOff' : 'video');
        this.shareButton.hidden = !running || !c.videoSender || !c.video || !(nav.mediaDevices && nav.mediaDevices.getDisplayMedia);
        setText(this.shareButton.lbl, w.t(c.scr ? 'stopSharing' : 'shareScreen'));
        this.padButton.hidden = c.state !== 'connected';
        if (this.padButton.hidden) this.pad.hidden = true;
        this.digits.hidden = this.pad.hidden || !this.digits.textContent;
        this.devicesButton.hidden = !running;
        // A group call moves between members: it cannot move to a window.
        this.popButton.hidden = w.type === 'pop' || c.tries > 0 || !(c.state === 'connecting' || c.state === 'ringing');
        this.padButton.setAttribute('aria-expanded', String(!this.pad.hidden));
        this.devicesButton.setAttribute('aria-expanded', String(!this.devices.hidden));
        if (w.type === 'pop') doc.title = name + ' – ' + text;
      }

      preview() {
        const c = this.current;
        const t = c && (c.scr || c.cam);
        this.localVideo.srcObject = t ? new MediaStream([t]) : null;
        if (t) this.localVideo.play().catch(() => {});
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
        this.callUI();
        if (!box.hidden) {
          if (then) then();
          focus(box.querySelector('button,select'));
        }
      }

      // listDevices lists microphones, cameras and speakers for the settings.
      async listDevices() {
        const c = this.current;
        let list = [];
        try {
          list = await nav.mediaDevices.enumerateDevices();
        } catch (e) { /* none listed */ }
        const sink = 'setSinkId' in HTMLMediaElement.prototype;
        [['audioinput', 'microphone', c && c.mic], ['videoinput', 'camera', c && c.cam], ['audiooutput', 'speaker']].forEach(([kind, key, track]) => {
          const sel = this.selects[kind];
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

      async useDevice(kind, id) {
        const c = this.current;
        if (!c || c.state === 'ended' || !id) return;
        if (kind === 'audiooutput') {
          try {
            await this.remoteVideo.setSinkId(id);
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
        const w = this.widget;
        const c = this.current;
        if (!c || c.state === 'ended') return;
        const u = w.gateway + '/call/' + encodeURIComponent(w.id) + '?agent=' + encodeURIComponent(c.agent) +
          '&call=' + (c.video ? 'video' : 'voice') + '#name=' + encodeURIComponent(c.dn);
        const popup = win.open(u, 'frontdesk-call', 'popup,width=420,height=680');
        if (!popup) return; // blocked: the call stays here
        try { popup.opener = null; } catch (e) { /* cross-origin already */ }
        if (c.sent) w.send({ mt: 'ClearCall' });
        this.endCall('popped-out');
      }

      // keep stores the running call for the next page of this tab (the
      // gateway keeps it calls.reattach_grace under its token).
      keep() {
        const c = this.current;
        if (!c || !c.token || c.state === 'ended') return;
        this.widget.keepCall({ token: c.token, agent: c.agent, video: !!c.video, dn: c.dn, started: c.t0, at: Date.now() });
      }

      // restore shows the call an earlier page kept as reconnecting and
      // asks the gateway for it.
      restore(saved) {
        const w = this.widget;
        if (!saved || typeof saved.token !== 'string' || !(Date.now() - saved.at < KEPT_FOR) || (this.current && this.current.state !== 'ended')) {
          w.keepCall(null);
          return;
        }
        const c = this.begin({ agent: String(saved.agent), video: !!saved.video, dn: String(saved.dn || ''), state: '', token: saved.token, t0: +saved.started || Date.now(), tries: 0 });
        setText(this.timer, clock(Date.now() - c.t0));
        w.panel.open('call');
        this.setCall('reconnecting');
        this.reattach(c);
      }

      // reattach gives call c a new PeerConnection and sends its offer with
      // the call's token (CallResume); the answer is a connected CallInfo,
      // or reason lost.
      async reattach(c) {
        const w = this.widget;
        c.reattach = false;
        c.resuming = true;
        let stream = null;
        try {
          if (!c.mic || c.mic.readyState === 'ended') {
            stream = await nav.mediaDevices.getUserMedia({ audio: true, video: c.video });
            c.mic = stream.getAudioTracks()[0];
            c.cam = stream.getVideoTracks()[0] || null;
          } else {
            stream = new MediaStream([c.mic, c.cam].filter(Boolean));
          }
          if (this.current !== c || c.state === 'ended') throw new Error('gone');
          await this.offer(c, stream);
        } catch (e) {
          if (stream && this.current !== c) stopAll(...stream.getTracks());
          if (this.current === c && c.state !== 'ended') this.endCall('failed');
          return;
        }
        if (this.current !== c || c.state === 'ended') return;
        c.sent = true;
        c.answered = false;
        w.send({ mt: 'CallResume', token: c.token, sdp: c.pc.localDescription.sdp });
      }

      // tapAudio plays the call's audio on the visitor's click.
      tapAudio() {
        this.remoteVideo.play().then(() => { this.tapButton.hidden = true; }, () => {});
      }
    }

    return CallPart;
  }, src);
})();
