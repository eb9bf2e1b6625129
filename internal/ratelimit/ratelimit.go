package ratelimit

import (
	"math"
	"sync"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
)

// DefaultMaxKeys bounds the buckets a Limiter keeps.
const DefaultMaxKeys = 100_000

// ScopeCapacity is the scope Allow names when it refuses because it holds
// DefaultMaxKeys (Options.MaxKeys) buckets that are all in use.
const ScopeCapacity = "capacity"

// sweepEvery is how often idle buckets are forgotten at the latest.
const sweepEvery = time.Minute

// Options configure a Limiter.
type Options struct {
	MaxKeys int              // default DefaultMaxKeys
	Now     func() time.Time // default time.Now
}

// Check is one rate applied to one key.
type Check struct {
	Scope string // what Key is ("session", "ip", "agent"); named in refusals
	Key   string
	Rate  config.Rate
}

// Limiter holds token buckets; safe for concurrent use.
type Limiter struct {
	maxKeys int
	now     func() time.Time

	mu        sync.Mutex
	buckets   map[bucketKey]*bucket
	lastSweep time.Time
}

type bucketKey struct{ scope, key string }

// bucket holds tokens as of last; it refills at rate tokens per second up
// to burst.
type bucket struct {
	tokens float64
	last   time.Time
	burst  float64
	rate   float64
}

// New returns a Limiter.
func New(o Options) *Limiter {
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Limiter{maxKeys: o.MaxKeys, now: o.Now, buckets: map[bucketKey]*bucket{}}
}

// Allow takes one token for each check, or none at all. It returns "" when
// allowed, else the scope of the first check that refused (or
// ScopeCapacity) and how long until that check would allow again.
func (l *Limiter) Allow(checks ...Check) (refused string, wait time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweep(now)
	}
	var bs [4]*bucket
	taken := bs[:0]
	for _, c := range checks {
		if !c.Rate.Limited() {
			continue
		}
		b, ok := l.bucket(c, now)
		if !ok {
			return ScopeCapacity, time.Second
		}
		if b.tokens < 1 {
			return c.Scope, b.until(1)
		}
		taken = append(taken, b)
	}
	for _, b := range taken {
		b.tokens--
	}
	return "", 0
}

// bucket returns c's bucket refilled to now, creating it when there is
// room.
func (l *Limiter) bucket(c Check, now time.Time) (*bucket, bool) {
	k := bucketKey{c.Scope, c.Key}
	burst, rate := float64(c.Rate.Count), float64(c.Rate.Count)/c.Rate.Per.Seconds()
	b := l.buckets[k]
	if b == nil {
		if len(l.buckets) >= l.maxKeys {
			l.sweep(now)
			if len(l.buckets) >= l.maxKeys {
				return nil, false
			}
		}
		b = &bucket{tokens: burst, last: now}
		l.buckets[k] = b
	}
	// A config reload may change the rate: the new one applies from now.
	b.burst, b.rate = burst, rate
	if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = math.Min(b.burst, b.tokens+d*b.rate)
	}
	b.last = now
	return b, true
}

// until is how long until b holds n tokens.
func (b *bucket) until(n float64) time.Duration {
	if b.tokens >= n || b.rate <= 0 {
		return 0
	}
	return time.Duration((n - b.tokens) / b.rate * float64(time.Second))
}

// sweep forgets buckets that have refilled: a new one would be the same.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*b.rate >= b.burst {
			delete(l.buckets, k)
		}
	}
}

// Len returns the number of buckets held (for tests and metrics).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
