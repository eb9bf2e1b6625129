package bridge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// defaultRTCPEvery is the RTCP report interval toward the PBX (RFC 3550's
// minimum is 5 s for a two-party session).
const defaultRTCPEvery = 5 * time.Second

// NewCall validates the browser's offer, binds RTP ports and prepares the
// SIP offer. The WebRTC answer is built later, from the PBX's answer, so the
// browser only ever gets codecs the PBX accepted.
func (e *Engine) NewCall(browserOffer string, opts CallOptions) (*Call, error) {
	if e.closed.Load() {
		return nil, fmt.Errorf("new call: %w", ErrClosed)
	}
	if len(browserOffer) > maxSDPBytes {
		return nil, fmt.Errorf("%w: %d bytes is more than %d", ErrBadOffer, len(browserOffer), maxSDPBytes)
	}
	// pion will parse the offer again later; refuse now what it would refuse.
	var check sdp.SessionDescription
	if err := check.UnmarshalString(browserOffer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	// What pion gets keeps only the ICE candidates the gateway may probe.
	dropped := e.candidates.Load().filter(&check)
	filtered, err := check.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	sess, err := parseSDP(filtered)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	var audioM, videoM *media
	for i := range sess.media {
		m := &sess.media[i]
		switch {
		case m.kind == "audio" && audioM == nil && m.port != 0:
			audioM = m
		case m.kind == "video" && videoM == nil && m.port != 0:
			videoM = m
		}
	}
	if audioM == nil {
		return nil, fmt.Errorf("%w: no audio m-line", ErrBadOffer)
	}
	audioFmts := passThrough(audioM)
	if !hasVoice(audioFmts) {
		return nil, fmt.Errorf("new call: browser offers none of opus, G722, PCMU, PCMA: %w", ErrNoCommonCodec)
	}
	var videoFmts []format
	if opts.AllowVideo && videoM != nil {
		videoFmts = passThrough(videoM)
	}
	log := opts.Log
	if log == nil {
		log = e.log
	}
	log = log.With("call", opts.ID)
	timeout := opts.RTPTimeout
	if timeout <= 0 {
		timeout = e.timeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Call{
		e: e, id: opts.ID, log: log, timeout: timeout, closeSettle: e.closeSettle, epoch: time.Now(),
		offer: string(filtered), sessID: rand.Uint64() >> 2,
		ctx: ctx, cancel: cancel,
		ops: make(chan func()), pcEvents: make(chan webrtc.PeerConnectionState, 8),
		loopDone: make(chan struct{}), done: make(chan struct{}),
		rtcpEvery: e.rtcpEvery,
	}
	if e.sdes {
		if c.sdes, err = newSDES(); err != nil {
			cancel()
			return nil, fmt.Errorf("new call: %w", err)
		}
	}
	kinds := []struct {
		kind string
		fmts []format
	}{{"audio", audioFmts}, {"video", videoFmts}}
	for _, k := range kinds {
		if len(k.fmts) == 0 {
			continue
		}
		pp, err := e.ports.get()
		if err != nil {
			cancel()
			return nil, errors.Join(fmt.Errorf("new call: %w", err), c.releasePorts())
		}
		c.legs = append(c.legs, &leg{kind: k.kind, s: newStream(k.kind, pp, opts.ID, &e.policy), offered: sipFormats(k.fmts)})
	}
	c.audio = c.legs[0].s
	c.sipOff = c.buildOffer(false)
	for _, l := range c.legs {
		r := newPBXRelay(l.s, c.clock)
		if c.useLite() && e.poller != nil {
			// The engine's poller reads it and runs the call's timers: no
			// goroutine parked and no timer per call.
			if c.polled, err = e.poller.add(&l.s.pp, r, c); err == nil {
				r = nil
			}
		}
		if r != nil {
			c.spawn(r.run)
		}
		c.spawn(func() { c.rtcpRead(l.s) })
		if c.polled == nil {
			c.spawn(func() { c.rtcpSend(l.s) })
		}
	}
	go c.run() // after c.polled is known: it decides who checks the timeout
	log.Debug("call created", "audio_port", c.audio.pp.port, "video", len(c.legs) > 1, "candidates_dropped", dropped)
	return c, nil
}

// releasePorts is NewCall's cleanup on failure.
func (c *Call) releasePorts() error {
	var errs []error
	for _, l := range c.legs {
		errs = append(errs, c.e.ports.put(l.s.pp))
	}
	return errors.Join(errs...)
}

// SIPOffer is the SDP offer for the INVITE.
func (c *Call) SIPOffer() []byte { return append([]byte(nil), c.sipOff...) }

// buildOffer writes our offer. Once the browser leg is negotiated (agreed)
// only its codecs are offered: anything else could not be relayed.
func (c *Call) buildOffer(negotiated bool) []byte {
	ms := make([]outMedia, 0, len(c.legs))
	for _, l := range c.legs {
		m := outMedia{kind: l.kind, port: l.s.pp.port, proto: "RTP/AVP", dir: dirSendRecv}
		for _, p := range l.offered {
			if negotiated && !agreed(l.agreed, p.browser) {
				continue
			}
			m.formats = append(m.formats, p.sip)
		}
		if len(m.formats) == 0 {
			m.port = 0
		}
		if c.sdes != nil {
			m.proto = "RTP/SAVP"
			m.crypto = &crypto{tag: "1", suite: suite80, key: c.sdes.inline()}
		}
		ms = append(ms, m)
	}
	c.version++
	return buildSDP(c.sessID, c.version, c.e.sdpAddr, ms)
}

// agreed reports whether a browser format is in the browser answer.
func agreed(fs []format, f format) bool {
	for _, a := range fs {
		if a.pt == f.pt && sameCodec(a, f) {
			return true
		}
	}
	return false
}

// SIPLocalOffer is our current offer, for a re-INVITE without SDP.
func (c *Call) SIPLocalOffer() []byte {
	var out []byte
	if err := c.do(func() error {
		out = c.buildOffer(c.answered)
		return nil
	}); err != nil {
		return c.SIPOffer()
	}
	return out
}
