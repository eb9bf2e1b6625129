package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/frontdesk-gw/frontdesk/internal/ratelimit"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// Cluster-wide limits. Start rates per client address and per agent
// (limits.calls, limits.chats, limits.messages_left) are token buckets in
// the limits bucket, one key per (scope, key), changed with
// compare-and-set so that two nodes never both spend the last token.
// Concurrent calls per agent (calls.max_calls_per_agent) are slots in the
// calls bucket, created with Create and kept alive by their node every
// lease_ttl/3. A dead node's slots are ended by a surviving node once that
// node is gone (endOrphanCalls); the bucket's TTL, callSlotTTL leases, is
// longer so that a slot is still there to be ended (with its call's BYE),
// and frees it all the same when no node does. While the engine is out of
// reach each node counts alone.

// callSlotTTL is the calls bucket's TTL in leases: a dead node is known to
// be gone (gone) a lease after its last heartbeat, plus up to a third of
// one until the next look; its slots must outlive that.
const callSlotTTL = 2

// limitsTTL drops rate buckets idle this long (a bucket idle for its whole
// period is full, the same as a new one).
const limitsTTL = time.Hour

// rateState is a token bucket in the engine.
type rateState struct {
	Tokens float64   `json:"tokens"`
	Last   time.Time `json:"last"`
}

func rateKey(c ratelimit.Check) string {
	sum := sha256.Sum256([]byte(c.Key))
	return "r." + c.Scope + "." + base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (e *Engine) bucketOf(pick func(*buckets) jetstream.KeyValue) (jetstream.KeyValue, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil {
		return nil, errOutOfReach
	}
	if kv := pick(e.cur); kv != nil {
		return kv, nil
	}
	return nil, errOutOfReach
}

// Allow takes one token of each check across the cluster, or none: it
// returns "" when allowed, else the refusing check's scope and how long
// until it would allow. err is set (and nothing decided) when the engine
// is out of reach; the caller then counts on its own.
func (e *Engine) Allow(checks ...ratelimit.Check) (refused string, wait time.Duration, err error) {
	kv, err := e.bucketOf(func(b *buckets) jetstream.KeyValue { return b.limits })
	if err != nil {
		return "", 0, err
	}
	ctx, cancel := opCtx()
	defer cancel()
	for range 5 {
		refused, wait, err = e.tryAllow(ctx, kv, checks)
		if !isWrongRevision(err) {
			return refused, wait, err
		}
	}
	return "", 0, fmt.Errorf("rate limits: too much contention: %w", err)
}

type takenToken struct {
	key string
	rev uint64
	st  rateState
}

// tryAllow reads every bucket, decides, then writes each with
// compare-and-set; a write that loses returns a wrong-revision error and
// the caller tries again (tokens written before are given back).
func (e *Engine) tryAllow(ctx context.Context, kv jetstream.KeyValue, checks []ratelimit.Check) (string, time.Duration, error) {
	now := time.Now()
	var taken []takenToken
	for _, c := range checks {
		if !c.Rate.Limited() {
			continue
		}
		burst, rate := float64(c.Rate.Count), float64(c.Rate.Count)/c.Rate.Per.Seconds()
		key := rateKey(c)
		st, rev := rateState{Tokens: burst, Last: now}, uint64(0)
		en, err := kv.Get(ctx, key)
		switch {
		case err == nil:
			if json.Unmarshal(en.Value(), &st) != nil {
				st = rateState{Tokens: burst, Last: now}
			}
			rev = en.Revision()
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return "", 0, fmt.Errorf("read rate %s: %w", c.Scope, err)
		}
		if d := now.Sub(st.Last).Seconds(); d > 0 {
			st.Tokens = math.Min(burst, st.Tokens+d*rate)
		}
		st.Last = now
		if st.Tokens < 1 {
			return c.Scope, time.Duration((1 - st.Tokens) / rate * float64(time.Second)), nil
		}
		st.Tokens--
		taken = append(taken, takenToken{key: key, rev: rev, st: st})
	}
	for i, tk := range taken {
		data, _ := json.Marshal(tk.st)
		var err error
		if tk.rev == 0 {
			_, err = kv.Create(ctx, tk.key, data)
		} else {
			_, err = kv.Update(ctx, tk.key, data, tk.rev)
		}
		if err != nil {
			e.giveBack(ctx, kv, taken[:i])
			return "", 0, err
		}
	}
	return "", 0, nil
}

// giveBack returns tokens taken by a decision that did not complete.
func (e *Engine) giveBack(ctx context.Context, kv jetstream.KeyValue, taken []takenToken) {
	for _, tk := range taken {
		for range 3 {
			en, err := kv.Get(ctx, tk.key)
			if err != nil {
				break
			}
			var st rateState
			if json.Unmarshal(en.Value(), &st) != nil {
				break
			}
			st.Tokens++
			data, _ := json.Marshal(st)
			if _, err := kv.Update(ctx, tk.key, data, en.Revision()); !isWrongRevision(err) {
				break
			}
		}
	}
}

// callRecord is a call in the engine: its slot of the agent's
// max_calls_per_agent, kept alive by its node.
type callRecord struct {
	Node    string    `json:"node"`
	Agent   string    `json:"agent"`
	Session string    `json:"session"`
	Started time.Time `json:"started"`
	// Dialog is the answered call's SIP dialog, so that a surviving node
	// can end it with BYE when this one dies.
	Dialog *sip.DialogID `json:"dialog,omitempty"`
}

// callSlots are the call slots this node holds and keeps alive.
type callSlots struct {
	mu        sync.Mutex
	slots     map[string]*heldCall // key -> slot
	bySession map[string]string    // session -> key
}

type heldCall struct {
	rev uint64
	rec callRecord
}

// AcquireCall takes one of agent's limit call slots across the cluster
// for a call of session; release gives it back. ok is false when all are
// taken. err is set (nothing taken) when the engine is out of reach.
func (e *Engine) AcquireCall(agent, session string, limit int) (release func(), ok bool, err error) {
	kv, err := e.bucketOf(func(b *buckets) jetstream.KeyValue { return b.calls })
	if err != nil {
		return nil, false, err
	}
	ctx, cancel := opCtx()
	defer cancel()
	rec := callRecord{Node: e.node, Agent: agent, Session: session, Started: time.Now()}
	data, _ := json.Marshal(rec)
	for n := range max(1, limit) {
		key := "s." + agentKey(agent) + "." + strconv.Itoa(n)
		rev, err := kv.Create(ctx, key, data)
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("claim call slot of %s: %w", agent, err)
		}
		e.calls.mu.Lock()
		if e.calls.slots == nil {
			e.calls.slots, e.calls.bySession = map[string]*heldCall{}, map[string]string{}
		}
		e.calls.slots[key] = &heldCall{rev: rev, rec: rec}
		e.calls.bySession[session] = key
		e.calls.mu.Unlock()
		var once sync.Once
		return func() { once.Do(func() { e.releaseCall(key) }) }, true, nil
	}
	return nil, false, nil
}

