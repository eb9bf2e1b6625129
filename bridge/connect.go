package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontdesk-gw/frontdesk/sip"
)

// Dialer places SIP call legs; *sip.UA is one.
type Dialer interface {
	Call(ctx context.Context, req sip.CallRequest, ev sip.CallEvents) (*sip.Leg, error)
}

// DialRequest is one visitor's call to one agent.
type DialRequest struct {
	ID           string // for logs
	Target       string // the agent's SIP URI, from config
	DisplayName  string // the visitor's name
	BrowserOffer string // complete SDP offer
	AllowVideo   bool
	RingTimeout  time.Duration
	// Headers go into the INVITE as they are (sip.CallRequest.Headers).
	Headers []sip.Header
}

// Observer hears a connection's progress. Calls come from the connection's
// goroutine, one at a time, and must not block.
type Observer interface {
	// State reports a new state; answer is the SDP answer for the browser,
	// set once: with StateEarly or, without early media, StateConnected.
	State(st State, answer string)
	// Ended is the last call, exactly once, after both legs ended.
	Ended(r Reason)
}

// hangupTimeout bounds CANCEL/BYE when we end a call.
const hangupTimeout = 5 * time.Second

const (
	// dtmfQueueLen bounds the key presses waiting in one call. A key plays
	// for dtmfDuration, so 16 keys are under 3 s of backlog: a long account
	// number typed in one burst plays completely, and a sender faster than
	// keys can play is refused rather than heard seconds late.
	dtmfQueueLen = 16
	dtmfDuration = 160 * time.Millisecond
	// dtmfTimeout bounds one key press sent by SIP INFO.
	dtmfTimeout = 5 * time.Second
)

// sipLeg is what a Connection needs of its SIP call leg; *sip.Leg is one.
type sipLeg interface {
	Done() <-chan struct{}
	Hangup(ctx context.Context) error
	SendDTMF(ctx context.Context, digit byte, d time.Duration) error
}

// Connection joins a SIP call leg to a browser's media: the call as the
// widget sees it. Its state changes only on its own goroutine (run); SIP and
// media goroutines send it events.
type Connection struct {
	log    *slog.Logger
	obs    Observer
	media  *Call
	leg    sipLeg
	events chan func()
	hangup chan Reason
	done   chan struct{}
	wg     sync.WaitGroup // hangups in flight
	// dtmf holds the key presses playDTMF has yet to send; stopDTMF ends
	// playDTMF and drops what is queued (the call is over).
	dtmf     chan byte
	dtmfCtx  context.Context
	stopDTMF context.CancelFunc
	dtmfDone chan struct{}
	// cancelSetup ends the SIP leg's setup context once the call is over;
	// extraCancels those of legs a transfer added.
	cancelSetup  context.CancelFunc
	extraCancels []context.CancelFunc
	// For transfers (transfer.go): how to place a leg, and the first
	// INVITE's name, headers and ring timeout for the new one.
	dial        dialFunc
	template    sip.CallRequest
	ringTimeout time.Duration
	// legID names the current leg's events; other ids are a transfer's.
	legID atomic.Uint64

	// Owned by run.
	answered     bool // 2xx received
	answerSent   bool // the browser has its SDP answer
	held         bool
	legEnded     bool
	localReason  Reason    // why we ended it, when we did
	remoteReason Reason    // what the SIP side said
	nextID       uint64    // the last leg id given out
	xfer         *transfer // the transfer under way
	// lastNotify is closed once the latest transfer NOTIFY was answered.
	lastNotify chan struct{}

	// turns counts run's loop iterations: each must be an event. Tests read
	// it to see that a finished call does not keep the loop turning.
	turns atomic.Uint64
}

