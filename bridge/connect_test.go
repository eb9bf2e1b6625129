package bridge

import (
	"context"
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
	if extra := c.turns.Load() - before; extra > events+1 {
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
