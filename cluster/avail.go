package cluster

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// Availability: the lease holder of a Target puts what its store knows of
// it (presence.Snapshot) into the availability bucket after each change;
// every node watches the bucket (current entries first, then updates) and
// restores them into its own store. Puts are queued and coalesced per
// Target: each carries the state as it is when sent.

// availRecord is an availability entry.
type availRecord struct {
	URI      string            `json:"uri"`
	Event    string            `json:"event"`
	Node     string            `json:"node"` // who heard it
	State    presence.Snapshot `json:"state"`
	Heard    time.Time         `json:"heard"`
	Released bool              `json:"released,omitempty"`
}

type availQueue struct {
	mu    sync.Mutex
	dirty map[sip.Target]struct{}
	kickc chan struct{}
	// seen is the bucket's last entry per target, also those held back
	// because this node subscribes to the target itself.
	seen map[sip.Target]availRecord
}

func (q *availQueue) init() {
	q.dirty = map[sip.Target]struct{}{}
	q.kickc = make(chan struct{}, 1)
	q.seen = map[sip.Target]availRecord{}
}

func (q *availQueue) mark(t sip.Target) {
	q.mu.Lock()
	q.dirty[t] = struct{}{}
	q.mu.Unlock()
	select {
	case q.kickc <- struct{}{}:
	default:
	}
}

func (q *availQueue) take() []sip.Target {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]sip.Target, 0, len(q.dirty))
	for t := range q.dirty {
		out = append(out, t)
	}
	clear(q.dirty)
	return out
}

// Changed says that this node's store changed for t (a NOTIFY, or the
// subscription was lost); the holder publishes it.
func (e *Engine) Changed(t sip.Target) {
	if e.holdsConfirmed(t) {
		e.avail.mark(t)
	}
}

// restoreSeen applies the bucket's last entry for t to this node's store.
func (e *Engine) restoreSeen(t sip.Target) {
	e.avail.mu.Lock()
	rec, ok := e.avail.seen[t]
	e.avail.mu.Unlock()
	if ok && e.st.Restore(t.URI, string(t.Event), rec.State) {
		e.hub.Changed()
	}
}

// publishAvail sends queued changes until ctx ends.
func (e *Engine) publishAvail(ctx context.Context, b buckets) error {
	retry := time.NewTicker(e.ttl / 4)
	defer retry.Stop()
	for {
		for _, t := range e.avail.take() {
			if !e.holdsConfirmed(t) {
				continue
			}
			rec := availRecord{URI: t.URI, Event: string(t.Event), Node: e.node,
				State: e.st.Snapshot(t.URI, string(t.Event)), Heard: time.Now()}
			data, _ := json.Marshal(rec)
			pctx, cancel := context.WithTimeout(ctx, e.ttl/3)
			_, err := b.avail.Put(pctx, targetKey(t), data)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				e.log.Debug("cluster availability not published; retrying", "uri", t.URI, "event", t.Event, "err", err)
				e.avail.mark(t)
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.avail.kickc:
		case <-retry.C:
		}
	}
}

// watchAvail restores what the holders publish into this node's store.
func (e *Engine) watchAvail(ctx context.Context, kv jetstream.KeyValue, ready chan<- struct{}) error {
	return watch(ctx, kv, ready, func(en jetstream.KeyValueEntry) {
		t, ok := parseTargetKey(en.Key())
		if !ok || en.Operation() != jetstream.KeyValuePut {
			return
		}
		var rec availRecord
		if err := json.Unmarshal(en.Value(), &rec); err != nil || rec.URI != t.URI || rec.Event != string(t.Event) {
			e.log.Warn("cluster availability entry unreadable", "key", en.Key(), "err", err)
			return
		}
		e.avail.mu.Lock()
		e.avail.seen[t] = rec
		e.avail.mu.Unlock()
		if rec.Node == e.node || e.subscribedHere(t) {
			return // this node's own NOTIFYs are fresher
		}
		if e.st.Restore(t.URI, string(t.Event), rec.State) {
			e.hub.Changed()
		}
	})
}