// Connect starts a call: media first, so a bad offer never reaches the PBX,
// then the SIP leg. It returns once the INVITE is on its way; ctx bounds only
// that.
func (e *Engine) Connect(ctx context.Context, d Dialer, req DialRequest, obs Observer) (*Connection, error) {
	log := e.log.With("call", req.ID)
	media, err := e.NewCall(req.BrowserOffer, CallOptions{ID: req.ID, AllowVideo: req.AllowVideo, Log: log})
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", req.ID, err)
	}
	c := newConnection(log, obs, media)
	c.dial = dialerFunc(d)
	c.template = sip.CallRequest{DisplayName: req.DisplayName, Headers: req.Headers}
	c.ringTimeout = req.RingTimeout
	// The SIP leg's context bounds its setup until the answer; the
	// connection ends it (ring timeout, hangup), not the caller's ctx, which
	// only bounds this function.
	setup, cancelSetup := context.WithCancel(context.WithoutCancel(ctx))
	c.cancelSetup = cancelSetup
	leg, err := d.Call(setup, sip.CallRequest{Target: req.Target, DisplayName: req.DisplayName, Headers: req.Headers, SDP: media.SIPOffer()}, legEvents{c: c})
	if err != nil {
		cancelSetup()
		_ = media.Close()
		return nil, fmt.Errorf("call %s: place SIP call: %w", req.ID, err)
	}
	c.leg = leg
	go c.run(req.RingTimeout)
	return c, nil
}

func newConnection(log *slog.Logger, obs Observer, media *Call) *Connection {
	dtmfCtx, stopDTMF := context.WithCancel(context.Background())
	return &Connection{
		log:      log,
		obs:      obs,
		media:    media,
		events:   make(chan func(), 32),
		hangup:   make(chan Reason, 1),
		done:     make(chan struct{}),
		dtmf:     make(chan byte, dtmfQueueLen),
		dtmfCtx:  dtmfCtx,
		stopDTMF: stopDTMF,
		dtmfDone: make(chan struct{}),
	}
}

// Hangup ends the connection for r (the visitor hung up, the session ended,
// the gateway is shutting down). It does not wait; Ended follows.
func (c *Connection) Hangup(r Reason) {
	select {
	case c.hangup <- r:
	default: // a hangup is already pending
	}
}

// Done is closed after Ended was reported and everything is released.
func (c *Connection) Done() <-chan struct{} { return c.done }

// QueueDTMF queues a key press and returns at once. Keys are sent one after
// the other: RFC 4733 in the media when the PBX negotiated telephone-event,
// else SIP INFO. ErrDTMFQueueFull means too many keys are waiting (this one
// is dropped, the call goes on); ErrClosed that the call is ending.
func (c *Connection) QueueDTMF(digit byte) error {
	if _, ok := dtmfEvent(digit); !ok {
		return fmt.Errorf("queue DTMF %q: not a DTMF digit", digit)
	}
	if c.dtmfCtx.Err() != nil {
		return fmt.Errorf("queue DTMF %c: %w", digit, ErrClosed)
	}
	select {
	case c.dtmf <- digit:
		return nil
	default:
		return fmt.Errorf("queue DTMF %c: %d keys are waiting: %w", digit, dtmfQueueLen, ErrDTMFQueueFull)
	}
}

// playDTMF sends the queued keys until the call ends; run starts it and
// waits for it.
func (c *Connection) playDTMF() {
	defer close(c.dtmfDone)
	for {
		select {
		case <-c.dtmfCtx.Done():
			return
		case digit := <-c.dtmf:
			if c.dtmfCtx.Err() != nil {
				return
			}
			if err := c.sendDTMF(c.dtmfCtx, digit); err != nil && c.dtmfCtx.Err() == nil {
				c.log.Info("DTMF not sent", "digit", string(digit), "err", err)
			}
		}
	}
}

// sendDTMF sends one key press and waits until it was played.
func (c *Connection) sendDTMF(ctx context.Context, digit byte) error {
	err := c.media.SendDTMF(ctx, digit, dtmfDuration)
	if errors.Is(err, ErrNoTelephoneEvent) {
		ictx, cancel := context.WithTimeout(ctx, dtmfTimeout)
		defer cancel()
		err = c.leg.SendDTMF(ictx, digit, dtmfDuration)
	}
	if err != nil {
		return fmt.Errorf("send DTMF %c: %w", digit, err)
	}
	return nil
}

