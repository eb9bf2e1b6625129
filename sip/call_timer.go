package sip

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sessionTimer is the RFC 4028 state of a leg: who refreshes the session
// and when. Owned by the leg's goroutine.
type sessionTimer struct {
	interval  time.Duration // 0: no session timer
	weRefresh bool
	noUpdate  bool // the PBX refused UPDATE: refresh with re-INVITE
	t         *time.Timer
}

func (s *sessionTimer) stop() {
	if s.t != nil {
		s.t.Stop()
		s.t = nil
	}
}

// parseSessionExpires reads "1800;refresher=uac" from Session-Expires (or
// its compact form x).
func parseSessionExpires(m sip.Message) (time.Duration, string, bool) {
	v := firstValue(m, "Session-Expires")
	if v == "" {
		v = firstValue(m, "x")
	}
	d := parseSeconds(v)
	if d <= 0 {
		return 0, "", false
	}
	refresher := ""
	for _, p := range strings.Split(v, ";")[1:] {
		if k, val, _ := strings.Cut(p, "="); strings.EqualFold(strings.TrimSpace(k), "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(val))
		}
	}
	return d, refresher, true
}

// startSessionTimer applies the Session-Expires of a 2xx to an INVITE or
// UPDATE of ours; without one the session does not expire. An interval
// below the Min-SE our request carried breaks RFC 4028 (a proxy or UAS may
// not go below it); it is taken as Min-SE rather than refreshing, or
// expecting refreshes, every second.
func (l *Leg) startSessionTimer(res *sip.Response) {
	s := &l.st.session
	se, refresher, ok := parseSessionExpires(res)
	if !ok {
		s.interval = 0
		s.stop()
		return
	}
	if se < l.u.tm.minSE {
		l.log.Warn("sip session interval below our Min-SE raised to it", "session_expires", se.String(), "min_se", l.u.tm.minSE.String())
		se = l.u.tm.minSE
	}
	s.interval = se
	s.weRefresh = refresher != "uas" // we were the UAC
	l.scheduleSession()
}

// sessionTooSmall answers a PBX re-INVITE or UPDATE whose Session-Expires
// is below our Min-SE with 422 (RFC 4028 9) and reports whether it did.
func (l *Leg) sessionTooSmall(in inbound) bool {
	se, _, ok := parseSessionExpires(in.req)
	if !ok || se >= l.u.tm.minSE {
		return false
	}
	l.respond(in, 422, "Session Interval Too Small", nil, sip.NewHeader("Min-SE", seconds(l.u.tm.minSE)))
	return true
}

// sessionFromRequest applies the Session-Expires of a PBX re-INVITE or
// UPDATE and returns the headers our 2xx needs. A request without one
// proves the session alive and keeps the current timer.
func (l *Leg) sessionFromRequest(req *sip.Request) []sip.Header {
	se, refresher, ok := parseSessionExpires(req)
	if !ok {
		return nil
	}
	if refresher == "" {
		refresher = "uac" // whoever asks keeps refreshing
	}
	s := &l.st.session
	s.interval = se
	s.weRefresh = refresher == "uas"
	hdrs := []sip.Header{sip.NewHeader("Session-Expires", seconds(se)+";refresher="+refresher)}
	if strings.Contains(strings.ToLower(strings.Join(headerValues(req, "Supported"), ",")), "timer") {
		hdrs = append(hdrs, sip.NewHeader("Require", "timer"))
	}
	return hdrs
}

// scheduleSession arms the refresh (half the interval) or, when the PBX
// refreshes, the expiry check (RFC 4028 10: interval minus min(32s, a third)).
func (l *Leg) scheduleSession() {
	s := &l.st.session
	s.stop()
	if s.interval <= 0 || l.st.phase != phaseConfirmed {
		return
	}
	d := s.interval - min(32*time.Second, s.interval/3)
	if s.weRefresh {
		d = l.u.refreshIn(s.interval)
	}
	s.t = time.NewTimer(d)
}

func (l *Leg) onSessionTimer() {
	st := &l.st
	if st.phase != phaseConfirmed {
		return
	}
	if !st.session.weRefresh {
		l.bye(EndFailed, 0, "session expired without a refresh")
		return
	}
	if st.refreshTx != nil || st.inReinvite != nil {
		st.session.t = time.NewTimer(retryDelay()) // an exchange is under way
		return
	}
	l.refresh()
}

