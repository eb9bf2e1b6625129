package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/emiago/sipgo/sip"
)

var (
	// ErrLegEnded means the leg is over; nothing more can be sent in it.
	ErrLegEnded = errors.New("sip: call leg ended")
	// ErrNotAnswered means the request needs an answered call.
	ErrNotAnswered = errors.New("sip: call not answered")
	// ErrBadDigit means a DTMF digit other than 0-9, *, #, A-D.
	ErrBadDigit = errors.New("sip: bad DTMF digit")
)

// defaultVisitorName is the From display name when the visitor gave none.
const defaultVisitorName = "Website visitor"

// maxRing bounds call setup when the caller's context has no deadline.
const maxRing = 3 * time.Minute

// CallRequest is one outgoing call to an agent.
type CallRequest struct {
	Target      string // the agent's SIP URI, from config (never from a visitor)
	DisplayName string // the visitor's name; sanitized before it goes into From
	SDP         []byte // our offer
	// Headers are added to the INVITE: only Subject, Call-Info and
	// Alert-Info, each once, one line of at most 1024 bytes without control
	// characters; Call refuses others with ErrBadHeader (call_headers.go).
	Headers []Header
	// Replaces, for the new leg of an attended transfer, names the dialog
	// it replaces at the target (RFC 3891).
	Replaces *Replaces
	// ReferredBy is the transfer's Referred-By value (RFC 3892), passed on.
	ReferredBy string
}

// CallEvents receives what happens in a leg. All methods are called on the
// leg's own goroutine, one at a time, and must return promptly: while one
// runs, the leg answers nothing else. For the same reason they must not call
// the leg's Hangup or SendDTMF, which wait for that goroutine; start a
// goroutine for that.
type CallEvents interface {
	// Progress reports a provisional response (180, 181, 182, 183); sdp is
	// non-nil when it carried SDP (early media).
	Progress(code int, sdp []byte)
	// Answered reports the first 2xx and its SDP answer; the leg has ACKed it.
	Answered(sdp []byte)
	// Reoffer answers an SDP offer from the PBX in a re-INVITE or UPDATE
	// (hold, unhold, a new address after a transfer, a session refresh with
	// the same SDP). An error rejects the offer with 488.
	Reoffer(sdp []byte) (answer []byte, err error)
	// OfferRequest returns our offer for a re-INVITE without SDP; the answer
	// follows in Reanswer.
	OfferRequest() []byte
	// Reanswer delivers the PBX's answer to an offer of ours: from the ACK
	// after OfferRequest, or from the 2xx to a session refresh when it
	// differs from the SDP we had.
	Reanswer(sdp []byte)
	// DTMF reports a digit from an INFO (application/dtmf-relay or
	// application/dtmf); duration is 0 when the INFO did not say.
	DTMF(digit byte, duration time.Duration)
	// Ended is called exactly once, last, whatever ended the leg. code is
	// the SIP status that ended it (0 when none did).
	Ended(cause EndCause, code int, reason string)
}

// Leg is the SIP side of one outgoing call: an INVITE dialog with the PBX.
// It knows nothing of media; the call that bridges media owns a Leg.
type Leg struct {
	u    *UA
	s    settings
	ev   CallEvents
	log  *slog.Logger
	key  legKey
	ruri sip.Uri
	from *sip.FromHeader // with our tag; the same in every request
	// extra are the CallRequest's headers, checked, for every INVITE.
	extra []sip.Header
	// dialog is set once answered (call_handoff.go), read from any goroutine.
	dialog atomic.Pointer[DialogID]
	// peerName is who answered, from the 2xx (PeerName).
	peerName atomic.Pointer[string]

	inbox  chan inbound       // in-dialog requests from route
	cmds   chan legCmd        // Hangup and SendDTMF
	strays chan *sip.Response // 2xx retransmissions and 2xx of other forks
	gone   chan int           // a status of ours that ended the dialog (481, 408)
	stop   chan struct{}      // closed by shutdown
	stopMu sync.Once          // closes stop
	done   chan struct{}      // closed after Ended
	wg     sync.WaitGroup     // goroutines awaiting BYEs to other forks
	st     legState           // owned by run
	setup  context.Context    // bounds call setup only
	cancel context.CancelFunc // releases setup
}

type legKey struct{ callID, localTag string }

