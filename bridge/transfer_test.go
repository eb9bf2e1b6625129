package bridge

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/sip"
)

// xferLeg is a fakeLeg that records the transfer NOTIFYs it is asked to
// send and names who answered it.
type xferLeg struct {
	*fakeLeg
	name     string
	notifies chan int // NotifyTransfer codes
}

func newXferLeg(name string) *xferLeg {
	return &xferLeg{fakeLeg: newFakeLeg(), name: name, notifies: make(chan int, 16)}
}

func (l *xferLeg) NotifyTransfer(_ context.Context, code int, _ string) error {
	l.notifies <- code
	return nil
}

func (l *xferLeg) PeerName() string { return l.name }

// transferObserver records what a TransferObserver hears.
type transferObserver struct {
	*recordingObserver
	mu          sync.Mutex
	transferred []string
	failed      []State
}

func (o *transferObserver) Transferred(party, _ string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.transferred = append(o.transferred, party)
}

func (o *transferObserver) TransferFailed(st State) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed = append(o.failed, st)
}

func (o *transferObserver) outcome() ([]string, []State) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.transferred...), append([]State(nil), o.failed...)
}

func (o *transferObserver) sawState(st State) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.states {
		if s == st {
			return true
		}
	}
	return false
}

// dialed is one call the fake dialer placed.
type dialed struct {
	req sip.CallRequest
	ev  sip.CallEvents
	leg *xferLeg
}

// xferBed is an answered Connection over real media and fake SIP legs.
type xferBed struct {
	c    *Connection
	old  *xferLeg
	obs  *transferObserver
	es   *established
	dial chan dialed
	e    *Engine
}

func newXferBed(t *testing.T) *xferBed {
	t.Helper()
	e := testEngine(t, engineCfg{})
	es := establish(t, e, CallOptions{ID: "xfer"}, nil)
	obs := &transferObserver{recordingObserver: newRecordingObserver()}
	c := newConnection(testLog(t), obs, es.call)
	b := &xferBed{c: c, old: newXferLeg("Alice"), obs: obs, es: es, dial: make(chan dialed, 4), e: e}
	c.leg = b.old
	c.cancelSetup = func() {}
	c.answered, c.answerSent = true, true
	c.template = sip.CallRequest{DisplayName: "Visitor V", Headers: []sip.Header{{Name: "Subject", Value: "Order 42"}}}
	c.ringTimeout = time.Minute
	c.dial = func(_ context.Context, req sip.CallRequest, ev sip.CallEvents) (sipLeg, error) {
		l := newXferLeg("Bob Support")
		b.dial <- dialed{req: req, ev: ev, leg: l}
		return l, nil
	}
	go c.run(time.Minute)
	t.Cleanup(func() {
		c.Hangup(ReasonByVisitor)
		b.old.end()
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Error("connection did not end")
		}
	})
	// Audio flows to the first agent.
	eventually(t, "browser audio at the first agent", func() bool {
		es.b.send(0, 1, 160, []byte("to-alice"))
		return len(es.p.received()) > 0
	})
	return b
}

// transfer makes the first agent's leg ask for a transfer and returns the
// new leg the connection placed.
func (b *xferBed) transfer(t *testing.T, tr sip.Transfer) dialed {
	t.Helper()
	if err := (legEvents{c: b.c}).Transfer(tr); err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	select {
	case d := <-b.dial:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no new leg placed")
	}
	return dialed{}
}

func waitCode(t *testing.T, ch chan int, want int) {
	t.Helper()
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
			if got >= 200 {
				t.Fatalf("NOTIFY %d, want %d", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no NOTIFY %d", want)
		}
	}
}

