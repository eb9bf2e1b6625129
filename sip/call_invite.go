package sip

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

const (
	// offeredSE is the session interval we ask for (RFC 4028 default).
	offeredSE = 1800 * time.Second
	// defaultMinSE is our Min-SE (RFC 4028's minimum): the smallest session
	// interval we accept, in a request or a 2xx.
	defaultMinSE = 90 * time.Second
)

func buildRequest(u *UA, req *sip.Request) error { return sipgo.ClientRequestBuild(u.cli, req) }

// buildRequestOpt fills only what a prebuilt request still lacks.
var buildRequestOpt sipgo.ClientRequestOption = sipgo.ClientRequestBuild

// sendInvite sends the INVITE (again after a challenge or a 422) with the
// next CSeq and the credentials collected so far.
func (l *Leg) sendInvite(ctx context.Context) error {
	st := &l.st
	st.localSeq++
	if st.askSE == 0 {
		st.askSE = offeredSE
	}
	req := l.u.outOfDialog(l.s, sip.INVITE, l.ruri, l.ruri, l.key.callID, l.key.localTag, st.localSeq)
	req.From().DisplayName = l.displayName()
	req.AppendHeader(sip.NewHeader("Allow", allowed))
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	req.AppendHeader(sip.NewHeader("Session-Expires", seconds(st.askSE)))
	req.AppendHeader(sip.NewHeader("Min-SE", seconds(l.u.tm.minSE)))
	for _, h := range l.extra {
		req.AppendHeader(h)
	}
	st.auth.apply(req)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(st.localSDP)
	tx, err := l.u.startTx(ctx, req)
	if err != nil {
		return err
	}
	// 2xx retransmissions and 2xx from other forks bypass Responses.
	tx.OnRetransmission(func(res *sip.Response) {
		if res.IsSuccess() {
			select {
			case l.strays <- res:
			default: // the leg is behind or over; the far end retransmits
			}
		}
	})
	st.invite = &outTx{tx: tx, req: req}
	st.inviteTxs = append(st.inviteTxs, tx)
	st.provisional = false
	return nil
}

func (l *Leg) displayName() string { return l.from.DisplayName }

func (l *Leg) onInviteResponse(res *sip.Response) {
	st := &l.st
	code := res.StatusCode
	switch {
	case code < 200:
		st.provisional = true
		if st.phase == phaseCancelling && !st.cancelSent {
			l.sendCancel()
		}
		if code > 100 && st.phase == phaseCalling {
			l.ev.Progress(code, sdpOf(res))
		}
	case code < 300:
		st.invite = nil
		l.establish(res)
		if st.phase == phaseCancelling {
			// The answer crossed our CANCEL: end the call it created.
			l.bye(st.cause, code, st.reason+": answered after CANCEL")
			return
		}
		st.phase = phaseConfirmed
		l.notePeerName(res)
		l.log.Info("sip call answered")
		l.ev.Answered(sdpOf(res))
		l.startSessionTimer(res)
	default:
		st.invite = nil
		if st.phase == phaseCancelling {
			l.endAs(st.cause, code, st.reason)
			return
		}
		if l.retryInvite(res) {
			return
		}
		reason := res.Reason
		if h := res.GetHeader("Reason"); h != nil {
			reason = res.Reason + " (" + h.Value() + ")"
		}
		l.endAs(causeForStatus(code, firstValue(res, "Reason")), code, reason)
	}
}

// retryInvite answers a digest challenge or a 422 Session Interval Too
// Small with a new INVITE; it reports whether one was sent.
func (l *Leg) retryInvite(res *sip.Response) bool {
	st := &l.st
	switch res.StatusCode {
	case sip.StatusUnauthorized, sip.StatusProxyAuthRequired:
		if !l.addCredentials(res) {
			return false
		}
	case 422:
		want := parseSeconds(firstValue(res, "Min-SE"))
		if want <= st.askSE || want > 2*offeredSE {
			return false
		}
		st.askSE = want
	default:
		return false
	}
	if err := l.sendInvite(l.setup); err != nil {
		l.log.Warn("sip INVITE retry not sent", "error", err)
		l.endAs(EndFailed, 0, "INVITE retry not sent")
		return true // ended
	}
	return true
}

