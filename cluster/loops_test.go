package cluster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestLoopGroupAllFailAtOnce: every loop of a session fails at the same
// moment (the connection dropped): the first failure is reported and the
// group ends, none of them stuck on its way out.
func TestLoopGroupAllFailAtOnce(t *testing.T) {
	const n = 8 // as many as a session runs
	ctx, realCancel := context.WithCancel(context.Background())
	defer realCancel()
	// Each loop's cancel waits until all of them got there: so every loop
	// reports its failure before any cancel could hide it.
	var arrived sync.WaitGroup
	arrived.Add(n)
	cancel := func() {
		arrived.Done()
		arrived.Wait()
		realCancel()
	}
	g := newLoopGroup()
	for range n {
		g.start(ctx, cancel, "loop", func(context.Context) error { return errors.New("connection closed") })
	}
	ended := make(chan struct{})
	go func() {
		g.wait()
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the loops did not end within 5s: one is stuck reporting its failure")
	}
	select {
	case err := <-g.failed():
		if err == nil || err.Error() != "loop: connection closed" {
			t.Errorf("failure %v, want the first loop's", err)
		}
	default:
		t.Error("no failure reported")
	}
}