// post hands fn to run; it returns false once run has finished.
func (c *Connection) post(fn func()) bool {
	select {
	case c.events <- fn:
		return true
	case <-c.done:
		return false
	}
}

// run owns the connection until both legs ended. The Observer hears Ended only
// then, so nothing is left half-open.
func (c *Connection) run(ringTimeout time.Duration) {
	defer close(c.done)
	defer c.releaseSetup()
	go c.playDTMF()
	if ringTimeout <= 0 {
		ringTimeout = 60 * time.Second
	}
	ring := time.NewTimer(ringTimeout)
	defer ring.Stop()
	// mediaDone is set to nil once seen: a closed channel is always ready,
	// and selecting on it again would spin until the SIP leg ends (up to the
	// BYE's timeout toward a PBX that does not answer).
	mediaDone := c.media.Done()
	for !c.legEnded {
		c.turns.Add(1)
		select {
		case fn := <-c.events:
			fn()
		case r := <-c.hangup:
			c.end(r)
		case <-ring.C:
			if !c.answered {
				c.end(ReasonNoAnswer)
			}
		case <-mediaDone:
			mediaDone = nil
			if errors.Is(c.media.Err(), ErrRTPTimeout) {
				c.end(ReasonMediaTimeout)
			} else {
				c.end(ReasonMediaFailed)
			}
		case <-c.legDone():
			c.onLegDone()
		}
	}
	// The leg's own Ended event may still be queued: it carries the reason.
	for drained := false; !drained; {
		select {
		case fn := <-c.events:
			fn()
		default:
			drained = true
		}
	}
	c.stopDTMF()
	_ = c.media.Close()
	<-c.dtmfDone
	c.wg.Wait()
	r := c.localReason
	if r == ReasonUnknown {
		r = c.remoteReason
	}
	if r == ReasonUnknown {
		r = ReasonFailed
	}
	c.obs.Ended(r)
}

// end tears down from our side: media first, so no more audio flows, then
// CANCEL or BYE on the SIP leg (in the background: run keeps serving events
// until the leg reports its end).
func (c *Connection) end(r Reason) {
	if c.localReason != ReasonUnknown {
		return
	}
	c.localReason = r
	c.log.Info("ending call", "reason", r)
	c.stopDTMF() // keys still queued are not sent
	_ = c.media.Close()
	c.endTransfer()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
		defer cancel()
		if err := c.leg.Hangup(ctx); err != nil {
			c.log.Debug("hang up SIP leg", "err", err)
		}
	}()
}

// answer applies the PBX's SDP and, the first time, gives the browser its
// answer.
func (c *Connection) answer(sdp []byte, final bool) (string, bool) {
	if len(sdp) == 0 {
		return "", true
	}
	browser, err := c.media.SIPAnswer(sdp, final)
	if err != nil {
		c.log.Warn("PBX SDP unusable", "final", final, "err", err)
		if errors.Is(err, ErrNoCommonCodec) || errors.Is(err, ErrIncompatibleAnswer) {
			c.end(ReasonNoCommonCodec)
		} else {
			c.end(ReasonFailed)
		}
		return "", false
	}
	return browser, true
}

func (c *Connection) onProgress(code int, sdp []byte) {
	if c.localReason != ReasonUnknown || c.answered {
		return
	}
	if len(sdp) > 0 && !c.answerSent {
		browser, ok := c.answer(sdp, false)
		if !ok {
			return
		}
		c.answerSent = true
		c.obs.State(StateEarly, browser)
		return
	}
	if len(sdp) > 0 {
		_, _ = c.answer(sdp, false) // a later 183 may move the early media
	}
	if code == 180 || code == 181 || code == 182 {
		c.obs.State(StateAlerting, "")
	}
}

func (c *Connection) onAnswered(sdp []byte) {
	if c.localReason != ReasonUnknown || c.answered {
		return
	}
	c.answered = true
	if len(sdp) == 0 {
		c.log.Warn("2xx without SDP")
		c.end(ReasonFailed)
		return
	}
	browser, ok := c.answer(sdp, true)
	if !ok {
		return
	}
	if c.answerSent {
		browser = "" // the browser has its answer from the early media
	}
	c.answerSent = true
	c.obs.State(StateConnected, browser)
}

