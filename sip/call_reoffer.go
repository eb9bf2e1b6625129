package sip

// Reinvite (call.go) runs here, on the leg's goroutine: the re-INVITE
// with our new offer travels as the leg's refresh transaction, so it never
// crosses a session refresh of ours, and a PBX re-INVITE meanwhile gets
// 491 (offerPending).

// pendingReoffer is a Reinvite awaiting its final response.
type pendingReoffer struct {
	previous []byte // our SDP before, kept when the offer is refused
	reply    chan legReply
}

// startReoffer sends the re-INVITE of c, or refuses at once with 491 when
// an exchange is under way.
func (l *Leg) startReoffer(c legCmd) {
	st := &l.st
	if st.refreshTx != nil || st.inReinvite != nil || st.reoffer != nil {
		c.reply <- legReply{err: &StatusError{Method: "INVITE", Code: 491, Reason: "Request Pending (an exchange is under way)"}}
		return
	}
	st.reoffer = &pendingReoffer{previous: st.localSDP, reply: c.reply}
	st.localSDP = c.reoffer
	st.refreshAuth = digestAnswers{}
	l.refresh()
}

// finishReoffer answers the Reinvite under way, if any, and reports
// whether there was one. On error our SDP is the previous one again.
func (l *Leg) finishReoffer(answer []byte, err error) bool {
	st := &l.st
	p := st.reoffer
	if p == nil {
		return false
	}
	st.reoffer = nil
	if err != nil {
		st.localSDP = p.previous
	}
	p.reply <- legReply{answer: answer, err: err}
	return true
}
