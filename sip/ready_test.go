package sip

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// SendMessage and Call racing with Run's start either refuse with
// ErrNotRunning or work; under the race detector they must not read the
// client Run is still setting up.
func TestSendAndCallRaceRunStart(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	for range 5 {
		cfg := fakeConfig(f)
		u, err := New(cfg, newRecorder(), Options{Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			var err error
			for err = ErrNotRunning; errors.Is(err, ErrNotRunning) && !isClosed(u.Ready()); {
				_, err = u.SendMessage(ctx, OutgoingMessage{To: "sip:alice@example.test", Body: []byte("hi")})
			}
			if err != nil && !errors.Is(err, ErrNotRunning) {
				var se *StatusError
				if !errors.As(err, &se) && ctx.Err() == nil {
					t.Errorf("SendMessage: %v", err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			var l *Leg
			var err error
			for err = ErrNotRunning; errors.Is(err, ErrNotRunning) && !isClosed(u.Ready()); {
				l, err = u.Call(ctx, CallRequest{Target: "sip:alice@example.test", SDP: []byte(offerSDP)}, newLegEvents())
			}
			if err == nil {
				_ = l.Hangup(ctx)
			} else if !errors.Is(err, ErrNotRunning) {
				t.Errorf("Call: %v", err)
			}
		}()
		runDone := make(chan error, 1)
		go func() { runDone <- u.Run(ctx) }()
		close(start)
		wg.Wait()
		cancel()
		select {
		case <-runDone:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return")
		}
	}
}
