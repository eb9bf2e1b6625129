package presence

import (
	"context"
	"sync"
	"time"
)

// Hub tells any number of watchers that something changed, without ever
// waiting for one of them. Changes arriving within one window are coalesced
// into a single signal; watchers then read the current state themselves, so
// a missed intermediate state does not matter.
type Hub struct {
	window time.Duration
	kick   chan struct{} // one slot: "a change is pending"

	mu       sync.Mutex
	watchers []*Watcher // swap-remove; each knows its index
}

// Watcher receives change signals from a Hub.
type Watcher struct {
	hub *Hub
	c   chan struct{}
	fn  func() // WatchFunc's callback; nil for a channel watcher
	idx int    // position in hub.watchers, -1 once closed; guarded by hub.mu
}

// NewHub returns a Hub that coalesces changes over window (e.g. 20ms; zero
// signals after every change the loop sees). Run must be running for
// watchers to be signalled.
func NewHub(window time.Duration) *Hub {
	return &Hub{window: window, kick: make(chan struct{}, 1)}
}

// Changed notes that state changed. It never blocks and is cheap enough to
// call after every Store update.
func (h *Hub) Changed() {
	select {
	case h.kick <- struct{}{}:
	default: // a signal is already pending; it covers this change too
	}
}

// Run is the coalescing loop: after a change it waits for the window, then
// signals every watcher once. It returns when ctx is done.
func (h *Hub) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	if !timer.Stop() {
		<-timer.C
	}
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.kick:
		}
		if h.window > 0 {
			timer.Reset(h.window)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			// Changes during the window are covered by this broadcast.
			select {
			case <-h.kick:
			default:
			}
		}
		h.broadcast()
	}
}

// broadcast signals every watcher without blocking: a watcher whose slot is
// still full has not yet read the previous signal, which covers this one.
func (h *Hub) broadcast() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range h.watchers {
		if w.fn != nil {
			w.fn()
			continue
		}
		select {
		case w.c <- struct{}{}:
		default:
		}
	}
}

// Watch registers a new watcher. It is not signalled for the state as it is
// now; the caller reads that itself, then waits on C.
func (h *Hub) Watch() *Watcher {
	w := &Watcher{hub: h, c: make(chan struct{}, 1)}
	h.mu.Lock()
	w.idx = len(h.watchers)
	h.watchers = append(h.watchers, w)
	h.mu.Unlock()
	return w
}

// WatchFunc registers a watcher that is told about changes by a call of f
// instead of a channel, so a watcher needs no goroutine waiting on it. f
// runs on the hub's loop, once per broadcast, and must not block.
func (h *Hub) WatchFunc(f func()) *Watcher {
	w := &Watcher{hub: h, fn: f}
	h.mu.Lock()
	w.idx = len(h.watchers)
	h.watchers = append(h.watchers, w)
	h.mu.Unlock()
	return w
}

// Len returns the number of open watchers.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.watchers)
}

// C is signalled (holds one value) when something changed since the last
// receive. It is never closed; nil for a WatchFunc watcher.
func (w *Watcher) C() <-chan struct{} { return w.c }

// Close unregisters the watcher. It is idempotent and safe to call at any
// time, including during a broadcast.
func (w *Watcher) Close() {
	h := w.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.idx < 0 {
		return
	}
	last := len(h.watchers) - 1
	moved := h.watchers[last]
	h.watchers[w.idx] = moved
	moved.idx = w.idx
	h.watchers[last] = nil
	h.watchers = h.watchers[:last]
	w.idx = -1
}
