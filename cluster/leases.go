package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/frontdesk-gw/frontdesk/sip"
)

// Leases: for each wanted Target one node holds a lease, a key in the
// leases bucket created with compare-and-set (Create fails while another
// node's entry stands) and renewed by revision (Update fails once another
// node took it). The bucket's TTL ends a lease its holder stops renewing:
// a dead node's leases are free ttl after its last renewal. Only the holder
// subscribes at the PBX.
//
// Which node takes a free lease: the preferred one among the live nodes
// (rendezvous hashing) at once, any other after a grace period, so leases
// spread over the nodes and are still taken when the preferred one does
// not.

// leaseRecord is a lease's value.
type leaseRecord struct {
	Node  string `json:"node"`
	URI   string `json:"uri"`
	Event string `json:"event"`
}

type heldLease struct {
	rev     uint64
	renewed time.Time
	// confirmed: renewed or taken in the running session. A lease held
	// from before an outage may have run out meanwhile; until it is
	// confirmed this node publishes nothing for it.
	confirmed bool
}

type seenLease struct {
	node string
	at   time.Time // server time of the entry (a renewal updates it)
}

type leaseTable struct {
	mu        sync.Mutex
	wanted    map[sip.Target]struct{}
	held      map[sip.Target]heldLease
	seen      map[sip.Target]seenLease // other nodes' leases
	freeSince map[sip.Target]time.Time
	applied   []sip.Target // what the UA was last told
	kickc     chan struct{}
	// handedOver is set by Handover when it takes the held leases: a
	// lease round still under way gives back what it takes or renews.
	handedOver bool
}

func (l *leaseTable) init() {
	l.wanted = map[sip.Target]struct{}{}
	l.held = map[sip.Target]heldLease{}
	l.seen = map[sip.Target]seenLease{}
	l.freeSince = map[sip.Target]time.Time{}
	l.kickc = make(chan struct{}, 1)
}

// kick makes the lease loop run now.
func (l *leaseTable) kick() {
	select {
	case l.kickc <- struct{}{}:
	default:
	}
}

func (l *leaseTable) counts() (held, wanted int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held), len(l.wanted)
}

// Holds reports whether this node holds t's lease.
func (e *Engine) Holds(t sip.Target) bool {
	e.leases.mu.Lock()
	defer e.leases.mu.Unlock()
	_, ok := e.leases.held[t]
	return ok
}

// holdsConfirmed reports whether this node holds t's lease and renewed or
// took it in the running session: only then does it publish for t.
func (e *Engine) holdsConfirmed(t sip.Target) bool {
	e.leases.mu.Lock()
	defer e.leases.mu.Unlock()
	h, ok := e.leases.held[t]
	return ok && h.confirmed
}

// subscribedHere reports whether this node's UA subscribes to t (held or
// standalone): its own NOTIFYs are then fresher than the bucket.
func (e *Engine) subscribedHere(t sip.Target) bool {
	e.leases.mu.Lock()
	defer e.leases.mu.Unlock()
	_, ok := slices.BinarySearchFunc(e.leases.applied, t, compareTargets)
	return ok
}

func compareTargets(a, b sip.Target) int {
	if a.URI != b.URI {
		return compareStrings(a.URI, b.URI)
	}
	return compareStrings(string(a.Event), string(b.Event))
}

// SetTargets says which subscriptions the config needs; the cluster
// decides which node makes each.
func (e *Engine) SetTargets(ts []sip.Target) {
	l := &e.leases
	l.mu.Lock()
	l.wanted = make(map[sip.Target]struct{}, len(ts))
	for _, t := range ts {
		l.wanted[t] = struct{}{}
	}
	l.mu.Unlock()
	l.kick()
	e.applySubscriptions()
}

