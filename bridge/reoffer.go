package bridge

import "fmt"

// SIPReoffer answers a re-INVITE/UPDATE offer from the PBX: hold and
// resume (sendonly, inactive, c=0.0.0.0), a new address after a transfer,
// new SDES keys, a new telephone-event PT. Only codecs the browser leg
// already negotiated can be accepted; otherwise ErrIncompatibleAnswer (the
// SIP side answers 488 and the call keeps its current media).
func (c *Call) SIPReoffer(sdp []byte) ([]byte, error) {
	var out []byte
	err := c.do(func() error {
		var err error
		out, err = c.applyReoffer(sdp)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("call %s: apply SIP re-offer: %w", c.id, err)
	}
	return out, nil
}

func (c *Call) applyReoffer(b []byte) ([]byte, error) {
	if !c.answered {
		return nil, ErrNotAnswered
	}
	sess, err := parseSDP(b)
	if err != nil {
		return nil, err
	}
	type pending struct {
		l  *leg
		ch *choice
	}
	var todo []pending
	used := map[*leg]bool{}
	ms := make([]outMedia, 0, len(sess.media))
	for i := range sess.media {
		m := &sess.media[i]
		reject := outMedia{kind: m.kind, proto: m.proto, formats: m.formats}
		l := c.legOfKind(m.kind)
		if l == nil || used[l] || m.port == 0 || len(l.agreed) == 0 {
			ms = append(ms, reject)
			continue
		}
		ch, err := c.match(l, m, l.offered, false)
		if err != nil {
			c.log.Info("re-offer m-line refused", "kind", m.kind, "err", err)
			ms = append(ms, reject)
			continue
		}
		ch.pairs = c.preferCurrent(l, ch.pairs)
		used[l] = true
		todo = append(todo, pending{l, ch})
		dir := m2dir(m)
		om := outMedia{kind: m.kind, port: l.s.pp.port, proto: m.proto, dir: dir}
		for _, p := range ch.pairs {
			if agreed(l.agreed, p.browser) && (p.browser.codec.isDTMF() || len(om.formats) == 0) {
				om.formats = append(om.formats, p.sip) // one main codec plus DTMF
			}
		}
		if c.sdes != nil {
			om.crypto = &crypto{tag: ch.tag, suite: c.sdes.suite, key: c.sdes.inline()}
		}
		ms = append(ms, om)
	}
	if len(todo) == 0 || todo[0].l != c.legs[0] {
		return nil, fmt.Errorf("no usable audio in the offer: %w", ErrIncompatibleAnswer)
	}
	wasHeld := c.held
	c.held = true
	for _, p := range todo {
		dir := m2dir(p.ch.m)
		c.publish(p.l, p.ch, dir)
		if p.l == c.legs[0] {
			c.held = !(dir == dirSendRecv || dir == dirSendOnly)
		}
	}
	for _, l := range c.legs {
		if !used[l] {
			l.s.route.Store(nil)
		}
	}
	if wasHeld && !c.held {
		c.mediaFrom = c.clock() // resume: the timeout starts over
	}
	c.version++
	return buildSDP(c.sessID, c.version, c.e.sdpAddr, ms), nil
}

func (c *Call) legOfKind(kind string) *leg {
	for _, l := range c.legs {
		if l.kind == kind {
			return l
		}
	}
	return nil
}

// preferCurrent moves the codec in use to the front when the offer still
// has it, so a re-INVITE does not switch codecs needlessly.
func (c *Call) preferCurrent(l *leg, ps []pairFormat) []pairFormat {
	rt := l.s.route.Load()
	if rt == nil || len(rt.pbxFormats) == 0 {
		return ps
	}
	for i, p := range ps {
		if !p.browser.codec.isDTMF() && sameCodec(p.sip, rt.pbxFormats[0]) {
			ps[0], ps[i] = ps[i], ps[0]
			break
		}
	}
	return ps
}