// TestBlindTransferMovesMedia: the new leg gets the first call's context
// and an offer of the browser's codec; once it answers, media flows
// between the browser and the new agent, the transferor hears NOTIFY 200
// and then BYE, and the visitor sees who took the call.
func TestBlindTransferMovesMedia(t *testing.T) {
	b := newXferBed(t)
	d := b.transfer(t, sip.Transfer{Target: "sip:bob@pbx.example", ReferredBy: "<sip:alice@pbx.example>"})
	if d.req.Target != "sip:bob@pbx.example" || d.req.DisplayName != "Visitor V" || d.req.ReferredBy != "<sip:alice@pbx.example>" ||
		len(d.req.Headers) != 1 || d.req.Headers[0].Value != "Order 42" || d.req.Replaces != nil {
		t.Errorf("new leg request %+v", d.req)
	}
	offer := string(d.req.SDP)
	if !strings.Contains(offer, "RTP/AVP 0 126") || strings.Contains(offer, "opus") {
		t.Errorf("the new leg's offer should carry only the call's codec and telephone-event:\n%s", offer)
	}
	if gwAddr(t, d.req.SDP) != gwAddr(t, b.es.gw) {
		t.Errorf("the new leg is offered %s, the call uses %s", gwAddr(t, d.req.SDP), gwAddr(t, b.es.gw))
	}
	eventually(t, "state transferring", func() bool { return b.obs.sawState(StateTransferring) })

	bob := newPBX(t)
	d.ev.Progress(180, nil)
	waitCode(t, b.old.notifies, 180)
	d.ev.Answered(pbxAnswer(bob.port(), "sendrecv", "0 PCMU/8000", "101 telephone-event/8000"))
	waitCode(t, b.old.notifies, 200)
	select {
	case <-b.old.hangups:
	case <-time.After(5 * time.Second):
		t.Fatal("the transferor's leg got no BYE")
	}
	b.old.end()
	eventually(t, "browser audio at the new agent", func() bool {
		b.es.b.send(0, 2, 320, []byte("to-bob"))
		return len(bob.received()) > 0
	})
	gw := gwAddr(t, b.es.gw)
	before := len(b.es.b.received())
	eventually(t, "the new agent's audio at the browser", func() bool {
		bob.sendTo(gw, 0, 0xb0b, 7, 1120, []byte("from-bob"))
		for _, pk := range b.es.b.received()[before:] {
			if string(pk.Payload) == "from-bob" {
				return true
			}
		}
		return false
	})
	alice := len(b.es.p.received())
	for i := range 5 {
		b.es.b.send(0, uint16(3+i), uint32(480+160*i), []byte("to-bob"))
	}
	eventually(t, "five more packets at the new agent", func() bool { return len(bob.received()) >= 6 })
	if n := len(b.es.p.received()); n != alice {
		t.Errorf("the first agent still got %d packets after the transfer", n-alice)
	}
	if tr, failed := b.obs.outcome(); len(tr) != 1 || tr[0] != "Bob Support" || len(failed) != 0 {
		t.Errorf("transferred %q, failed %v; want Bob Support", tr, failed)
	}
	if n := b.e.Transfers(TransferDone); n != 1 {
		t.Errorf("transfers done: %d", n)
	}
	// The call now ends with the new leg: hangup goes to it.
	b.c.Hangup(ReasonByVisitor)
	select {
	case <-d.leg.hangups:
	case <-time.After(5 * time.Second):
		t.Fatal("hangup did not reach the new leg")
	}
	d.leg.end()
	select {
	case r := <-b.obs.ended:
		if r != ReasonByVisitor {
			t.Errorf("ended %s", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("call did not end with the new leg")
	}
}

// TestAttendedTransferPassesReplaces: the new INVITE names the dialog it
// replaces.
func TestAttendedTransferPassesReplaces(t *testing.T) {
	b := newXferBed(t)
	r := &sip.Replaces{CallID: "consult@pbx", ToTag: "tt", FromTag: "ft"}
	d := b.transfer(t, sip.Transfer{Target: "sip:bob@pbx.example", Replaces: r})
	if d.req.Replaces == nil || *d.req.Replaces != *r {
		t.Errorf("Replaces %+v, want %+v", d.req.Replaces, r)
	}
	t.Cleanup(d.leg.end)
}

// TestFailedTransferKeepsFirstLeg: a busy target leaves the visitor with
// the first agent: NOTIFY 486 to the transferor, no BYE, media still to the
// first agent, the visitor told; a second transfer is then possible.
func TestFailedTransferKeepsFirstLeg(t *testing.T) {
	b := newXferBed(t)
	d := b.transfer(t, sip.Transfer{Target: "sip:bob@pbx.example"})
	if err := (legEvents{c: b.c}).Transfer(sip.Transfer{Target: "sip:carol@pbx.example"}); !errors.Is(err, sip.ErrTransferPending) {
		t.Errorf("second transfer while one is under way: %v, want ErrTransferPending", err)
	}
	d.ev.Ended(sip.EndBusy, 486, "Busy Here")
	waitCode(t, b.old.notifies, 486)
	eventually(t, "visitor told of the failure", func() bool {
		_, failed := b.obs.outcome()
		return len(failed) == 1 && failed[0] == StateConnected
	})
	select {
	case <-b.old.hangups:
		t.Fatal("the first agent's leg was hung up")
	default:
	}
	n := len(b.es.p.received())
	eventually(t, "browser audio still at the first agent", func() bool {
		b.es.b.send(0, 9, 1440, []byte("to-alice"))
		return len(b.es.p.received()) > n
	})
	if got := b.e.Transfers(TransferBusy); got != 1 {
		t.Errorf("busy transfers: %d", got)
	}
	// Events of the failed leg no longer count.
	d.ev.Answered(pbxAnswer(1, "sendrecv", "0 PCMU/8000"))
	d2 := b.transfer(t, sip.Transfer{Target: "sip:carol@pbx.example"})
	t.Cleanup(d2.leg.end)
}

// TestFailedTransferAfterTransferorLeft: the transferor hung up after the
// REFER (blind transfer); when the target does not answer the call ends
// with transfer-failed, not before.
func TestFailedTransferAfterTransferorLeft(t *testing.T) {
	b := newXferBed(t)
	d := b.transfer(t, sip.Transfer{Target: "sip:bob@pbx.example"})
	legEvents{c: b.c}.Ended(sip.EndRemoteHangup, 0, "BYE")
	b.old.end()
	// Still waiting for the target.
	if !b.c.post(func() {}) {
		t.Fatal("the call ended with the transferor's leg")
	}
	select {
	case r := <-b.obs.ended:
		t.Fatalf("call ended (%s) while the target rang", r)
	case <-time.After(200 * time.Millisecond):
	}
	d.ev.Ended(sip.EndNoAnswer, 0, "no answer in time")
	select {
	case r := <-b.obs.ended:
		if r != ReasonTransferFailed {
			t.Errorf("ended %s, want %s", r, ReasonTransferFailed)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("call did not end")
	}
	if got := b.e.Transfers(TransferNoAnswer); got != 1 {
		t.Errorf("no-answer transfers: %d", got)
	}
}

// TestTransferIncompatibleAnswer: a target answering with a codec the
// browser did not negotiate is hung up; the visitor stays.
func TestTransferIncompatibleAnswer(t *testing.T) {
	b := newXferBed(t)
	d := b.transfer(t, sip.Transfer{Target: "sip:bob@pbx.example"})
	d.ev.Answered(pbxAnswer(4000, "sendrecv", "8 PCMA/8000"))
	select {
	case <-d.leg.hangups:
	case <-time.After(5 * time.Second):
		t.Fatal("the target's leg was not hung up")
	}
	d.leg.end()
	waitCode(t, b.old.notifies, 488)
	n := len(b.es.p.received())
	eventually(t, "browser audio still at the first agent", func() bool {
		b.es.b.send(0, 9, 1440, []byte("to-alice"))
		return len(b.es.p.received()) > n
	})
}

// TestTransferBeforeAnswerRefused: a call that is not connected is not
// transferred (the SIP side answers 603).
func TestTransferBeforeAnswerRefused(t *testing.T) {
	b := newXferBed(t)
	b.c.post(func() { b.c.answered = false })
	if err := (legEvents{c: b.c}).Transfer(sip.Transfer{Target: "sip:bob@pbx.example"}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Transfer before answer: %v", err)
	}
	select {
	case <-b.dial:
		t.Error("a leg was placed")
	default:
	}
}

// TestTransferPausesTheRTPTimeout: while the target rings nobody may send
// (the transferor held or left); once it answered, the timeout is back.
func TestTransferPausesTheRTPTimeout(t *testing.T) {
	// Paused right after the answer, before anyone could send.
	e := testEngine(t, engineCfg{})
	b := newBrowser(t, false)
	c, err := e.NewCall(b.offer(), CallOptions{ID: "xfer-quiet", RTPTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("NewCall: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	alice := newPBX(t)
	ans, err := c.SIPAnswer(pbxAnswer(alice.port(), "sendrecv", "0 PCMU/8000"), true)
	if err != nil {
		t.Fatalf("SIPAnswer: %v", err)
	}
	if err := c.HoldTimeout(true); err != nil {
		t.Fatalf("HoldTimeout: %v", err)
	}
	b.accept(ans)
	select {
	case <-c.Done():
		t.Fatalf("the call ended while the target rang: %v", c.Err())
	case <-time.After(500 * time.Millisecond):
	}
	bob := newPBX(t)
	if err := c.SIPTransferAnswer(pbxAnswer(bob.port(), "sendrecv", "0 PCMU/8000")); err != nil {
		t.Fatalf("SIPTransferAnswer: %v", err)
	}
	select {
	case <-c.Done():
		if !errors.Is(c.Err(), ErrRTPTimeout) {
			t.Errorf("ended with %v, want the RTP timeout", c.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no RTP timeout after the transfer: silence is no longer noticed")
	}
}
