package bridge

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// fakeLeg is a SIP leg that ends only when the test says so, like a PBX
// that never answers the BYE. SendDTMF (SIP INFO) blocks until the test
// grants it or ctx ends.
type fakeLeg struct {
	done     chan struct{}
	endOnce  sync.Once
	hangups  chan struct{} // one value per Hangup call
	dtmfGo   chan struct{} // one value lets one SendDTMF finish
	mu       sync.Mutex
	digits   []byte // SendDTMF calls, in order
	finished []byte // of those, the ones that completed
}

func newFakeLeg() *fakeLeg {
	return &fakeLeg{done: make(chan struct{}), hangups: make(chan struct{}, 16), dtmfGo: make(chan struct{}, 64)}
}

func (l *fakeLeg) Done() <-chan struct{} { return l.done }

func (l *fakeLeg) end() { l.endOnce.Do(func() { close(l.done) }) }

func (l *fakeLeg) Hangup(ctx context.Context) error {
	l.hangups <- struct{}{}
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *fakeLeg) SendDTMF(ctx context.Context, digit byte, _ time.Duration) error {
	l.mu.Lock()
	l.digits = append(l.digits, digit)
	l.mu.Unlock()
	select {
	case <-l.dtmfGo:
		l.mu.Lock()
		l.finished = append(l.finished, digit)
		l.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *fakeLeg) sent() (started, finished []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.digits...), append([]byte(nil), l.finished...)
}

// recordingObserver records what a Connection reports.
type recordingObserver struct {
	mu     sync.Mutex
	states []State
	ended  chan Reason
}

func newRecordingObserver() *recordingObserver {
	return &recordingObserver{ended: make(chan Reason, 1)}
}

func (o *recordingObserver) State(st State, _ string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.states = append(o.states, st)
}

func (o *recordingObserver) Ended(r Reason) { o.ended <- r }

// testConnection is a Connection over a real media Call (answered by a test
// PBX when answer is set) and a fake SIP leg, its run loop started.
func testConnection(t *testing.T, e *Engine, answer func(port int) []byte) (*Connection, *fakeLeg, *recordingObserver, *established) {
	t.Helper()
	var es *established
	var media *Call
	if answer != nil {
		es = establish(t, e, CallOptions{ID: "conn"}, answer)
		media = es.call
	} else {
		var err error
		if media, err = e.NewCall(readTestdata(t, "offer-chrome-audio.sdp"), CallOptions{ID: "conn"}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = media.Close() })
	}
	obs := newRecordingObserver()
	c := newConnection(testLog(t), obs, media)
	leg := newFakeLeg()
	c.leg = leg
	c.cancelSetup = func() {}
	go c.run(time.Minute)
	t.Cleanup(func() {
		leg.end()
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Error("connection did not end")
		}
	})
	return c, leg, obs, es
}