func (c *Connection) onHold(held bool) {
	if c.held == held || !c.answered || c.localReason != ReasonUnknown {
		return
	}
	c.held = held
	if c.xfer != nil {
		return // the visitor sees the transfer; its outcome says the state
	}
	if held {
		c.obs.State(StateHeld, "")
	} else {
		c.obs.State(StateConnected, "")
	}
}

// releaseSetup ends the setup contexts of every leg the call placed.
func (c *Connection) releaseSetup() {
	c.cancelSetup()
	for _, cancel := range c.extraCancels {
		cancel()
	}
	if c.xfer != nil {
		c.xfer.cancel()
	}
}

// legEvents adapts a SIP leg's events to the connection's goroutine; id
// tells the current leg from a transfer's (transfer.go).
type legEvents struct {
	c  *Connection
	id uint64
}

func (e legEvents) Progress(code int, sdp []byte) {
	if !e.current() {
		e.transferEvent(func() { e.c.onTransferProgress(code) })
		return
	}
	e.c.post(func() { e.c.onProgress(code, sdp) })
}

func (e legEvents) Answered(sdp []byte) {
	if !e.current() {
		e.transferEvent(func() { e.c.onTransferAnswered(sdp) })
		return
	}
	e.c.post(func() { e.c.onAnswered(sdp) })
}

// Reoffer answers at once from the media (the PBX waits for it) and tells run
// about hold.
func (e legEvents) Reoffer(sdp []byte) ([]byte, error) {
	if !e.current() {
		return nil, errors.New("re-offer on a leg the call is not on")
	}
	answer, err := e.c.media.SIPReoffer(sdp)
	if err != nil {
		return nil, fmt.Errorf("answer re-offer: %w", err)
	}
	held := isHold(sdp)
	e.c.post(func() { e.c.onHold(held) })
	return answer, nil
}

func (e legEvents) OfferRequest() []byte { return e.c.media.SIPLocalOffer() }

func (e legEvents) Reanswer(sdp []byte) {
	if !e.current() {
		return
	}
	if err := e.c.media.SIPReanswer(sdp); err != nil {
		e.c.log.Warn("PBX answer to our re-offer unusable", "err", err)
		e.c.post(func() { e.c.end(ReasonFailed) })
	}
}

func (e legEvents) DTMF(digit byte, d time.Duration) {
	e.c.log.Debug("DTMF from the PBX ignored", "digit", string(digit), "duration", d)
}

func (e legEvents) Ended(cause sip.EndCause, code int, reason string) {
	e.c.post(func() {
		switch {
		case e.id != e.c.legID.Load():
			if x := e.c.xfer; x != nil && x.id == e.id {
				e.c.onTransferEnded(cause, code, reason)
			}
			return // a leg the call left
		case e.c.xfer != nil && e.c.localReason == ReasonUnknown:
			// The transferor hung up; the call waits for the new leg.
			e.c.xfer.oldGone = true
			e.c.log.Info("transferor's SIP leg ended", "cause", cause, "code", code)
			return
		}
		e.c.legEnded = true
		e.c.remoteReason = reasonOf(cause)
		e.c.log.Info("SIP leg ended", "cause", cause, "code", code, "reason", reason)
	})
}

// reasonOf maps how the SIP leg ended to what the visitor is told.
func reasonOf(c sip.EndCause) Reason {
	switch c {
	case sip.EndBusy:
		return ReasonBusy
	case sip.EndDeclined:
		return ReasonDeclined
	case sip.EndNoAnswer:
		return ReasonNoAnswer
	case sip.EndUnavailable:
		return ReasonUnavailable
	case sip.EndRemoteHangup:
		return ReasonByAgent
	case sip.EndLocalHangup, sip.EndCancelled:
		return ReasonByVisitor
	}
	return ReasonFailed
}
