package bridge

import (
	"fmt"
	"net/netip"
)

// SIPAnswer applies the PBX's answer (a 183 with SDP when final is false,
// the 200 OK when true). The first one builds the browser's answer with
// exactly the codecs the PBX picked and starts the relay; later ones update
// the RTP side and return "".
func (c *Call) SIPAnswer(sdp []byte, final bool) (string, error) {
	var answer string
	err := c.do(func() error {
		var err error
		answer, err = c.applyAnswer(sdp, final)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("call %s: apply SIP answer: %w", c.id, err)
	}
	return answer, nil
}

// SIPReanswer applies the PBX's answer to SIPLocalOffer (from the ACK).
func (c *Call) SIPReanswer(sdp []byte) error {
	err := c.do(func() error {
		if !c.answered {
			return ErrNotAnswered
		}
		_, err := c.applyAnswer(sdp, c.final)
		return err
	})
	if err != nil {
		return fmt.Errorf("call %s: apply SIP re-answer: %w", c.id, err)
	}
	return nil
}

// choice is what one m-line of the PBX's SDP resolves to.
type choice struct {
	pairs []pairFormat // browser format <-> the PBX's PT, main codec first
	m     *media
	keys  *srtpKeys
	tag   string // crypto tag answered
}

// applyAnswer runs on the call goroutine.
func (c *Call) applyAnswer(b []byte, final bool) (string, error) {
	sess, err := parseSDP(b)
	if err != nil {
		return "", err
	}
	first := !c.answered
	choices := make([]*choice, len(c.legs))
	for i, l := range c.legs {
		m := findMedia(sess, l.kind, i)
		if m == nil || m.port == 0 {
			if i == 0 {
				return "", fmt.Errorf("the PBX rejected audio: %w", ErrIncompatibleAnswer)
			}
			continue
		}
		ch, err := c.match(l, m, l.offered, first)
		if err != nil {
			if i == 0 {
				return "", err
			}
			c.log.Info("video from the PBX not usable", "err", err)
			continue
		}
		choices[i] = ch
	}
	var answer string
	if first {
		if c.useLite() {
			answer, err = c.answerBrowserLite(choices)
		} else {
			answer, err = c.answerBrowser(choices)
		}
		if err != nil {
			return "", err
		}
		c.answered = true
		c.mediaFrom = c.clock()
	}
	for i, l := range c.legs {
		ch := choices[i]
		if ch == nil {
			l.s.route.Store(nil)
			continue
		}
		if !first && !hasVoiceOrVideo(ch.pairs, l.agreed) {
			return "", fmt.Errorf("the PBX switched to %s, not negotiated with the browser: %w", ch.pairs[0].sip.name, ErrIncompatibleAnswer)
		}
		dir := m2dir(ch.m)
		c.publish(l, ch, dir)
	}
	if final && !c.final {
		c.final = true
		c.mediaFrom = c.clock()
	}
	return answer, nil
}

// findMedia finds the m-line answering our i-th: same index when kinds
// agree, else the first of that kind.
func findMedia(s *session, kind string, i int) *media {
	if i < len(s.media) && s.media[i].kind == kind {
		return &s.media[i]
	}
	for j := range s.media {
		if s.media[j].kind == kind {
			return &s.media[j]
		}
	}
	return nil
}

// match pairs the PBX's formats (its order = its preference) with ours
// and checks the transport.
func (c *Call) match(l *leg, m *media, ours []pairFormat, first bool) (*choice, error) {
	ch := &choice{m: m}
	switch {
	case c.sdes == nil && !m.plainRTP():
		return nil, fmt.Errorf("%s transport %s, want RTP/AVP: %w", m.kind, m.proto, ErrIncompatibleAnswer)
	case c.sdes != nil:
		if !m.sdesRTP() {
			return nil, fmt.Errorf("%s transport %s, SRTP (SDES) is required: %w", m.kind, m.proto, ErrIncompatibleAnswer)
		}
		cr, ok := pickCrypto(m.cryptos)
		if !ok {
			return nil, fmt.Errorf("%s: no supported a=crypto suite: %w", m.kind, ErrIncompatibleAnswer)
		}
		keys, err := c.sdes.keys(cr)
		if err != nil {
			return nil, err
		}
		ch.keys, ch.tag = keys, cr.tag
	}
	for _, f := range m.formats {
		for _, p := range ours {
			if !sameCodec(f, p.browser) || (!first && !agreed(l.agreed, p.browser)) || hasPair(ch.pairs, p.browser.pt) {
				continue
			}
			sip := f
			sip.fmtp = p.sip.fmtp
			if f.fmtp != "" {
				sip.fmtp = f.fmtp
			}
			ch.pairs = append(ch.pairs, pairFormat{browser: p.browser, sip: sip})
			break
		}
	}
	if !hasVoiceOrVideo(ch.pairs, nil) {
		return nil, fmt.Errorf("no %s codec in common with the browser leg: %w", m.kind, ErrIncompatibleAnswer)
	}
	// Main codec first: the media clock follows it.
	for i, p := range ch.pairs {
		if !p.browser.codec.isDTMF() {
			ch.pairs[0], ch.pairs[i] = ch.pairs[i], ch.pairs[0]
			break
		}
	}
	return ch, nil
}

func hasPair(ps []pairFormat, browserPT uint8) bool {
	for _, p := range ps {
		if p.browser.pt == browserPT {
			return true
		}
	}
	return false
}

// hasVoiceOrVideo reports whether the pairs carry media (not only DTMF),
// restricted to the agreed browser formats when given.
func hasVoiceOrVideo(ps []pairFormat, agreedFmts []format) bool {
	for _, p := range ps {
		if p.browser.codec.isDTMF() {
			continue
		}
		if agreedFmts == nil || agreed(agreedFmts, p.browser) {
			return true
		}
	}
	return false
}

// m2dir is our direction toward the PBX given its m-line, offer or
// answer alike: the reverse of the PBX's.
func m2dir(m *media) direction {
	d := m.dir.reverse()
	if m.addr.IsUnspecified() && (d == dirSendRecv || d == dirSendOnly) {
		// c=0.0.0.0 is RFC 2543 hold: do not send to it.
		if d == dirSendRecv {
			return dirRecvOnly
		}
		return dirInactive
	}
	return d
}

// publish builds and swaps in a new route for the leg.
func (c *Call) publish(l *leg, ch *choice, dir direction) {
	c.gen++
	rt := &route{
		gen:        c.gen,
		since:      c.clock(),
		remote:     netip.AddrPortFrom(ch.m.addr, uint16(ch.m.port)),
		remoteRTCP: ch.m.rtcpDest(),
		send:       dir == dirSendRecv || dir == dirSendOnly,
		keys:       ch.keys,
		tePBX:      noPT,
		dir:        dir,
		clock:      ch.pairs[0].browser.clock,
	}
	for i := range rt.toPBX {
		rt.toPBX[i], rt.toBrowser[i] = noPT, noPT
	}
	for _, p := range ch.pairs {
		if !agreed(l.agreed, p.browser) {
			continue
		}
		rt.toPBX[p.browser.pt] = p.sip.pt
		rt.toBrowser[p.sip.pt] = p.browser.pt
		rt.pbxFormats = append(rt.pbxFormats, p.sip)
		if p.browser.codec.isDTMF() && (rt.tePBX == noPT || p.sip.clock == rt.clock) {
			rt.tePBX, rt.teClock = p.sip.pt, p.sip.clock
		}
	}
	l.s.route.Store(rt)
	c.log.Debug("media route", "kind", l.kind, "remote", rt.remote, "dir", dir, "codec", ch.pairs[0].sip.name, "gen", rt.gen)
}
