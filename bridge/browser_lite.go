package bridge

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/webrtclite"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// liteConnectTimeout bounds ICE and DTLS with the browser on a lite call.
const liteConnectTimeout = 30 * time.Second

// liteLeg is a voice call's browser side on the lite stack: a session on a
// shared socket. Browser RTP is relayed on the socket's reader goroutine;
// the relay's state belongs to whoever holds owner.
type liteLeg struct {
	sess  *webrtclite.Session
	relay *browserRelay
	owner atomic.Int32
}

// useLite reports whether this call's browser side runs on the lite stack:
// the engine has one and the call is voice only.
func (c *Call) useLite() bool { return c.e.lite != nil && len(c.legs) == 1 }

// answerBrowserLite is answerBrowser for the lite stack. Runs on the call
// goroutine.
func (c *Call) answerBrowserLite(choices []*choice) (string, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(c.offer); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	mi := -1
	for i, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0 {
			mi = i
			break
		}
	}
	if mi < 0 || choices[0] == nil {
		return "", fmt.Errorf("%w: no audio m-line", ErrBadOffer)
	}
	peer, setup, err := offerPeer(&sd, mi)
	if err != nil {
		return "", err
	}
	l, ch := c.legs[0], choices[0]
	s := l.s
	ls := c.e.lite
	t := ls.transports[0]
	ssrc, seq, ts := randomStart()
	s.sent.ssrc.Store(ssrc)
	leg := &liteLeg{relay: newBrowserRelay(s, nil, c.clock, ssrc, seq, ts)}
	sess, err := t.NewSession(webrtclite.Config{Role: webrtclite.Lite, Peer: peer, OnRTP: leg.fromBrowser})
	if err != nil {
		return "", fmt.Errorf("lite WebRTC session: %w", err)
	}
	leg.sess = sess
	c.lite = leg
	c.liteDone = sess.Done()
	outSSRC, _, _ := randomStart()
	s.track.mime = ch.pairs[0].browser.mimeType(l.kind)
	s.track.bound.Store(&trackBinding{w: &liteWriter{sess: sess, queue: c.polled != nil}, ssrc: outSSRC})

	parsed, err := parseSDP([]byte(c.offer))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	dir := dirSendRecv
	if offered := findMedia(parsed, "audio", mi); offered != nil {
		dir = offered.dir.reverse()
	}
	fmts := make([]format, 0, len(ch.pairs))
	for _, p := range ch.pairs {
		fmts = append(fmts, p.browser)
	}
	_, bundle := sd.Attribute("group")
	answer := (&liteAnswer{offer: &sd, audio: mi, formats: fmts, dir: dir, ufrag: sess.LocalUfrag(), pwd: sess.LocalPwd(),
		print: t.Fingerprint(), setup: setup, cand: netip.AddrPortFrom(ls.announce[0], t.LocalAddr().Port()), ssrc: outSSRC,
		cname: "frontdesk-" + c.id, sessID: c.sessID, bundling: bundle}).String()
	if err := c.learnAgreed(answer); err != nil {
		return "", err
	}
	ctx := c.ctx
	c.spawn(func() {
		cctx, cancel := context.WithTimeout(ctx, liteConnectTimeout)
		defer cancel()
		if err := sess.Connect(cctx); err != nil && ctx.Err() == nil {
			c.log.Info("browser media not connected", "err", err)
			select {
			case c.pcEvents <- webrtc.PeerConnectionStateFailed:
			default:
			}
		}
	})
	return answer, nil
}

// fromBrowser relays one decrypted browser packet, on the shared socket's
// reader goroutine. While a DTMF event plays, voice is only counted.
func (l *liteLeg) fromBrowser(pkt []byte) {
	b := l.relay
	if !l.owner.CompareAndSwap(ownerIdle, ownerRelay) {
		b.s.fromBrowser.add(len(pkt), b.clock())
		return
	}
	b.handle(pkt)
	l.owner.Store(ownerIdle)
}

// driveDTMF plays the requested DTMF event: it takes the stream from the
// reader (which is inside one packet at most, for microseconds), steps the
// event on its own clock and gives the stream back. It runs as a call
// goroutine, one at a time (SendDTMF is serialised).
func (l *liteLeg) driveDTMF(ctx context.Context) {
	b := l.relay
	for !l.owner.CompareAndSwap(ownerIdle, ownerDTMF) {
		if ctx.Err() != nil {
			if job := b.s.dtmf.Swap(nil); job != nil {
				job.done <- ErrClosed
			}
			return
		}
		runtime.Gosched()
	}
	defer l.owner.Store(ownerIdle)
	defer b.dtmf.abort(ErrClosed)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		b.stepDTMF()
		if !b.dtmf.active() {
			return
		}
		t.Reset(time.Until(b.wake))
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}