// refresh sends a session refresh: UPDATE without SDP when the PBX allows
// it, else a re-INVITE with the SDP we last sent. A Reinvite under way
// (st.reoffer) is always a re-INVITE, with the new SDP.
func (l *Leg) refresh() {
	st := &l.st
	method := sip.INVITE
	if st.reoffer == nil && strings.Contains(st.peerAllow, "UPDATE") && !st.session.noUpdate {
		method = sip.UPDATE
	}
	req := l.request(method)
	st.refreshAuth.apply(req)
	if st.session.interval > 0 {
		req.AppendHeader(sip.NewHeader("Supported", "timer"))
		req.AppendHeader(sip.NewHeader("Session-Expires", seconds(st.session.interval)+";refresher=uac"))
	}
	if method == sip.INVITE {
		req.AppendHeader(sip.NewHeader("Allow", allowed))
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(st.localSDP)
	}
	tx, err := l.u.startTx(context.Background(), req)
	if err != nil {
		l.log.Warn("sip session refresh not sent", "error", err)
		if !l.finishReoffer(nil, err) {
			st.session.t = time.NewTimer(st.session.interval / 4)
		}
		return
	}
	if method == sip.INVITE {
		tx.OnRetransmission(func(res *sip.Response) {
			select {
			case l.strays <- res:
			default:
			}
		})
		st.inviteTxs = append(st.inviteTxs, tx) // terminated by finish
	}
	st.refreshTx = &outTx{tx: tx, req: req}
}

func (l *Leg) onRefreshResponse(res *sip.Response) {
	st := &l.st
	if res.IsProvisional() {
		return
	}
	o := st.refreshTx
	st.refreshTx = nil
	isInvite := o.req.IsInvite()
	if !isInvite {
		o.tx.Terminate()
	}
	code := res.StatusCode
	if !isChallenge(res) {
		st.refreshAuth = digestAnswers{}
	}
	if !isChallenge(res) && !res.IsSuccess() && l.finishReoffer(nil, statusError("INVITE", res)) {
		// Our new offer was refused: the call goes on with the SDP it
		// had, unless the dialog is gone.
		switch code {
		case sip.StatusCallTransactionDoesNotExists:
			l.endAs(EndFailed, code, "re-INVITE: dialog gone")
		case sip.StatusRequestTimeout:
			l.bye(EndFailed, code, "re-INVITE timed out")
		}
		return
	}
	switch {
	case isChallenge(res):
		// A PBX may challenge in-dialog requests too: answer like any other
		// request of ours and refresh again at once.
		if err := st.refreshAuth.answer(res, l.s.authUser, l.s.cfg.ResolvedPassword, o.req.Method, o.req.Recipient.String()); err != nil {
			l.log.Warn("sip session refresh challenge not answered", "code", code, "error", err)
			st.refreshAuth = digestAnswers{}
			if !l.finishReoffer(nil, err) {
				st.session.t = time.NewTimer(st.session.interval / 4)
			}
			return
		}
		l.refresh()
	case res.IsSuccess():
		if isInvite {
			l.ack(res.CSeq().SeqNo, nil)
			sdp := sdpOf(res)
			changed := sdp != nil && !bytes.Equal(sdp, st.remoteSDP)
			if changed {
				st.remoteSDP = sdp
			}
			// The caller of Reinvite takes its answer; a refresh's new
			// SDP goes to Reanswer.
			if !l.finishReoffer(sdp, nil) && changed {
				l.ev.Reanswer(sdp)
			}
		}
		l.updateTarget(res)
		l.startSessionTimer(res)
	case code == 491:
		st.session.t = time.NewTimer(retryDelay())
	case code == 422:
		if want := parseSeconds(firstValue(res, "Min-SE")); want > st.session.interval {
			st.session.interval = want
			st.session.t = time.NewTimer(0)
		}
	case code == sip.StatusCallTransactionDoesNotExists:
		l.endAs(EndFailed, code, "session refresh: dialog gone")
	case code == sip.StatusRequestTimeout:
		l.bye(EndFailed, code, "session refresh timed out")
	case !isInvite && (code == sip.StatusMethodNotAllowed || code == sip.StatusNotImplemented):
		st.session.noUpdate = true
		st.session.t = time.NewTimer(0)
	default:
		l.log.Warn("sip session refresh refused", "code", code, "reason", res.Reason)
		st.session.t = time.NewTimer(st.session.interval / 4)
	}
}

func (l *Leg) onRefreshGone() {
	l.st.refreshTx = nil
	l.finishReoffer(nil, ErrNoResponse)
	l.bye(EndFailed, sip.StatusRequestTimeout, "session refresh: no response")
}
