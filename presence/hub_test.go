package presence

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// startHub runs h until the test ends, and waits for Run to return.
func startHub(t testing.TB, h *Hub) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Hub.Run did not return after cancel")
		}
	})
}

func waitSignal(t *testing.T, w *Watcher, what string) {
	t.Helper()
	select {
	case <-w.C():
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no signal", what)
	}
}

func TestHubSlowWatcherDoesNotBlock(t *testing.T) {
	h := NewHub(0)
	startHub(t, h)
	slow := h.Watch() // never read
	defer slow.Close()
	fast := h.Watch()
	defer fast.Close()
	for range 50 {
		h.Changed()
		waitSignal(t, fast, "fast watcher")
	}
	if n := len(slow.C()); n != 1 {
		t.Errorf("slow watcher holds %d signals, want 1", n)
	}
}

func TestHubCoalesces(t *testing.T) {
	const window = 50 * time.Millisecond
	h := NewHub(window)
	startHub(t, h)
	w := h.Watch()
	defer w.Close()
	for range 100 {
		h.Changed()
	}
	waitSignal(t, w, "after burst")
	n := 1
	quiet := time.After(4 * window)
	for done := false; !done; {
		select {
		case <-w.C():
			n++
		case <-quiet:
			done = true
		}
	}
	if n > 2 {
		t.Errorf("100 changes in a burst gave %d signals, want 1 or 2", n)
	}
}

func TestHubWatcherClose(t *testing.T) {
	h := NewHub(0)
	startHub(t, h)
	ws := make([]*Watcher, 5)
	for i := range ws {
		ws[i] = h.Watch()
	}
	ws[1].Close()
	ws[1].Close()
	ws[4].Close()
	if got := h.Len(); got != 3 {
		t.Fatalf("Len = %d, want 3", got)
	}
	h.Changed()
	for _, i := range []int{0, 2, 3} {
		waitSignal(t, ws[i], "open watcher")
	}
	for _, i := range []int{1, 4} {
		select {
		case <-ws[i].C():
			t.Errorf("closed watcher %d signalled", i)
		case <-time.After(20 * time.Millisecond):
		}
	}
	for _, w := range ws {
		w.Close()
	}
	if got := h.Len(); got != 0 {
		t.Errorf("Len after closing all = %d", got)
	}
}

func TestHubCloseDuringBroadcast(t *testing.T) {
	h := NewHub(0)
	startHub(t, h)
	ws := make([]*Watcher, 2000)
	for i := range ws {
		ws[i] = h.Watch()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				h.Changed()
			}
		}
	})
	for part := range 4 {
		wg.Go(func() {
			for i := part; i < len(ws); i += 4 {
				ws[i].Close()
				h.Watch().Close()
				ws[i].Close()
			}
		})
	}
	time.Sleep(10 * time.Millisecond)
	close(stop)
	wg.Wait()
	if got := h.Len(); got != 0 {
		t.Errorf("Len = %d, want 0", got)
	}
}

func TestHubChangedWithoutRun(t *testing.T) {
	h := NewHub(time.Millisecond)
	for range 1000 {
		h.Changed() // must not block with nobody running the loop
	}
	w := h.Watch()
	defer w.Close()
	startHub(t, h) // the pending change is delivered once Run starts
	waitSignal(t, w, "pending change")
}

// TestHubWatchFunc: a callback watcher is called once per broadcast, next
// to channel watchers, and no more once closed.
func TestHubWatchFunc(t *testing.T) {
	h := NewHub(0)
	startHub(t, h)
	var calls atomic.Int64
	called := make(chan struct{}, 16)
	fw := h.WatchFunc(func() {
		calls.Add(1)
		select {
		case called <- struct{}{}:
		default:
		}
	})
	cw := h.Watch()
	defer cw.Close()
	h.Changed()
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("callback watcher not called after a change")
	}
	waitSignal(t, cw, "channel watcher")
	if fw.C() != nil {
		t.Errorf("callback watcher has a channel")
	}
	fw.Close()
	before := calls.Load()
	h.Changed()
	waitSignal(t, cw, "channel watcher after the callback watcher closed")
	if got := calls.Load(); got != before {
		t.Errorf("closed callback watcher called %d more times", got-before)
	}
}
