package ratelimit

import (
	"fmt"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
)

// clock is a manual time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTest(maxKeys int) (*Limiter, *clock) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	return New(Options{MaxKeys: maxKeys, Now: c.now}), c
}

var perMin3 = config.Rate{Count: 3, Per: time.Minute}

func TestBurstThenSteadyRate(t *testing.T) {
	l, c := newTest(0)
	check := Check{Scope: "session", Key: "s1", Rate: perMin3}
	for i := range 3 {
		if refused, _ := l.Allow(check); refused != "" {
			t.Fatalf("attempt %d refused by %s", i+1, refused)
		}
	}
	refused, wait := l.Allow(check)
	if refused != "session" || wait != 20*time.Second {
		t.Fatalf("4th attempt: refused %q, wait %v; want session, 20s", refused, wait)
	}
	c.advance(19 * time.Second)
	if refused, _ := l.Allow(check); refused == "" {
		t.Fatal("allowed before a token refilled")
	}
	c.advance(time.Second)
	if refused, _ := l.Allow(check); refused != "" {
		t.Fatalf("refused by %s after a token refilled", refused)
	}
}

func TestAllOrNothing(t *testing.T) {
	l, _ := newTest(0)
	agent := Check{Scope: "agent", Key: "sip:alice@pbx", Rate: config.Rate{Count: 1, Per: time.Minute}}
	ip := func(addr string) Check { return Check{Scope: "ip", Key: addr, Rate: perMin3} }
	if refused, _ := l.Allow(ip("192.0.2.1"), agent); refused != "" {
		t.Fatalf("first call refused by %s", refused)
	}
	// The agent refuses; the address's bucket must not pay for it.
	for range 5 {
		if refused, _ := l.Allow(ip("192.0.2.1"), agent); refused != "agent" {
			t.Fatalf("refused by %q, want agent", refused)
		}
	}
	other := Check{Scope: "agent", Key: "sip:bob@pbx", Rate: perMin3}
	for i := range 2 {
		if refused, _ := l.Allow(ip("192.0.2.1"), other); refused != "" {
			t.Fatalf("call %d to another agent refused by %s: the address paid for refusals", i+1, refused)
		}
	}
	if refused, _ := l.Allow(ip("192.0.2.1"), other); refused != "ip" {
		t.Fatalf("4th call from the address: refused by %q, want ip", refused)
	}
}

func TestUnlimitedRates(t *testing.T) {
	l, _ := newTest(1)
	for i := range 100 {
		if refused, _ := l.Allow(Check{Scope: "ip", Key: fmt.Sprint(i), Rate: config.Rate{Off: true}},
			Check{Scope: "session", Key: "x"}); refused != "" {
			t.Fatalf("unlimited check refused by %s", refused)
		}
	}
	if l.Len() != 0 {
		t.Errorf("%d buckets kept for unlimited checks", l.Len())
	}
}

func TestKeysBounded(t *testing.T) {
	l, c := newTest(100)
	for i := range 100 {
		if refused, _ := l.Allow(Check{Scope: "ip", Key: fmt.Sprint(i), Rate: perMin3}); refused != "" {
			t.Fatalf("key %d refused by %s", i, refused)
		}
	}
	refused, _ := l.Allow(Check{Scope: "ip", Key: "new", Rate: perMin3})
	if refused != ScopeCapacity {
		t.Fatalf("a new key beyond MaxKeys: refused %q, want %q", refused, ScopeCapacity)
	}
	if refused, _ := l.Allow(Check{Scope: "ip", Key: "7", Rate: perMin3}); refused != "" {
		t.Fatalf("a known key refused by %s at capacity", refused)
	}
	// Once the buckets have refilled they are forgotten and room is made.
	c.advance(time.Minute)
	if refused, _ := l.Allow(Check{Scope: "ip", Key: "new", Rate: perMin3}); refused != "" {
		t.Fatalf("a new key after the old ones refilled: refused by %s", refused)
	}
	if l.Len() != 1 {
		t.Errorf("%d buckets after the sweep, want 1", l.Len())
	}
}

func TestRateChangeApplies(t *testing.T) {
	l, _ := newTest(0)
	for range 3 {
		l.Allow(Check{Scope: "session", Key: "s", Rate: perMin3})
	}
	if refused, _ := l.Allow(Check{Scope: "session", Key: "s", Rate: config.Rate{Count: 1, Per: time.Second}}); refused == "" {
		t.Fatal("an empty bucket allowed at once after a rate change")
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(Options{})
	checks := []Check{
		{Scope: "session", Key: "s", Rate: config.Rate{Count: 1 << 30, Per: time.Second}},
		{Scope: "ip", Key: "192.0.2.1", Rate: config.Rate{Count: 1 << 30, Per: time.Second}},
	}
	for b.Loop() {
		l.Allow(checks...)
	}
}
