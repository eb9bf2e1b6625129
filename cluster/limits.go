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

	"github.com/nats-io/nats.go/jetstream"

	"github.com/frontdesk-gw/frontdesk/internal/ratelimit"
)

// Cluster-wide limits. Start rates per client address and per agent
// (limits.calls, limits.chats, limits.messages_left) are token buckets in
// the limits bucket, one key per (scope, key), changed with
// compare-and-set so that two nodes never both spend the last token.
// Concurrent calls per agent (calls.max_calls_per_agent) are slots in the
// calls bucket, created with Create and kept alive by their node every
// lease_ttl/3: a dead node's calls free their slots when the lease runs
// out. While the engine is out of reach each node counts alone.

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
}

// callSlots are the call slots this node holds and keeps alive.
type callSlots struct {
	mu    sync.Mutex
	slots map[string]uint64 // key -> revision
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
	data, _ := json.Marshal(callRecord{Node: e.node, Agent: agent, Session: session, Started: time.Now()})
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
			e.calls.slots = map[string]uint64{}
		}
		e.calls.slots[key] = rev
		e.calls.mu.Unlock()
		var once sync.Once
		return func() { once.Do(func() { e.releaseCall(key) }) }, true, nil
	}
	return nil, false, nil
}

func (e *Engine) releaseCall(key string) {
	e.calls.mu.Lock()
	rev, ok := e.calls.slots[key]
	delete(e.calls.slots, key)
	e.calls.mu.Unlock()
	kv, err := e.bucketOf(func(b *buckets) jetstream.KeyValue { return b.calls })
	if !ok || err != nil {
		return // it runs out with the lease
	}
	ctx, cancel := opCtx()
	defer cancel()
	_ = kv.Delete(ctx, key, jetstream.LastRevision(rev))
}

// keepCalls renews this node's call slots every ttl/3 until ctx ends.
func (e *Engine) keepCalls(ctx context.Context, b buckets) error {
	t := time.NewTicker(e.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		e.calls.mu.Lock()
		keys := make(map[string]uint64, len(e.calls.slots))
		for k, r := range e.calls.slots {
			keys[k] = r
		}
		e.calls.mu.Unlock()
		for key, rev := range keys {
			uctx, cancel := context.WithTimeout(ctx, e.ttl/3)
			en, err := b.calls.Get(uctx, key)
			var nrev uint64
			if err == nil && en.Revision() == rev {
				nrev, err = b.calls.Update(uctx, key, en.Value(), rev)
			}
			cancel()
			if err != nil {
				e.log.Debug("cluster call slot not renewed", "key", key, "err", err)
				continue
			}
			e.calls.mu.Lock()
			if _, still := e.calls.slots[key]; still {
				e.calls.slots[key] = nrev
			}
			e.calls.mu.Unlock()
		}
	}
}