func (e *Engine) releaseCall(key string) {
	e.calls.mu.Lock()
	h, ok := e.calls.slots[key]
	delete(e.calls.slots, key)
	if ok && e.calls.bySession[h.rec.Session] == key {
		delete(e.calls.bySession, h.rec.Session)
	}
	e.calls.mu.Unlock()
	kv, err := e.bucketOf(func(b *buckets) jetstream.KeyValue { return b.calls })
	if !ok || err != nil {
		return // it runs out with the lease
	}
	ctx, cancel := opCtx()
	defer cancel()
	rev := h.rev
	for range 3 {
		if err := kv.Delete(ctx, key, jetstream.LastRevision(rev)); !isWrongRevision(err) {
			return
		}
		// A renewal (or the dialog's record) in flight wrote the slot after
		// rev: delete what is there if it is still this call's, or it
		// would count against the agent until the lease ran out.
		en, err := kv.Get(ctx, key)
		if err != nil {
			return
		}
		var cur callRecord
		if json.Unmarshal(en.Value(), &cur) != nil || cur.Node != e.node || cur.Session != h.rec.Session ||
			!cur.Started.Equal(h.rec.Started) {
			return
		}
		rev = en.Revision()
	}
}

// RecordCall adds the answered call's dialog to the call slot of session
// and writes it at once (else with the next renewal).
func (e *Engine) RecordCall(session string, d sip.DialogID) {
	e.calls.mu.Lock()
	key := e.calls.bySession[session]
	h := e.calls.slots[key]
	if h == nil {
		e.calls.mu.Unlock()
		return
	}
	h.rec.Dialog = &d
	data, _ := json.Marshal(h.rec)
	rev := h.rev
	e.calls.mu.Unlock()
	kv, err := e.bucketOf(func(b *buckets) jetstream.KeyValue { return b.calls })
	if err != nil {
		return
	}
	ctx, cancel := opCtx()
	defer cancel()
	nrev, err := kv.Update(ctx, key, data, rev)
	if err != nil {
		e.log.Debug("cluster call dialog not recorded yet", "session", session, "err", err)
		return
	}
	e.calls.mu.Lock()
	if h := e.calls.slots[key]; h != nil && h.rev == rev {
		h.rev = nrev
	}
	e.calls.mu.Unlock()
}