// addCredentials answers the challenges of a 401/407 as exchange does for
// the UA's other requests; it reports false when giving up.
func (l *Leg) addCredentials(res *sip.Response) bool {
	if err := l.st.auth.answer(res, l.s.authUser, l.s.cfg.ResolvedPassword, sip.INVITE, l.ruri.String()); err != nil {
		l.log.Warn("sip INVITE challenge not answered", "code", res.StatusCode, "error", err)
		return false
	}
	return true
}

// onInviteGone handles an INVITE transaction that ended without a final
// response (timeout or transport failure).
func (l *Leg) onInviteGone() {
	st := &l.st
	err := st.invite.tx.Err()
	st.invite = nil
	if st.phase == phaseCancelling {
		l.endAs(st.cause, 0, st.reason)
		return
	}
	reason := "no response from the PBX"
	if err != nil {
		reason += ": " + err.Error()
	}
	l.endAs(EndFailed, 0, reason)
}

// establish builds the dialog from a 2xx (RFC 3261 12.1.2) and ACKs it.
func (l *Leg) establish(res *sip.Response) {
	st := &l.st
	st.remoteTag, _ = res.To().Params.Get("tag")
	st.to = sip.HeaderClone(res.To()).(*sip.ToHeader)
	st.target = l.ruri
	if c := res.Contact(); c != nil {
		st.target = *c.Address.Clone()
	}
	st.routeSet = recordRoutes(res)
	slices.Reverse(st.routeSet)
	st.peerAllow = strings.ToUpper(strings.Join(headerValues(res, "Allow"), ","))
	st.remoteSDP = sdpOf(res)
	l.ack(res.CSeq().SeqNo, nil)
	l.keepDialog()
}

// ack sends the ACK for the 2xx to our INVITE with CSeq seq and keeps it
// for the 2xx's retransmissions.
func (l *Leg) ack(seq uint32, body []byte) {
	st := &l.st
	ack := l.requestSeq(sip.ACK, seq)
	if body != nil {
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	ack.SetBody(body)
	if st.acks == nil {
		st.acks = map[uint32]*sip.Request{}
	}
	st.acks[seq] = ack
	if err := l.u.writeAck(ack); err != nil {
		l.log.Warn("sip ACK not sent", "error", err)
	}
}

// onStray handles a 2xx the INVITE transaction did not pass up: a
// retransmission is ACKed again; a 2xx from another fork is ACKed and
// ended with BYE, since we keep only the first dialog.
func (l *Leg) onStray(res *sip.Response) {
	st := &l.st
	tag, _ := res.To().Params.Get("tag")
	if ack := st.acks[res.CSeq().SeqNo]; ack != nil && tag == st.remoteTag {
		if err := l.u.cli.WriteRequest(ack, buildRequestOpt); err != nil {
			l.log.Debug("sip ACK resend failed", "error", err)
		}
		return
	}
	if tag == st.remoteTag || st.remoteTag == "" || len(st.inviteTxs) == 0 {
		return // a refresh's 2xx before its ACK was built, or before the dialog
	}
	l.log.Info("sip 2xx from a second fork: ACK and BYE", "to_tag", tag)
	fork := &Leg{u: l.u, s: l.s, key: l.key, ruri: l.ruri, from: l.from, log: l.log}
	fork.establish(res)
	fork.st.localSeq = st.localSeq
	bye := fork.request(sip.BYE)
	tx, err := l.u.startTx(context.Background(), bye)
	if err != nil {
		l.log.Warn("sip BYE to second fork not sent", "error", err)
		return
	}
	st.forks = append(st.forks, tx)
	l.wg.Go(func() { // finish terminates tx, which ends this
		_, _ = l.u.await(context.Background(), tx)
	})
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