// legCmd is a request from the API to the leg's goroutine.
type legCmd struct {
	hangup  bool
	digit   byte
	dur     time.Duration
	reoffer []byte        // a new offer of ours (Reinvite)
	notify  *referNotify  // a transfer NOTIFY (NotifyTransfer)
	reply   chan legReply // buffered
}

type legReply struct {
	tx     sip.ClientTransaction
	answer []byte // the PBX's answer to a Reinvite
	err    error
}

// Call sends an INVITE to req.Target from the registered identity and
// returns once it is sent; events follow on the leg's goroutine. The
// request is routed like the UA's other requests (outbound proxy, else the
// registrar's address). ctx bounds the call setup only: when it ends before
// an answer the INVITE is cancelled (Ended no-answer on a deadline,
// cancelled otherwise).
func (u *UA) Call(ctx context.Context, req CallRequest, ev CallEvents) (*Leg, error) {
	if u.client() == nil {
		return nil, ErrNotRunning
	}
	var target sip.Uri
	if err := sip.ParseUri(strings.TrimSpace(req.Target), &target); err != nil || target.Host == "" ||
		(target.Scheme != "sip" && target.Scheme != "sips") {
		return nil, fmt.Errorf("call %q: %w", req.Target, errors.Join(err, ErrBadURI))
	}
	if ev == nil || len(req.SDP) == 0 {
		return nil, fmt.Errorf("call %s: events and an SDP offer are required", target.String())
	}
	extra, err := callHeaders(req.Headers)
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", target.String(), err)
	}
	extra, err = transferHeaders(extra, req)
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", target.String(), err)
	}
	s := u.settings()
	from := &sip.FromHeader{DisplayName: callerName(req.DisplayName), Address: s.aor, Params: sip.NewParams()}
	l := &Leg{
		u: u, s: s, ev: ev, ruri: target, from: from, extra: extra,
		key:    legKey{callID: newCallID(), localTag: newTag()},
		inbox:  make(chan inbound),
		cmds:   make(chan legCmd),
		strays: make(chan *sip.Response, 8),
		gone:   make(chan int, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	from.Params.Add("tag", l.key.localTag)
	l.log = u.log.With("call_id", l.key.callID, "target", target.String())
	l.st.localSDP = append([]byte(nil), req.SDP...)
	if _, ok := ctx.Deadline(); !ok {
		l.setup, l.cancel = context.WithTimeoutCause(ctx, maxRing, context.DeadlineExceeded)
	} else {
		l.setup, l.cancel = context.WithCancel(ctx)
	}
	if err := u.calls.add(l); err != nil {
		l.cancel()
		return nil, err
	}
	if err := l.sendInvite(ctx); err != nil {
		l.cancel()
		u.calls.remove(l)
		close(l.done) // never started: nothing to wait for
		return nil, fmt.Errorf("call %s: %w", target.String(), err)
	}
	l.log.Info("sip call placed")
	go l.run()
	return l, nil
}

// callerName sanitizes the visitor's name for From: what
// SanitizeDisplayName keeps, minus Unicode format characters (bidi
// overrides, zero-width joiners) that could make a phone display lie.
func callerName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		if unicode.IsControl(r) {
			return ' ' // "Bob\r\nX" reads as "Bob X", never as two lines
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if s = SanitizeDisplayName(s); s == "" {
		return defaultVisitorName
	}
	return s
}

// CallID is the SIP Call-ID of the leg.
func (l *Leg) CallID() string { return l.key.callID }

// Done is closed after Ended was reported.
func (l *Leg) Done() <-chan struct{} { return l.done }

// Hangup ends the leg: CANCEL before a final response, BYE after the
// answer. It waits until Ended was reported or ctx ends, and may be called
// any number of times.
func (l *Leg) Hangup(ctx context.Context) error {
	select {
	case l.cmds <- legCmd{hangup: true}:
	case <-l.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("hang up %s: %w", l.key.callID, ctx.Err())
	}
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("hang up %s: %w", l.key.callID, ctx.Err())
	}
}