// byer ends another node's call dialog; *sip.UA is one.
type byer interface {
	Bye(ctx context.Context, d sip.DialogID) (int, error)
}

// keepCalls renews this node's call slots every ttl/3 and ends the calls
// of nodes that died until ctx ends.
func (e *Engine) keepCalls(ctx context.Context, b buckets) error {
	t := time.NewTicker(e.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		e.renewCalls(ctx, b.calls)
		e.endOrphanCalls(ctx, b.calls)
	}
}

func (e *Engine) renewCalls(ctx context.Context, kv jetstream.KeyValue) {
	e.calls.mu.Lock()
	type job struct {
		key  string
		rev  uint64
		data []byte
	}
	jobs := make([]job, 0, len(e.calls.slots))
	for k, h := range e.calls.slots {
		data, _ := json.Marshal(h.rec)
		jobs = append(jobs, job{k, h.rev, data})
	}
	e.calls.mu.Unlock()
	for _, j := range jobs {
		uctx, cancel := context.WithTimeout(ctx, e.ttl/3)
		nrev, err := kv.Update(uctx, j.key, j.data, j.rev)
		cancel()
		if err != nil {
			e.log.Debug("cluster call slot not renewed", "key", j.key, "err", err)
			continue
		}
		e.calls.mu.Lock()
		if h := e.calls.slots[j.key]; h != nil {
			h.rev = nrev
		}
		e.calls.mu.Unlock()
	}
}

// endOrphanCalls ends, with BYE from this node, the answered calls of
// nodes that are gone (see gone): their media went with them, and frees
// their slots. Deleting the slot by revision decides which node sends it.
func (e *Engine) endOrphanCalls(ctx context.Context, kv jetstream.KeyValue) {
	by, ok := e.ua.(byer)
	if !ok {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, e.ttl/3)
	defer cancel()
	lister, err := kv.ListKeys(lctx)
	if err != nil {
		return
	}
	dead := map[string]bool{}
	for key := range lister.Keys() {
		en, err := kv.Get(lctx, key)
		if err != nil {
			continue
		}
		var rec callRecord
		if json.Unmarshal(en.Value(), &rec) != nil || rec.Node == e.node {
			continue
		}
		gone, seen := dead[rec.Node]
		if !seen {
			gone = e.gone(lctx, rec.Node)
			dead[rec.Node] = gone
		}
		if !gone || kv.Delete(lctx, key, jetstream.LastRevision(en.Revision())) != nil {
			continue
		}
		if rec.Dialog == nil {
			continue // not answered: only its slot was left
		}
		code, err := by.Bye(ctx, *rec.Dialog)
		e.log.Info("cluster call of a node that is gone ended with BYE", "node", rec.Node, "agent", rec.Agent,
			"call_id", rec.Dialog.CallID, "code", code, "err", err)
	}
}

// gone reports whether node is dead as far as its calls go: it wrote no
// heartbeat for a lease, counted from when this node last reached the
// engine (an outage stops every node's heartbeats), and nobody answers on
// its subject. No responder alone is not enough: a live node has none for
// a moment while its session starts again (a reconnect, a NATS restart),
// and ending its calls then would hang up calls whose media is fine.
func (e *Engine) gone(ctx context.Context, node string) bool {
	e.mu.Lock()
	since := e.sessionAt
	e.mu.Unlock()
	if e.nodes.heardWithin(node, since, time.Now(), e.ttl) {
		return false
	}
	return !e.alive(ctx, node)
}

// alive reports whether node answers on its subject (NATS says at once
// when nobody listens there any more); when unsure, it is taken as alive.
func (e *Engine) alive(ctx context.Context, node string) bool {
	nc := e.conn()
	if nc == nil {
		return true
	}
	data, _ := json.Marshal(chatRequest{Op: opProbe})
	_, err := nc.RequestWithContext(ctx, e.chatSubject(node), data)
	return !errors.Is(err, nats.ErrNoResponders)
}
