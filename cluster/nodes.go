package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// nodeRecord is a node's heartbeat in the nodes bucket, under its name.
type nodeRecord struct {
	Node       string    `json:"node"`
	ConfigHash string    `json:"config_hash"`
	Started    time.Time `json:"started"`
	// Draining nodes take no new leases and are handed none.
	Draining bool `json:"draining,omitempty"`
}

// nodeView is what this node knows of the others, from watching the nodes
// bucket. The bucket's TTL removes a dead node's entry, but NATS 2.9 tells
// no watcher about that: a node counts as live while its last heartbeat
// is younger than the lease.
type nodeView struct {
	mu    sync.Mutex
	nodes map[string]nodeSeen
}

type nodeSeen struct {
	rec nodeRecord
	at  time.Time // when the heartbeat was stored (server time)
}

func (v *nodeView) put(rec nodeRecord, at time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.nodes == nil {
		v.nodes = map[string]nodeSeen{}
	}
	v.nodes[rec.Node] = nodeSeen{rec: rec, at: at}
}

func (v *nodeView) remove(node string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.nodes, node)
}

// live lists the nodes that may hold leases: heartbeat within ttl, not
// draining. self is always among them unless it drains.
func (v *nodeView) live(now time.Time, ttl time.Duration, self string, selfDraining bool) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for name, n := range v.nodes {
		if name != self && !n.rec.Draining && now.Sub(n.at) < ttl {
			out = append(out, name)
		}
	}
	if !selfDraining {
		out = append(out, self)
	}
	slices.Sort(out)
	return out
}

// heardWithin reports whether node's last heartbeat, or since when that is
// later, is younger than ttl, draining or not.
func (v *nodeView) heardWithin(node string, since, now time.Time, ttl time.Duration) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	at := since
	if n, ok := v.nodes[node]; ok && n.at.After(at) {
		at = n.at
	}
	return now.Sub(at) < ttl
}

// summary counts live nodes and names those whose config hash is not
// hash.
func (v *nodeView) summary(now time.Time, ttl time.Duration, hash, self string) (live int, mismatch []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	live = 1
	for name, n := range v.nodes {
		if name == self || now.Sub(n.at) >= ttl {
			continue
		}
		live++
		if n.rec.ConfigHash != hash {
			mismatch = append(mismatch, name)
		}
	}
	slices.Sort(mismatch)
	return live, mismatch
}

// heartbeat writes this node's record every ttl/3 until ctx ends.
func (e *Engine) heartbeat(ctx context.Context, b buckets) error {
	started := time.Now()
	t := time.NewTicker(e.ttl / 3)
	defer t.Stop()
	for {
		e.mu.Lock()
		draining := e.draining
		e.mu.Unlock()
		rec := nodeRecord{Node: e.node, ConfigHash: *e.hash.Load(), Started: started, Draining: draining}
		data, _ := json.Marshal(rec)
		pctx, cancel := context.WithTimeout(ctx, e.ttl/3)
		_, err := b.nodes.Put(pctx, e.node, data)
		cancel()
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("heartbeat: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// watchNodes keeps nodeView current; ready is closed after the snapshot.
func (e *Engine) watchNodes(ctx context.Context, kv jetstream.KeyValue, ready chan<- struct{}) error {
	return watch(ctx, kv, ready, func(en jetstream.KeyValueEntry) {
		if en.Operation() != jetstream.KeyValuePut {
			e.nodes.remove(en.Key())
			e.leases.kick()
			return
		}
		var rec nodeRecord
		if err := json.Unmarshal(en.Value(), &rec); err != nil || rec.Node != en.Key() {
			e.log.Warn("cluster node record unreadable", "key", en.Key(), "err", err)
			return
		}
		e.nodes.put(rec, en.Created())
		if rec.Draining {
			e.leases.kick()
		}
	})
}

// watch runs a watcher over every key of kv, calling apply for each entry
// (the current ones first, then updates) until ctx ends or the watch
// fails. ready is closed once the current entries were applied.
func watch(ctx context.Context, kv jetstream.KeyValue, ready chan<- struct{}, apply func(jetstream.KeyValueEntry)) error {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		close(ready)
		return fmt.Errorf("watch %s: %w", kv.Bucket(), err)
	}
	defer func() { _ = w.Stop() }()
	initial := true
	for {
		select {
		case <-ctx.Done():
			if initial {
				close(ready)
			}
			return nil
		case en, ok := <-w.Updates():
			if !ok {
				if initial {
					close(ready)
				}
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("watch " + kv.Bucket() + " ended")
			}
			if en == nil {
				if initial {
					initial = false
					close(ready)
				}
				continue
			}
			apply(en)
		}
	}
}
