package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/frontdesk-gw/frontdesk/sip"
)

// Transfers (RFC 3515): the agent's side sends REFER in the call's dialog;
// the sip package checks it against sip.transfer and calls Transfer. The
// connection then places a new leg toward the target with the first call's
// context, offering the codecs the browser already uses, from the same RTP
// socket. When it answers, the relay moves to it, the transferor hears
// NOTIFY 200 and gets BYE; when it fails, the transferor hears why and the
// visitor stays with the first agent, or, when that one has hung up, the
// call ends with ReasonTransferFailed.

// ErrNotConnected: a transfer of a call that is not (or no longer)
// connected.
var ErrNotConnected = errors.New("the call is not connected")

const (
	// transferRingTimeout bounds the new leg's setup when the first call
	// had no ring timeout; well within the REFER subscription's lifetime.
	transferRingTimeout = 60 * time.Second
	// transferAcceptTimeout bounds how long the SIP leg waits for the
	// connection to accept a transfer (Transfer must return promptly).
	transferAcceptTimeout = 2 * time.Second
	// notifyTimeout bounds handing a NOTIFY to the transferor's leg.
	notifyTimeout = 5 * time.Second
)

// Transfer outcomes, the label of Engine.Transfers.
const (
	TransferDone         = "transferred"
	TransferBusy         = "busy"
	TransferDeclined     = "declined"
	TransferNoAnswer     = "no-answer"
	TransferIncompatible = "no-common-codec"
	TransferFailed       = "failed"
	TransferAbandoned    = "abandoned" // the call ended while the target rang
)

// TransferOutcomes lists every outcome, for metrics.
var TransferOutcomes = []string{TransferDone, TransferBusy, TransferDeclined, TransferNoAnswer,
	TransferIncompatible, TransferFailed, TransferAbandoned}

// transferCounters are the engine's transfers by outcome.
type transferCounters struct {
	n [7]atomic.Uint64 // indexed like TransferOutcomes
}

func (t *transferCounters) add(outcome string) {
	for i, o := range TransferOutcomes {
		if o == outcome {
			t.n[i].Add(1)
			return
		}
	}
}

// Transfers is how many transfers ended with outcome since the engine
// started.
func (e *Engine) Transfers(outcome string) uint64 {
	for i, o := range TransferOutcomes {
		if o == outcome {
			return e.transfers.n[i].Load()
		}
	}
	return 0
}

// TransferObserver is an Observer that hears how a transfer ended; without
// it the observer hears State(StateConnected) or State(StateHeld) again.
type TransferObserver interface {
	Observer
	// Transferred: the call is connected to the transfer target (the
	// Refer-To URI); party is its display name ("" when the PBX named
	// nobody).
	Transferred(party, target string)
	// TransferFailed: the target did not take the call; the visitor is
	// still with the first agent, the call in state st (connected, held).
	TransferFailed(st State)
}

// transferLeg is what a transfer needs of the transferor's SIP leg besides
// sipLeg; *sip.Leg is one.
type transferLeg interface {
	NotifyTransfer(ctx context.Context, code int, reason string) error
	PeerName() string
}

// dialFunc places a SIP leg (Dialer.Call, or a fake in tests).
type dialFunc func(ctx context.Context, req sip.CallRequest, ev sip.CallEvents) (sipLeg, error)

// dialerFunc adapts a Dialer; a nil *sip.Leg never becomes a non-nil sipLeg.
func dialerFunc(d Dialer) dialFunc {
	return func(ctx context.Context, req sip.CallRequest, ev sip.CallEvents) (sipLeg, error) {
		l, err := d.Call(ctx, req, ev)
		if err != nil {
			return nil, err
		}
		return l, nil
	}
}

// transfer is the transfer under way, owned by run.
type transfer struct {
	id      uint64 // the new leg's events
	target  string
	leg     sipLeg // the new leg
	cancel  context.CancelFunc
	oldGone bool // the transferor's leg ended meanwhile
}

