package sip

import (
	"bytes"
	"math/rand/v2"
	"time"

	"github.com/emiago/sipgo/sip"
)

// inbound is an in-dialog request handed to a leg's goroutine. The route
// handler waits for handled: sipgo ends the server transaction when the
// handler returns.
type inbound struct {
	req     *sip.Request
	tx      sip.ServerTransaction
	handled chan struct{}
}

// pendingReinvite is a re-INVITE from the PBX we answered with 2xx and
// whose ACK has not come yet.
type pendingReinvite struct {
	seq        uint32
	res        *sip.Response
	tx         sip.ServerTransaction
	wantAnswer bool // our 2xx carried an offer: the answer comes in the ACK
	timer      *time.Timer
	interval   time.Duration
	giveUp     time.Time
}

func (s *legState) inReinviteTimer() *time.Timer {
	if s.inReinvite == nil || s.inReinvite.timer == nil {
		return nil
	}
	return s.inReinvite.timer
}

// onCallRequest routes INVITE-dialog requests from the PBX to their leg.
// The gateway never takes calls, so an INVITE outside a dialog is refused.
func (u *UA) onCallRequest(req *sip.Request, tx sip.ServerTransaction) {
	var localTag string
	if to := req.To(); to != nil {
		localTag, _ = to.Params.Get("tag")
	}
	var l *Leg
	if cid := req.CallID(); cid != nil && localTag != "" {
		l = u.calls.get(legKey{callID: string(*cid), localTag: localTag})
	}
	switch {
	case req.IsAck() && l == nil:
		return // nothing to answer
	case req.IsInvite() && localTag == "":
		u.respond(tx, req, sip.StatusForbidden, "Incoming Calls Not Accepted")
		return
	case l == nil:
		// Also every CANCEL: we never answer an INVITE it could cancel.
		u.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	in := inbound{req: req, tx: tx, handled: make(chan struct{})}
	select {
	case l.inbox <- in:
		<-in.handled
	case <-l.done:
		if !req.IsAck() {
			u.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		}
	}
}

// onRequest handles an in-dialog request on the leg's goroutine.
func (l *Leg) onRequest(in inbound) {
	st := &l.st
	req := in.req
	if req.IsAck() {
		l.onAck(req)
		return
	}
	fromTag, _ := req.From().Params.Get("tag")
	active := st.phase == phaseConfirmed || (st.phase == phaseEnding && req.Method == sip.BYE)
	if !active || fromTag != st.remoteTag {
		l.respond(in, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
		return
	}
	seq := req.CSeq().SeqNo
	if st.remoteSeq != 0 && seq <= st.remoteSeq {
		l.respond(in, sip.StatusInternalServerError, "CSeq Out Of Order", nil)
		return
	}
	st.remoteSeq = seq
	switch req.Method {
	case sip.BYE:
		l.respond(in, sip.StatusOK, "OK", nil)
		reason := "BYE"
		if h := req.GetHeader("Reason"); h != nil {
			reason = "BYE (" + h.Value() + ")"
		}
		l.endAs(EndRemoteHangup, 0, reason)
	case sip.INVITE:
		l.onReinvite(in)
	case sip.UPDATE:
		l.onUpdate(in)
	case sip.INFO:
		l.onInfo(in)
	case sip.REFER:
		l.onRefer(in)
	default:
		l.respond(in, sip.StatusMethodNotAllowed, "Method Not Allowed", nil, sip.NewHeader("Allow", allowed))
	}
}

// onReinvite answers a re-INVITE: an offer goes to Reoffer, no offer asks
// OfferRequest for ours and waits for the answer in the ACK.
func (l *Leg) onReinvite(in inbound) {
	st := &l.st
	if l.offerPending() {
		l.respond(in, 491, "Request Pending", nil)
		return
	}
	if l.sessionTooSmall(in) {
		return
	}
	if st.inReinvite != nil { // the ACK of the previous one was lost
		l.clearReinvite()
	}
	p := &pendingReinvite{seq: in.req.CSeq().SeqNo, tx: in.tx}
	var body []byte
	if offer := sdpOf(in.req); offer != nil {
		answer, err := l.ev.Reoffer(offer)
		if err != nil || len(answer) == 0 {
			l.log.Info("sip re-INVITE offer refused", "error", err)
			l.respond(in, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
			return
		}
		st.remoteSDP, body = offer, answer
	} else {
		body = l.ev.OfferRequest()
		if len(body) == 0 {
			l.respond(in, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
			return
		}
		p.wantAnswer = true
	}
	st.localSDP = append([]byte(nil), body...)
	l.updateTarget(in.req) // only an accepted target refresh counts (RFC 6141)
	hdrs := l.sessionFromRequest(in.req)
	p.res = l.respond(in, sip.StatusOK, "OK", body, hdrs...)
	if !sip.IsReliable(in.req.Transport()) || p.wantAnswer {
		// RFC 3261 13.3.1.4: the UAS core retransmits its 2xx until the ACK.
		p.interval = sip.T1
		p.giveUp = time.Now().Add(64 * sip.T1)
		p.timer = time.NewTimer(p.interval)
	}
	st.inReinvite = p
	l.scheduleSession()
}

// onUpdate answers an UPDATE (RFC 3311): an offer goes to Reoffer; without
// one it is a session refresh.
func (l *Leg) onUpdate(in inbound) {
	st := &l.st
	offer := sdpOf(in.req)
	if offer != nil && l.offerPending() {
		l.respond(in, 491, "Request Pending", nil)
		return
	}
	if l.sessionTooSmall(in) {
		return
	}
	var answer []byte
	if offer != nil {
		a, err := l.ev.Reoffer(offer)
		if err != nil || len(a) == 0 {
			l.log.Info("sip UPDATE offer refused", "error", err)
			l.respond(in, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
			return
		}
		st.remoteSDP, st.localSDP, answer = offer, append([]byte(nil), a...), a
	}
	l.updateTarget(in.req)
	hdrs := l.sessionFromRequest(in.req)
	l.respond(in, sip.StatusOK, "OK", answer, hdrs...)
	l.scheduleSession()
}

// offerPending says whether an offer is outstanding in either direction
// (RFC 6337): our refresh re-INVITE, or our 2xx offer awaiting its ACK.
func (l *Leg) offerPending() bool {
	st := &l.st
	if st.refreshTx != nil && st.refreshTx.req.IsInvite() {
		return true
	}
	return st.inReinvite != nil && st.inReinvite.wantAnswer
}

func (l *Leg) onAck(req *sip.Request) {
	st := &l.st
	p := st.inReinvite
	if p == nil || req.CSeq().SeqNo != p.seq {
		return // a retransmitted or stray ACK
	}
	l.clearReinvite()
	if !p.wantAnswer {
		return
	}
	answer := sdpOf(req)
	if answer == nil {
		l.log.Warn("sip ACK without the SDP answer to our offer")
		return
	}
	st.remoteSDP = answer
	l.ev.Reanswer(answer)
}

func (l *Leg) clearReinvite() {
	if t := l.st.inReinvite.timer; t != nil {
		t.Stop()
	}
	l.st.inReinvite = nil
}

func (l *Leg) onRetransmit2xx() {
	p := l.st.inReinvite
	if time.Now().After(p.giveUp) {
		l.clearReinvite()
		if p.wantAnswer || !sip.IsReliable(l.s.transport) {
			// RFC 3261 13.3.1.4: no ACK, so end the session.
			l.bye(EndFailed, 0, "no ACK for our 2xx to a re-INVITE")
		}
		return
	}
	if !sip.IsReliable(l.s.transport) {
		if err := p.tx.Respond(p.res); err != nil {
			l.log.Debug("sip 2xx retransmission failed", "error", err)
		}
		p.interval = min(2*p.interval, sip.T2)
	} else {
		p.interval = time.Until(p.giveUp) + time.Millisecond // only wait
	}
	p.timer = time.NewTimer(p.interval)
}

// onInfo takes DTMF from INFO; an empty INFO (a keepalive) gets 200.
func (l *Leg) onInfo(in inbound) {
	body := in.req.Body()
	ctype := mediaType(firstValue(in.req, "Content-Type"))
	if len(bytes.TrimSpace(body)) == 0 {
		l.respond(in, sip.StatusOK, "OK", nil)
		return
	}
	var digit byte
	var dur time.Duration
	var ok bool
	switch ctype {
	case "application/dtmf-relay":
		digit, dur, ok = parseDTMFRelay(body)
	case "application/dtmf":
		digit, ok = parseDTMFSignal(string(body))
	default:
		l.respond(in, sip.StatusUnsupportedMediaType, "Unsupported Media Type", nil,
			sip.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
		return
	}
	if !ok {
		l.respond(in, sip.StatusBadRequest, "Bad DTMF", nil)
		return
	}
	l.respond(in, sip.StatusOK, "OK", nil)
	l.ev.DTMF(digit, dur)
}

// retryDelay is the RFC 3261 14.1 wait after a 491 for the Call-ID owner.
func retryDelay() time.Duration {
	return 2100*time.Millisecond + rand.N(1900*time.Millisecond)
}