// applySubscriptions tells the UA what to subscribe to: the leases held,
// or every wanted target while standalone.
func (e *Engine) applySubscriptions() {
	standalone := e.standalone(time.Now())
	l := &e.leases
	l.mu.Lock()
	var want []sip.Target
	for t := range l.wanted {
		if _, held := l.held[t]; held || standalone {
			want = append(want, t)
		}
	}
	slices.SortFunc(want, compareTargets)
	same := slices.Equal(want, l.applied)
	var dropped []sip.Target
	if !same {
		for _, t := range l.applied {
			if _, ok := slices.BinarySearchFunc(want, t, compareTargets); !ok {
				dropped = append(dropped, t)
			}
		}
		l.applied = want
	}
	l.mu.Unlock()
	if !same || want == nil {
		e.ua.SetSubscriptions(want)
	}
	// What the bucket says of targets this node stops subscribing to is
	// theirs again (it was held back while this node's own NOTIFYs came).
	for _, t := range dropped {
		e.restoreSeen(t)
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// watchLeases keeps the view of other nodes' leases.
func (e *Engine) watchLeases(ctx context.Context, kv jetstream.KeyValue, ready chan<- struct{}) error {
	return watch(ctx, kv, ready, func(en jetstream.KeyValueEntry) {
		t, ok := parseTargetKey(en.Key())
		if !ok {
			return
		}
		l := &e.leases
		lost := false
		defer func() {
			if lost {
				e.applySubscriptions()
			}
		}()
		l.mu.Lock()
		defer l.mu.Unlock()
		if en.Operation() != jetstream.KeyValuePut {
			delete(l.seen, t)
			if _, mine := l.held[t]; !mine {
				l.freeSince[t] = time.Now()
				l.kick()
			}
			return
		}
		var rec leaseRecord
		if err := json.Unmarshal(en.Value(), &rec); err != nil {
			return
		}
		if rec.Node == e.node {
			return // our own
		}
		l.seen[t] = seenLease{node: rec.Node, at: en.Created()}
		delete(l.freeSince, t)
		if h, mine := l.held[t]; mine && en.Revision() > h.rev {
			// Someone else's write after ours: only possible once ours ran
			// out. Theirs stands.
			delete(l.held, t)
			lost = true
			e.log.Warn("cluster lease taken by another node", "uri", t.URI, "event", t.Event, "node", rec.Node)
		}
	})
}

// runLeases takes, renews and gives back leases until ctx ends.
func (e *Engine) runLeases(ctx context.Context, b buckets) error {
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() { errc <- e.watchLeases(ctx, b.leases, ready) }()
	select {
	case <-ready:
	case <-ctx.Done():
		return <-errc
	}
	// Leases held before the engine went out of reach are renewed by
	// revision if they survived, else taken anew; until then they are not
	// published for.
	e.leases.mu.Lock()
	for t, h := range e.leases.held {
		e.leases.held[t] = heldLease{rev: h.rev}
	}
	e.leases.mu.Unlock()
	t := time.NewTicker(e.ttl / 4)
	defer t.Stop()
	for {
		e.leaseRound(ctx, b.leases)
		select {
		case <-ctx.Done():
			return <-errc
		case err := <-errc:
			return err
		case <-e.leases.kickc:
		case <-t.C:
		}
	}
}

// leaseRound is one pass over the wanted and held targets.
func (e *Engine) leaseRound(ctx context.Context, kv jetstream.KeyValue) {
	now := time.Now()
	e.mu.Lock()
	draining := e.draining
	e.mu.Unlock()
	if draining {
		return
	}
	live := e.nodes.live(now, e.ttl, e.node, false)
	l := &e.leases
	type job struct {
		t     sip.Target
		renew bool
		give  bool
		rev   uint64
	}
	var jobs []job
	l.mu.Lock()
	for t, h := range l.held {
		if _, ok := l.wanted[t]; !ok {
			jobs = append(jobs, job{t: t, give: true, rev: h.rev})
		} else if now.Sub(h.renewed) >= e.ttl/3 {
			jobs = append(jobs, job{t: t, renew: true, rev: h.rev})
		}
	}
	for t := range l.wanted {
		if _, ok := l.held[t]; ok {
			continue
		}
		if s, ok := l.seen[t]; ok && now.Sub(s.at) < e.ttl {
			continue // another node holds it
		}
		since, ok := l.freeSince[t]
		if !ok {
			since = now
			l.freeSince[t] = now
		}
		if preferred(targetKey(t), live) == e.node || now.Sub(since) >= e.ttl/3 {
			jobs = append(jobs, job{t: t})
		}
	}
	l.mu.Unlock()

	for _, j := range jobs {
		if ctx.Err() != nil {
			return
		}
		key := targetKey(j.t)
		data, _ := json.Marshal(leaseRecord{Node: e.node, URI: j.t.URI, Event: string(j.t.Event)})
		opCtx, cancel := context.WithTimeout(ctx, e.ttl/3)
		var rev uint64
		var err error
		switch {
		case j.give:
			err = kv.Delete(opCtx, key, jetstream.LastRevision(j.rev))
		case j.renew:
			rev, err = kv.Update(opCtx, key, data, j.rev)
			if errors.Is(err, jetstream.ErrKeyNotFound) || isWrongRevision(err) {
				// It ran out (an outage longer than the lease): take it
				// anew if nobody else did.
				rev, err = kv.Create(opCtx, key, data)
			}
		default:
			rev, err = kv.Create(opCtx, key, data)
		}
		cancel()
		l.mu.Lock()
		if l.handedOver && err == nil && !j.give {
			// Handover ran meanwhile and gave back what it found held;
			// this one was written after: give it back too.
			l.mu.Unlock()
			gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.ttl/3)
			_ = kv.Delete(gctx, key, jetstream.LastRevision(rev))
			cancel()
			continue
		}
		switch {
		case j.give:
			delete(l.held, j.t)
		case err == nil:
			if _, had := l.held[j.t]; !had {
				e.log.Info("cluster lease taken", "uri", j.t.URI, "event", j.t.Event)
			}
			first := !l.held[j.t].confirmed
			l.held[j.t] = heldLease{rev: rev, renewed: now, confirmed: true}
			delete(l.freeSince, j.t)
			delete(l.seen, j.t)
			if first {
				e.avail.mark(j.t) // the state this node has, for everyone
			}
		case j.renew && (errors.Is(err, jetstream.ErrKeyExists) || isWrongRevision(err)):
			delete(l.held, j.t)
			e.log.Warn("cluster lease lost to another node", "uri", j.t.URI, "event", j.t.Event)
		case errors.Is(err, jetstream.ErrKeyExists):
			// Another node was quicker; the watch shows which.
		default:
			e.log.Debug("cluster lease operation failed", "uri", j.t.URI, "event", j.t.Event, "err", err)
		}
		l.mu.Unlock()
	}
	e.applySubscriptions() // also ends standalone subscriptions once reached again
}

// isWrongRevision reports a compare-and-set that lost.
func isWrongRevision(err error) bool {
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists)
}

// Handover gives up every lease at once (SIGTERM: another node subscribes
// within moments instead of after the lease ran out), marks this node
// draining so that it is handed none, and unsubscribes. Availability keeps
// coming from the other nodes.
func (e *Engine) Handover(ctx context.Context) {
	e.mu.Lock()
	e.draining = true
	b := e.cur
	e.mu.Unlock()
	l := &e.leases
	l.mu.Lock()
	held := l.held
	l.held = map[sip.Target]heldLease{}
	l.handedOver = true
	l.mu.Unlock()
	if b != nil {
		data, _ := json.Marshal(nodeRecord{Node: e.node, ConfigHash: *e.hash.Load(), Draining: true})
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if _, err := b.nodes.Put(pctx, e.node, data); err != nil {
			e.log.Warn("cluster draining mark not written", "err", err)
		}
		for t, h := range held {
			if err := b.leases.Delete(pctx, targetKey(t), jetstream.LastRevision(h.rev)); err != nil {
				e.log.Debug("cluster lease not given back; it runs out", "uri", t.URI, "event", t.Event, "err", err)
			}
		}
		cancel()
	}
	e.log.Info("cluster leases handed over", "leases", len(held))
	e.applySubscriptions()
}