// onTransfer starts a transfer the current leg (id) accepted from the PBX.
func (c *Connection) onTransfer(id uint64, t sip.Transfer) error {
	switch {
	case id != c.legID.Load():
		return ErrNotConnected
	case c.xfer != nil:
		return sip.ErrTransferPending
	case !c.answered || c.localReason != ReasonUnknown || c.dial == nil:
		return ErrNotConnected
	}
	// The REFER dialog is the agent's, who may go on hold or hang up now;
	// the new agent sends nothing before answering.
	if err := c.media.HoldTimeout(true); err != nil {
		return err
	}
	c.nextID++
	x := &transfer{id: c.nextID, target: t.Target}
	ring := c.ringTimeout
	if ring <= 0 {
		ring = transferRingTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), ring)
	x.cancel = cancel
	req := c.template
	req.Target = t.Target
	req.SDP = c.media.SIPLocalOffer()
	req.Replaces = t.Replaces
	req.ReferredBy = t.ReferredBy
	leg, err := c.dial(ctx, req, legEvents{c: c, id: x.id})
	if err != nil {
		cancel()
		_ = c.media.HoldTimeout(false)
		c.log.Warn("transfer not placed", "target", t.Target, "err", err)
		c.media.e.transfers.add(TransferFailed)
		return fmt.Errorf("place transfer leg: %w", err)
	}
	x.leg = leg
	c.xfer = x
	c.log.Info("transferring call", "target", t.Target, "attended", t.Replaces != nil)
	c.obs.State(StateTransferring, "")
	return nil
}

// onTransferProgress passes the new leg's ringing on to the transferor.
func (c *Connection) onTransferProgress(code int) {
	reason := "Ringing"
	if code == 183 {
		reason = "Session Progress"
	} else if code != 180 {
		return
	}
	c.notifyTransferor(c.leg, code, reason, nil)
}

// onTransferAnswered moves the call to the new leg.
func (c *Connection) onTransferAnswered(sdp []byte) {
	x := c.xfer
	if c.localReason != ReasonUnknown {
		// The call is ending (end hung this leg up already).
		c.transferFailed(TransferAbandoned, 487, "Request Terminated")
		return
	}
	if err := c.media.SIPTransferAnswer(sdp); err != nil {
		c.log.Warn("transfer target's SDP unusable", "target", x.target, "err", err)
		c.hangupLeg(x.leg)
		outcome, code, reason := TransferFailed, 500, "Server Internal Error"
		if errors.Is(err, ErrIncompatibleAnswer) || errors.Is(err, ErrNoCommonCodec) {
			outcome, code, reason = TransferIncompatible, 488, "Not Acceptable Here"
		}
		c.transferFailed(outcome, code, reason)
		return
	}
	old := c.leg
	c.xfer = nil
	c.leg = x.leg
	c.legID.Store(x.id)
	c.extraCancels = append(c.extraCancels, x.cancel)
	c.held = false
	c.media.e.transfers.add(TransferDone)
	if !x.oldGone {
		// NOTIFY first: the transferor's leg ends with the BYE.
		c.notifyTransferor(old, 200, "OK", func() { c.hangupNow(old) })
	}
	party := ""
	if tl, ok := x.leg.(transferLeg); ok {
		party = tl.PeerName()
	}
	c.log.Info("call transferred", "target", x.target, "party", party)
	if to, ok := c.obs.(TransferObserver); ok {
		to.Transferred(party, x.target)
	} else {
		c.obs.State(StateConnected, "")
	}
}

// onTransferEnded: the new leg ended before it answered.
func (c *Connection) onTransferEnded(cause sip.EndCause, code int, reason string) {
	c.log.Info("transfer target did not take the call", "target", c.xfer.target, "cause", cause, "code", code, "reason", reason)
	outcome := TransferFailed
	switch cause {
	case sip.EndBusy:
		outcome = TransferBusy
	case sip.EndDeclined:
		outcome = TransferDeclined
	case sip.EndNoAnswer:
		outcome = TransferNoAnswer
	case sip.EndCancelled, sip.EndLocalHangup:
		outcome = TransferAbandoned
	}
	if code < 300 {
		// No final response of its own (timeout, cancelled): RFC 3515's
		// example of a failure that did not come from the target.
		code, reason = 487, "Request Terminated"
		if cause == sip.EndNoAnswer {
			code, reason = 408, "Request Timeout"
		}
	}
	c.transferFailed(outcome, code, reason)
}

