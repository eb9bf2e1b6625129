// A bare Widget-API client for end-to-end call tests. It is not the product
// widget: it opens the websocket, sends Start, and on request places a call
// with the browser's own WebRTC stack, measures what it hears with WebAudio
// and reports everything on window.fd for the test to read.
'use strict';

window.fd = (() => {
  const fd = {
    ws: null,
    session: null,
    infos: {},
    iceServers: null,
    msgs: [],        // every message from the gateway, in order
    errors: [],      // Error messages and local failures
    callInfos: [],   // CallInfo messages of the current call
    state: 'idle',   // last CallInfo state, or idle
    reason: '',      // reason of terminated
    answer: '',      // the SDP answer applied
    offer: '',       // the SDP offer sent
    remoteDescriptionSet: false,
    pcState: '',
    pc: null,
    local: null,     // the local MediaStream
    analyser: null,
    audioCtx: null,
  };

  function log(s) {
    const el = document.getElementById('log');
    if (el) el.textContent += s + '\n';
  }

  function fail(where, e) {
    const text = where + ': ' + (e && e.message ? e.message : String(e));
    fd.errors.push(text);
    log('ERROR ' + text);
  }

  function send(m) {
    fd.ws.send(JSON.stringify(m));
  }

  async function onCallInfo(m) {
    fd.callInfos.push(m);
    fd.state = m.state;
    if (m.state === 'terminated') {
      fd.reason = m.reason || '';
      closeMedia();
      return;
    }
    if (m.cmd === 'SELECT' && m.sdp && fd.pc) {
      fd.answer = m.sdp;
      try {
        await fd.pc.setRemoteDescription({type: 'answer', sdp: m.sdp});
        fd.remoteDescriptionSet = true;
      } catch (e) {
        fail('setRemoteDescription', e);
      }
    }
  }

  function onMessage(ev) {
    let m;
    try {
      m = JSON.parse(ev.data);
    } catch (e) {
      fail('parse', e);
      return;
    }
    fd.msgs.push(m);
    log('< ' + m.mt + (m.state ? ' ' + m.state : '') + (m.code ? ' ' + m.code : '') + (m.reason ? ' ' + m.reason : ''));
    switch (m.mt) {
      case 'Session': fd.session = m; break;
      case 'Info': fd.infos[m.id] = m; break;
      case 'IceConfig': fd.iceServers = m.iceServers || []; break;
      case 'Error': fd.errors.push('Error ' + m.code); break;
      case 'CallInfo': onCallInfo(m); break;
    }
  }

  // connect opens the websocket and sends Start; it resolves once IceConfig
  // arrived (the end of the start-up messages).
  fd.connect = (url, widget) => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    fd.ws = ws;
    const timer = setTimeout(() => reject(new Error('no IceConfig within 10 s')), 10000);
    ws.onopen = () => send({mt: 'Start', uuid: widget, lang: navigator.languages ? Array.from(navigator.languages) : []});
    ws.onmessage = (ev) => {
      onMessage(ev);
      if (fd.iceServers !== null) {
        clearTimeout(timer);
        resolve({session: fd.session, infos: fd.infos, iceServers: fd.iceServers});
      }
    };
    ws.onerror = () => fail('websocket', 'error');
    ws.onclose = (ev) => {
      log('websocket closed ' + ev.code);
      clearTimeout(timer);
      reject(new Error('websocket closed ' + ev.code));
    };
  });

  function gatheringComplete(pc, ms) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('ICE gathering not complete within ' + ms + ' ms')), ms);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  function listen(stream) {
    // Chrome pulls remote WebRTC audio into WebAudio only while the stream
    // also plays in a media element.
    const el = document.createElement('audio');
    el.autoplay = true;
    el.muted = true;
    el.srcObject = stream;
    document.body.appendChild(el);
    el.play().catch((e) => fail('audio element', e));
    const ctx = new AudioContext({sampleRate: 48000});
    const src = ctx.createMediaStreamSource(stream);
    const an = ctx.createAnalyser();
    an.fftSize = 8192;
    an.smoothingTimeConstant = 0;
    src.connect(an);
    fd.audioCtx = ctx;
    fd.analyser = an;
    ctx.resume().catch((e) => fail('AudioContext', e));
  }

  function closeMedia() {
    if (fd.pc) {
      fd.pc.close();
    }
    if (fd.local) {
      fd.local.getTracks().forEach((t) => t.stop());
    }
    if (fd.audioCtx) {
      fd.audioCtx.close();
    }
    fd.pc = null;
    fd.local = null;
    fd.analyser = null;
    fd.audioCtx = null;
  }

  // call places a call to the agent with id dest: the microphone (and, with
  // video, the camera), the complete offer, CreateCall, Channels. It resolves
  // once both messages are sent; progress shows in fd.state.
  fd.call = async (dest, video) => {
    fd.errors = [];
    fd.callInfos = [];
    fd.state = 'calling';
    fd.reason = '';
    fd.answer = '';
    fd.remoteDescriptionSet = false;
    // No processing: noise suppression would treat a steady tone as noise.
    fd.local = await navigator.mediaDevices.getUserMedia({
      audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false},
      video: !!video,
    });
    const pc = new RTCPeerConnection({iceServers: fd.iceServers || []});
    fd.pc = pc;
    pc.onconnectionstatechange = () => {
      fd.pcState = pc.connectionState;
      log('pc ' + pc.connectionState);
    };
    pc.ontrack = (ev) => {
      log('track ' + ev.track.kind);
      if (ev.track.kind === 'audio') {
        listen(new MediaStream([ev.track]));
      }
    };
    fd.local.getTracks().forEach((t) => pc.addTrack(t, fd.local));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await gatheringComplete(pc, 10000);
    fd.offer = pc.localDescription.sdp;
    send({mt: 'CreateCall', dest: dest, dn: 'Browser Visitor', video: !!video});
    send({mt: 'Channels', cmd: 'PROPOSAL', sdp: fd.offer});
    return true;
  };

  // createCallOnly sends CreateCall alone (for refusals that come before any
  // media is set up).
  fd.createCallOnly = (dest, video) => {
    send({mt: 'CreateCall', dest: dest, dn: 'Browser Visitor', video: !!video});
    return true;
  };

  fd.hangup = () => {
    send({mt: 'ClearCall'});
    return true;
  };

  // hear returns the strongest frequency the page hears now and its level
  // (dBFS of that FFT bin), or null before remote audio plays.
  fd.hear = () => {
    const an = fd.analyser;
    if (!an) return null;
    const bins = new Float32Array(an.frequencyBinCount);
    an.getFloatFrequencyData(bins);
    const hz = fd.audioCtx.sampleRate / an.fftSize;
    let best = 0;
    // Skip DC and the lowest bins.
    for (let i = 4; i < bins.length; i++) {
      if (bins[i] > bins[best] || best < 4) best = i;
    }
    return {freq: best * hz, db: bins[best], binHz: hz};
  };

  // listenFor takes n readings, ms apart.
  fd.listenFor = async (n, ms) => {
    const out = [];
    for (let i = 0; i < n; i++) {
      await new Promise((r) => setTimeout(r, ms));
      out.push(fd.hear());
    }
    return out;
  };

  // inbound sums the inbound-rtp statistics per kind.
  fd.inbound = async () => {
    const out = {};
    if (!fd.pc) return out;
    const stats = await fd.pc.getStats();
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const k = s.kind || s.mediaType;
      const o = out[k] || (out[k] = {packetsReceived: 0, bytesReceived: 0, framesDecoded: 0, frameWidth: 0});
      o.packetsReceived += s.packetsReceived || 0;
      o.bytesReceived += s.bytesReceived || 0;
      o.framesDecoded += s.framesDecoded || 0;
      o.frameWidth = Math.max(o.frameWidth, s.frameWidth || 0);
    });
    return out;
  };

  // status is everything the test polls, in one JSON-able object.
  fd.status = () => ({
    state: fd.state,
    reason: fd.reason,
    pcState: fd.pcState,
    answer: fd.answer,
    remoteDescriptionSet: fd.remoteDescriptionSet,
    errors: fd.errors.slice(),
    callInfos: fd.callInfos.slice(),
    listening: !!fd.analyser,
  });

  return fd;
})();