// SendDTMF sends one digit as INFO application/dtmf-relay and waits for
// the final response. d <= 0 means 160 ms.
func (l *Leg) SendDTMF(ctx context.Context, digit byte, d time.Duration) error {
	digit, ok := dtmfDigit(digit)
	if !ok {
		return fmt.Errorf("dtmf %q: %w", digit, ErrBadDigit)
	}
	reply := make(chan legReply, 1)
	select {
	case l.cmds <- legCmd{digit: digit, dur: d, reply: reply}:
	case <-l.done:
		return ErrLegEnded
	case <-ctx.Done():
		return fmt.Errorf("dtmf: %w", ctx.Err())
	}
	var r legReply
	select {
	case r = <-reply:
	case <-ctx.Done():
		return fmt.Errorf("dtmf: %w", ctx.Err())
	}
	if r.err != nil {
		return fmt.Errorf("dtmf: %w", r.err)
	}
	res, err := l.u.await(ctx, r.tx)
	if err != nil {
		return fmt.Errorf("dtmf INFO: %w", err)
	}
	if res.StatusCode == sip.StatusCallTransactionDoesNotExists || res.StatusCode == sip.StatusRequestTimeout {
		select { // RFC 5057: the dialog is gone
		case l.gone <- res.StatusCode:
		default:
		}
	}
	if !res.IsSuccess() {
		return statusError("INFO", res)
	}
	return nil
}

// Reinvite sends a new offer of ours in a re-INVITE (hold: a=sendonly,
// resume: a=sendrecv, a new address) and returns the PBX's answer from the
// 2xx, which the leg has ACKed; digest challenges are answered. A refusal
// (488, 491 while the PBX has an exchange of its own under way) returns a
// *StatusError and keeps the call with the previous SDP; no answer in time
// ends the call. Reanswer is not called for it.
func (l *Leg) Reinvite(ctx context.Context, sdp []byte) ([]byte, error) {
	if len(sdp) == 0 {
		return nil, errors.New("re-INVITE: an SDP offer is required")
	}
	reply := make(chan legReply, 1)
	select {
	case l.cmds <- legCmd{reoffer: append([]byte(nil), sdp...), reply: reply}:
	case <-l.done:
		return nil, ErrLegEnded
	case <-ctx.Done():
		return nil, fmt.Errorf("re-INVITE: %w", ctx.Err())
	}
	select {
	case r := <-reply:
		if r.err != nil {
			return nil, fmt.Errorf("re-INVITE: %w", r.err)
		}
		return r.answer, nil
	case <-l.done:
		return nil, ErrLegEnded
	case <-ctx.Done():
		return nil, fmt.Errorf("re-INVITE: %w", ctx.Err())
	}
}

// await waits, at most requestTimeout, for the final response of tx and
// then releases it.
func (u *UA) await(ctx context.Context, tx sip.ClientTransaction) (*sip.Response, error) {
	defer tx.Terminate()
	t := time.NewTimer(u.tm.requestTimeout)
	defer t.Stop()
	for {
		select {
		case res := <-tx.Responses():
			if !res.IsProvisional() {
				return res, nil
			}
		case <-tx.Done():
			return nil, errors.Join(ErrNoResponse, tx.Err())
		case <-t.C:
			return nil, ErrNoResponse
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (l *Leg) shutdown() { l.stopMu.Do(func() { close(l.stop) }) }

// callTable finds legs by Call-ID and our tag, and hangs them all up when
// the UA stops.
type callTable struct {
	mu     sync.Mutex
	legs   map[legKey]*Leg
	closed bool
}

func (t *callTable) add(l *Leg) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrNotRunning
	}
	if t.legs == nil {
		t.legs = map[legKey]*Leg{}
	}
	t.legs[l.key] = l
	return nil
}

func (t *callTable) remove(l *Leg) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.legs[l.key] == l {
		delete(t.legs, l.key)
	}
}

func (t *callTable) get(k legKey) *Leg {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.legs[k]
}

// stopCalls hangs up every live leg (BYE or CANCEL, each bounded by
// closeTimeout) and waits for them to end. Run calls it while the transport
// still works; no new call can start afterwards.
func (u *UA) stopCalls() {
	u.calls.mu.Lock()
	u.calls.closed = true
	legs := make([]*Leg, 0, len(u.calls.legs))
	for _, l := range u.calls.legs {
		legs = append(legs, l)
	}
	u.calls.mu.Unlock()
	for _, l := range legs {
		l.shutdown()
	}
	deadline := time.NewTimer(2*u.tm.closeTimeout + time.Second)
	defer deadline.Stop()
	for _, l := range legs {
		select {
		case <-l.done:
		case <-deadline.C:
			u.log.Warn("sip call legs still ending at shutdown", "legs", len(legs))
			return
		}
	}
}
