package bridge

import (
	"errors"
	"fmt"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

var (
	// ErrNotDetached: Reattach on a call whose browser leg is still there.
	ErrNotDetached = errors.New("the call's browser leg is attached")
	// ErrReattachUnsupported: the call's browser side cannot be replaced
	// (lite stack).
	ErrReattachUnsupported = errors.New("re-attaching is not supported on this call's WebRTC stack")
)

// browserRelayFor is the relay for a browser leg's track: it continues the
// rewriter a detached leg left (same SSRC, next sequence number, timestamps
// advanced by the time elapsed), or starts a new random stream.
func (c *Call) browserRelayFor(s *stream, tr *webrtc.TrackRemote) *browserRelay {
	if rw := s.carried.Swap(nil); rw != nil {
		r := newBrowserRelay(s, tr, c.clock, 0, 0, 0)
		r.rw = *rw
		r.rw.haveSrc = false // the new leg's SSRC is a new source: a talk spurt
		return r
	}
	ssrc, seq, ts := randomStart()
	s.sent.ssrc.Store(ssrc)
	return newBrowserRelay(s, tr, c.clock, ssrc, seq, ts)
}

// Detach drops the browser leg (its page is gone) and keeps the PBX leg:
// nothing is sent to the PBX until Reattach (the agent hears silence, as
// for a muted microphone), and neither the browser leg's end nor the RTP
// timeout ends the call meanwhile.
func (c *Call) Detach() error {
	err := c.do(func() error {
		switch {
		case !c.answered:
			return ErrNotAnswered
		case c.lite != nil:
			return ErrReattachUnsupported
		case c.detached:
			return nil
		}
		c.detached = true
		pc := c.pc
		c.pc = nil
		c.pcShared.Store(nil)
		if pc != nil {
			if err := pc.Close(); err != nil {
				c.log.Debug("close detached PeerConnection", "err", err)
			}
		}
		for _, l := range c.legs {
			s := l.s
			if r := s.relay.Swap(nil); r != nil {
				<-r.done // its track ended with the PeerConnection
				rw := r.rw
				s.carried.Store(&rw)
			}
			s.remote.Store(nil)
			s.track.bound.Store(nil)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("call %s: detach browser leg: %w", c.id, err)
	}
	c.log.Info("browser leg detached")
	return nil
}

// Reattach gives a detached call a new browser leg from offer and returns
// its SDP answer. The PBX leg is not touched: the route toward the PBX
// keeps its generation (latching, SRTP, telephone-event), only the browser
// payload types are mapped anew. The offer must carry the codec the call
// uses toward the PBX, else ErrNoCommonCodec (no re-INVITE is sent).
func (c *Call) Reattach(offer string) (string, error) {
	var answer string
	err := c.do(func() error {
		var err error
		answer, err = c.reattach(offer)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("call %s: re-attach browser leg: %w", c.id, err)
	}
	c.log.Info("browser leg re-attached")
	return answer, nil
}

func (c *Call) reattach(offer string) (string, error) {
	if !c.detached {
		return "", ErrNotDetached
	}
	if len(offer) > maxSDPBytes {
		return "", fmt.Errorf("%w: %d bytes is more than %d", ErrBadOffer, len(offer), maxSDPBytes)
	}
	var check sdp.SessionDescription
	if err := check.UnmarshalString(offer); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	c.e.candidates.Load().filter(&check)
	filtered, err := check.Marshal()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	sess, err := parseSDP(filtered)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	choices := make([]*choice, len(c.legs))
	for i, l := range c.legs {
		rt := l.s.route.Load()
		m := findMedia(sess, l.kind, i)
		if rt == nil || m == nil || m.port == 0 {
			if i == 0 {
				return "", fmt.Errorf("the new offer has no audio: %w", ErrNoCommonCodec)
			}
			continue
		}
		pairs, err := c.remap(l, rt, passThrough(m))
		if err != nil {
			if i == 0 {
				return "", err
			}
			c.log.Info("video not re-attached", "err", err)
			continue
		}
		choices[i] = &choice{pairs: pairs}
	}
	c.offer = string(filtered)
	answer, err := c.answerBrowser(choices)
	if err != nil {
		return "", err
	}
	for i, l := range c.legs {
		if choices[i] == nil {
			continue
		}
		c.rebind(l, choices[i].pairs)
	}
	c.detached = false
	c.mediaFrom = c.clock()
	return answer, nil
}

// remap pairs the new offer's formats with the PBX formats the route uses,
// main codec first.
func (c *Call) remap(l *leg, rt *route, offered []format) ([]pairFormat, error) {
	var pairs []pairFormat
	for _, sf := range rt.pbxFormats {
		for _, bf := range offered {
			if sameCodec(bf, sf) && !hasPair(pairs, bf.pt) {
				pairs = append(pairs, pairFormat{browser: bf, sip: sf})
				break
			}
		}
	}
	main := ""
	for _, sf := range rt.pbxFormats {
		if !sf.codec.isDTMF() {
			main = sf.name
			break
		}
	}
	if len(pairs) == 0 || pairs[0].sip.codec.isDTMF() || pairs[0].sip.name != main {
		return nil, fmt.Errorf("the new page does not offer %s, the codec of the call: %w", main, ErrNoCommonCodec)
	}
	// Later re-offers from the PBX match against the new leg's formats.
	for i, p := range l.offered {
		for _, bf := range offered {
			if sameCodec(bf, p.browser) {
				l.offered[i].browser = bf
				break
			}
		}
	}
	return pairs, nil
}

// rebind publishes the route with the new browser payload types and the
// same generation: toward the PBX nothing changes.
func (c *Call) rebind(l *leg, pairs []pairFormat) {
	old := l.s.route.Load()
	rt := *old
	for i := range rt.toPBX {
		rt.toPBX[i], rt.toBrowser[i] = noPT, noPT
	}
	for _, p := range pairs {
		if !agreed(l.agreed, p.browser) {
			continue
		}
		rt.toPBX[p.browser.pt] = p.sip.pt
		rt.toBrowser[p.sip.pt] = p.browser.pt
	}
	l.s.route.Store(&rt)
}

// Detach drops the call's browser leg and keeps its SIP leg, for the
// visitor's next page (Call.Detach). Hangup still ends the call with BYE.
func (c *Connection) Detach() error { return c.media.Detach() }

// Reattach gives the call a new browser leg and returns its SDP answer
// (Call.Reattach); the SIP dialog is not touched.
func (c *Connection) Reattach(offer string) (string, error) { return c.media.Reattach(offer) }

// Reattachable says whether the call's browser leg can be replaced: false
// on the lite stack (set when the call is made, never changed).
func (c *Connection) Reattachable() bool { return c.media.lite == nil }