// transferFailed ends the transfer without moving the call: the visitor
// stays with the transferor when that leg is up, else the call ends.
func (c *Connection) transferFailed(outcome string, code int, reason string) {
	x := c.xfer
	c.xfer = nil
	x.cancel()
	c.media.e.transfers.add(outcome)
	if x.oldGone {
		c.legEnded = true
		c.remoteReason = ReasonTransferFailed
		return
	}
	if c.localReason != ReasonUnknown {
		return
	}
	_ = c.media.HoldTimeout(false)
	c.notifyTransferor(c.leg, code, reason, nil)
	st := StateConnected
	if c.held {
		st = StateHeld
	}
	if to, ok := c.obs.(TransferObserver); ok {
		to.TransferFailed(st)
	} else {
		c.obs.State(st, "")
	}
}

// notifyTransferor sends the transferor a NOTIFY about the new leg, then
// runs then (nil: nothing), in the background: the SIP leg may be busy
// delivering an event to us. Each NOTIFY waits for the one before to be
// answered, so none overtakes another through the PBX.
func (c *Connection) notifyTransferor(l sipLeg, code int, reason string, then func()) {
	prev := c.lastNotify
	done := make(chan struct{})
	c.lastNotify = done
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(done)
		if prev != nil {
			<-prev
		}
		if tl, ok := l.(transferLeg); ok {
			ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
			if err := tl.NotifyTransfer(ctx, code, reason); err != nil {
				c.log.Debug("transfer NOTIFY", "code", code, "err", err)
			}
			cancel()
		}
		if then != nil {
			then()
		}
	}()
}

// hangupLeg ends a leg in the background (CANCEL or BYE).
func (c *Connection) hangupLeg(l sipLeg) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.hangupNow(l)
	}()
}

// hangupNow ends a leg and waits (bounded) for it.
func (c *Connection) hangupNow(l sipLeg) {
	ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
	defer cancel()
	if err := l.Hangup(ctx); err != nil {
		c.log.Debug("hang up SIP leg", "err", err)
	}
}

// endTransfer cancels the transfer under way when the call ends.
func (c *Connection) endTransfer() {
	if x := c.xfer; x != nil {
		c.hangupLeg(x.leg)
	}
}

// onLegDone: the current leg's Done closed. During a transfer the call
// waits for the new leg, unless we are ending it (end hangs up both).
func (c *Connection) onLegDone() {
	if c.xfer != nil && c.localReason == ReasonUnknown {
		c.xfer.oldGone = true
		return
	}
	c.legEnded = true
}

// legDone is the channel run waits on for the current leg's end; nil once
// the transferor's leg ended during a transfer (a closed channel would spin).
func (c *Connection) legDone() <-chan struct{} {
	if c.xfer != nil && c.xfer.oldGone && c.localReason == ReasonUnknown {
		return nil
	}
	return c.leg.Done()
}

// Transfer accepts a REFER from the current leg (sip.TransferEvents): it
// asks run, which places the new leg, and waits a bounded time.
func (e legEvents) Transfer(t sip.Transfer) error {
	reply := make(chan error, 1)
	if !e.c.post(func() { reply <- e.c.onTransfer(e.id, t) }) {
		return ErrClosed
	}
	timer := time.NewTimer(transferAcceptTimeout)
	defer timer.Stop()
	select {
	case err := <-reply:
		return err
	case <-e.c.done:
		return ErrClosed
	case <-timer.C:
		return errors.New("transfer not accepted in time")
	}
}

// current reports whether the events are the current leg's; others are a
// transfer's new leg or a replaced leg.
func (e legEvents) current() bool { return e.id == e.c.legID.Load() }

// transferEvent runs fn when the events are the transfer's new leg (on run).
func (e legEvents) transferEvent(fn func()) {
	e.c.post(func() {
		if x := e.c.xfer; x != nil && x.id == e.id {
			fn()
		}
	})
}