// TestEndedCallDoesNotSpin: after the visitor hung up, the media is closed
// while the SIP leg still waits for the BYE's answer. The connection's loop
// must then turn only for events, not once per scheduler slot on the
// media's closed done channel.
func TestEndedCallDoesNotSpin(t *testing.T) {
	e := testEngine(t, engineCfg{})
	c, leg, obs, _ := testConnection(t, e, nil)
	c.Hangup(ReasonByVisitor)
	select {
	case <-leg.hangups:
	case <-time.After(5 * time.Second):
		t.Fatal("the SIP leg was not hung up")
	}
	<-c.media.Done()
	// The loop has seen the hangup; it may still see the media's end once.
	// From here on each turn must be one of the events posted below.
	if !c.post(func() {}) {
		t.Fatal("connection ended before its SIP leg")
	}
	before := c.turns.Load()
	const events = 200
	for range events {
		done := make(chan struct{})
		if !c.post(func() { close(done) }) {
			t.Fatal("connection ended before its SIP leg")
		}
		<-done
	}
	// A spinning loop turns thousands of times; a few late notices of the
	// ended media (PeerConnection state changes) may still arrive.
	if extra := c.turns.Load() - before; extra > events+5 {
		t.Errorf("the loop turned %d times for %d events while waiting for the BYE's answer", extra, events)
	}
	leg.end()
	select {
	case r := <-obs.ended:
		if r != ReasonByVisitor {
			t.Errorf("ended %s, want %s", r, ReasonByVisitor)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Ended not reported after the SIP leg ended")
	}
}

// noTelephoneEvent is a PBX answer without telephone-event: keys go by SIP
// INFO, through the fake leg.
func noTelephoneEvent(port int) []byte { return pbxAnswer(port, "sendrecv", "0 PCMU/8000") }

// TestDTMFQueueBounded: a visitor sending keys faster than they play gets
// a bounded queue, one sender goroutine, a clear refusal for the excess, the
// accepted keys in order, and a hangup that drops what still waits at once.
func TestDTMFQueueBounded(t *testing.T) {
	e := testEngine(t, engineCfg{})
	c, leg, _, es := testConnection(t, e, noTelephoneEvent)
	eventually(t, "browser audio at the PBX", func() bool {
		es.b.send(0, 1, 160, []byte("v"))
		return len(es.p.received()) > 0
	})
	base := runtime.NumGoroutine()
	keys := []byte("0123456789*#ABCD")
	var accepted []byte
	refused, played, most := 0, 0, 0
	// inFlight waits until the fake leg is sending the next accepted key,
	// if there is one, so each step below starts from a settled state.
	inFlight := func() {
		eventually(t, "next key sent", func() bool {
			started, done := leg.sent()
			return len(done) == played && len(started) == min(played+1, len(accepted))
		})
	}
	// 10 keys a second against 160 ms per key: 5 keys play for every 8 sent.
	for i := range 80 {
		k := keys[i%len(keys)]
		switch err := c.QueueDTMF(k); {
		case err == nil:
			accepted = append(accepted, k)
		case errors.Is(err, ErrDTMFQueueFull):
			refused++
		default:
			t.Fatalf("QueueDTMF: %v", err)
		}
		inFlight()
		if i%8 < 5 && played < len(accepted) {
			leg.dtmfGo <- struct{}{}
			played++
			inFlight()
		}
		most = max(most, runtime.NumGoroutine())
	}
	// One key in flight and a full queue; everything beyond was refused.
	if want := played + 1 + dtmfQueueLen; len(accepted) != want {
		t.Errorf("%d keys accepted with %d played, want %d (one sending, %d queued)", len(accepted), played, want, dtmfQueueLen)
	}
	if refused != 80-len(accepted) || refused == 0 {
		t.Errorf("%d keys refused of 80, %d accepted", refused, len(accepted))
	}
	if most > base+5 { // slack for pion's own short-lived goroutines
		t.Errorf("goroutines grew from %d to %d while keys were sent", base, most)
	}
	started, done := leg.sent()
	if !bytes.Equal(done, accepted[:played]) {
		t.Errorf("played %q, want the first %d accepted %q", done, played, accepted)
	}
	// Hang up with keys waiting: the key in flight is cancelled, the rest
	// are dropped, while the SIP leg still waits for the BYE's answer.
	waiting := len(accepted) - len(started)
	if waiting == 0 {
		t.Fatal("no key waiting before the hangup")
	}
	c.Hangup(ReasonByVisitor)
	select {
	case <-c.dtmfDone:
	case <-time.After(2 * time.Second):
		t.Fatal("the DTMF sender did not stop at the hangup")
	}
	if after, finished := leg.sent(); len(after) != len(started) || len(finished) != played {
		t.Errorf("after the hangup: %d keys started (had %d), %d finished (had %d)", len(after), len(started), len(finished), played)
	}
	if err := c.QueueDTMF('1'); !errors.Is(err, ErrClosed) {
		t.Errorf("QueueDTMF after hangup: %v, want ErrClosed", err)
	}
	if err := c.QueueDTMF('x'); err == nil {
		t.Error("QueueDTMF accepted 'x'")
	}
}

// TestDTMFQueueInMedia: keys queued in a burst play one after the other as
// RFC 4733 events, each complete, in order.
func TestDTMFQueueInMedia(t *testing.T) {
	e := testEngine(t, engineCfg{})
	c, _, _, es := testConnection(t, e, func(port int) []byte {
		return pbxAnswer(port, "sendrecv", "0 PCMU/8000", "101 telephone-event/8000")
	})
	eventually(t, "browser audio at the PBX", func() bool {
		es.b.send(0, 1, 160, []byte("v"))
		return len(es.p.received()) > 0
	})
	for _, k := range []byte("19#") {
		if err := c.QueueDTMF(k); err != nil {
			t.Fatalf("QueueDTMF %c: %v", k, err)
		}
	}
	var events []byte
	eventually(t, "three events ended", func() bool {
		events = events[:0]
		var lastTS uint32
		for _, p := range es.p.received() {
			if p.PayloadType == 101 && p.Payload[1]&0x80 != 0 && (len(events) == 0 || p.Timestamp != lastTS) {
				events = append(events, p.Payload[0])
				lastTS = p.Timestamp
			}
		}
		return len(events) >= 3
	})
	if !bytes.Equal(events, []byte{1, 9, 11}) {
		t.Errorf("events %v, want 1 9 11", events)
	}
}
