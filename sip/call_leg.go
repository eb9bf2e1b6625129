package sip

import (
	"context"
	"errors"
	"time"

	"github.com/emiago/sipgo/sip"
)

// phase is where a leg is in its life.
type phase int

const (
	phaseCalling    phase = iota // INVITE sent, no final response yet
	phaseCancelling              // given up before an answer: CANCEL sent or due at the first 1xx
	phaseConfirmed               // answered and ACKed
	phaseEnding                  // BYE sent
	phaseEnded
)

// outTx is a client transaction of ours the leg waits on.
type outTx struct {
	tx  sip.ClientTransaction
	req *sip.Request
}

func (o *outTx) resC() <-chan *sip.Response {
	if o == nil {
		return nil
	}
	return o.tx.Responses()
}

func (o *outTx) doneC() <-chan struct{} {
	if o == nil {
		return nil
	}
	return o.tx.Done()
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

// legState is owned by the leg's goroutine; nothing else touches it after
// Call has sent the first INVITE.
type legState struct {
	phase       phase
	invite      *outTx // the INVITE awaiting its final response
	inviteTxs   []sip.ClientTransaction
	provisional bool          // a 1xx arrived: CANCEL may be sent
	auth        digestAnswers // for the INVITE
	refreshAuth digestAnswers // for the session refresh under way
	askSE       time.Duration // Session-Expires we ask for
	cancelTx    *outTx
	cancelSent  bool
	forks       []sip.ClientTransaction // BYEs to dialogs of other forks
	byeTx       *outTx
	refreshTx   *outTx
	deadline    *time.Timer // for the final after CANCEL, or the BYE's response
	stopping    bool

	localSeq, remoteSeq uint32
	remoteTag           string
	to                  *sip.ToHeader
	target              sip.Uri
	routeSet            []sip.Uri
	acks                map[uint32]*sip.Request // ACKs of our INVITEs' 2xx, by CSeq
	peerAllow           string
	localSDP, remoteSDP []byte

	inReinvite *pendingReinvite
	session    sessionTimer
	// reoffer is a Reinvite under way: our offer and who waits for the
	// answer; the re-INVITE is the refresh transaction (call_timer.go).
	reoffer *pendingReoffer
	// refer is the transfer under way (refer.go).
	refer *referState
	// referSent is closed once the latest transfer NOTIFY was answered.
	referSent chan struct{}

	cause  EndCause
	code   int
	reason string
}

// run is the leg's goroutine: every state change happens here.
func (l *Leg) run() {
	defer l.finish()
	st := &l.st
	stop := l.stop
	for st.phase != phaseEnded {
		var setupDone <-chan struct{}
		if st.phase == phaseCalling {
			setupDone = l.setup.Done()
		}
		select {
		case res := <-st.invite.resC():
			l.onInviteResponse(res)
		case <-st.invite.doneC():
			l.onInviteGone()
		case <-setupDone:
			cause, reason := EndCancelled, "setup cancelled"
			if errors.Is(context.Cause(l.setup), context.DeadlineExceeded) {
				cause, reason = EndNoAnswer, "no answer in time"
			}
			l.startCancel(cause, reason)
		case <-stop:
			stop = nil
			l.onShutdown()
		case c := <-l.cmds:
			l.onCmd(c)
		case in := <-l.inbox:
			l.onRequest(in)
			close(in.handled)
		case res := <-l.strays:
			l.onStray(res)
		case code := <-l.gone:
			l.endAs(EndFailed, code, "dialog gone")
		case res := <-st.cancelTx.resC():
			if !res.IsProvisional() {
				st.cancelTx.tx.Terminate()
				st.cancelTx = nil
			}
		case <-st.cancelTx.doneC():
			st.cancelTx = nil
		case res := <-st.byeTx.resC():
			if !res.IsProvisional() {
				st.phase = phaseEnded
			}
		case <-st.byeTx.doneC():
			st.phase = phaseEnded
		case res := <-st.refreshTx.resC():
			l.onRefreshResponse(res)
		case <-st.refreshTx.doneC():
			l.onRefreshGone()
		case <-timerC(st.deadline):
			st.deadline = nil
			l.onDeadline()
		case <-timerC(st.session.t):
			st.session.t = nil
			l.onSessionTimer()
		case <-timerC(st.inReinviteTimer()):
			l.onRetransmit2xx()
		}
	}
}

// finish releases what the leg holds and reports Ended, once.
func (l *Leg) finish() {
	st := &l.st
	l.cancel()
	for _, t := range []*time.Timer{st.deadline, st.session.t, st.inReinviteTimer()} {
		if t != nil {
			t.Stop()
		}
	}
	for _, o := range []*outTx{st.cancelTx, st.byeTx, st.refreshTx} {
		if o != nil {
			o.tx.Terminate()
		}
	}
	for _, tx := range append(st.inviteTxs, st.forks...) {
		tx.Terminate()
	}
	l.wg.Wait()
	l.u.calls.remove(l)
	l.log.Info("sip call ended", "cause", st.cause.String(), "code", st.code, "reason", st.reason)
	l.ev.Ended(st.cause, st.code, st.reason)
	close(l.done)
}

// endAs ends the leg now, without sending anything.
func (l *Leg) endAs(cause EndCause, code int, reason string) {
	st := &l.st
	if st.cause == EndUnknown {
		st.cause, st.code, st.reason = cause, code, reason
	} else if st.code == 0 {
		st.code = code // the final response to a CANCELled INVITE
	}
	st.phase = phaseEnded
}

// bound is how long to wait for the far end while ending.
func (l *Leg) bound() time.Duration {
	if l.st.stopping {
		return l.u.tm.closeTimeout
	}
	return l.u.tm.requestTimeout
}

func (l *Leg) onCmd(c legCmd) {
	st := &l.st
	if c.hangup {
		switch st.phase {
		case phaseCalling:
			l.startCancel(EndCancelled, "hangup")
		case phaseConfirmed:
			l.bye(EndLocalHangup, 0, "hangup")
		}
		return
	}
	if st.phase != phaseConfirmed {
		err := ErrNotAnswered
		if st.phase > phaseConfirmed {
			err = ErrLegEnded
		}
		c.reply <- legReply{err: err}
		return
	}
	if c.notify != nil {
		l.onNotifyCmd(c)
		return
	}
	if c.reoffer != nil {
		l.startReoffer(c)
		return
	}
	req := l.request(sip.INFO)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
	req.SetBody(dtmfRelayBody(c.digit, c.dur))
	tx, err := l.u.startTx(context.Background(), req)
	c.reply <- legReply{tx: tx, err: err}
}

func (l *Leg) onShutdown() {
	st := &l.st
	st.stopping = true
	switch st.phase {
	case phaseCalling:
		l.startCancel(EndCancelled, "shutdown")
	case phaseConfirmed:
		l.bye(EndLocalHangup, 0, "shutdown")
	default:
		if st.deadline != nil {
			st.deadline.Reset(l.bound())
		}
	}
}

func (l *Leg) onDeadline() {
	st := &l.st
	switch st.phase {
	case phaseCancelling:
		l.endAs(st.cause, 0, st.reason+": no final response after CANCEL")
	case phaseEnding:
		st.phase = phaseEnded // the BYE went unanswered; the leg is over anyway
	}
}

// startCancel gives up on the INVITE: CANCEL now if a provisional
// response came, else as soon as one does (RFC 3261 9.1).
func (l *Leg) startCancel(cause EndCause, reason string) {
	st := &l.st
	st.cause, st.reason = cause, reason
	st.phase = phaseCancelling
	if st.provisional {
		l.sendCancel()
	}
	st.deadline = time.NewTimer(l.bound())
}

func (l *Leg) sendCancel() {
	st := &l.st
	st.cancelSent = true
	inv := st.invite.req
	c := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
	c.AppendHeader(inv.Via().Clone())
	sip.CopyHeaders("Route", inv, c)
	for _, h := range []sip.Header{inv.From(), inv.To(), inv.CallID()} {
		c.AppendHeader(sip.HeaderClone(h))
	}
	c.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	c.AppendHeader(sip.NewHeader("User-Agent", l.u.agent))
	c.SetTransport(inv.Transport())
	c.SetDestination(inv.Destination())
	tx, err := l.u.startTx(context.Background(), c)
	if err != nil {
		l.log.Warn("sip CANCEL not sent", "error", err)
		return
	}
	st.cancelTx = &outTx{tx: tx, req: c}
}

// bye ends an answered leg with BYE and waits, bounded, for its response.
func (l *Leg) bye(cause EndCause, code int, reason string) {
	st := &l.st
	if st.cause == EndUnknown {
		st.cause, st.code, st.reason = cause, code, reason
	} else if st.code == 0 {
		st.code, st.reason = code, reason
	}
	st.session.stop()
	st.phase = phaseEnding
	req := l.request(sip.BYE)
	tx, err := l.u.startTx(context.Background(), req)
	if err != nil {
		l.log.Warn("sip BYE not sent", "error", err)
		st.phase = phaseEnded
		return
	}
	st.byeTx = &outTx{tx: tx, req: req}
	if st.deadline != nil {
		st.deadline.Stop()
	}
	st.deadline = time.NewTimer(l.bound())
}

// startTx sends req in a new client transaction.
func (u *UA) startTx(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	ctx, cancel := context.WithTimeout(ctx, u.tm.requestTimeout) // bounds connecting only
	defer cancel()
	if err := buildRequest(u, req); err != nil {
		return nil, err
	}
	u.traceOut(req, req.Destination())
	tx, err := u.cli.TransactionRequest(ctx, req, buildRequestOpt)
	if err != nil {
		return nil, errors.Join(errors.New("send "+string(req.Method)+" to "+req.Destination()), err)
	}
	return tx, nil
}

// writeAck sends an ACK, which has no transaction of its own.
func (u *UA) writeAck(ack *sip.Request) error {
	if err := buildRequest(u, ack); err != nil {
		return err
	}
	u.traceOut(ack, ack.Destination())
	return u.cli.WriteRequest(ack, buildRequestOpt)
}
