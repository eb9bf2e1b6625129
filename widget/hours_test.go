package widget

import (
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/presence"
)

// fakeClock is a settable Now with the timers that go with it: a timer
// fires only when advance moves the time to or past its deadline.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeTimer
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock(now time.Time) *fakeClock { return &fakeClock{now: now} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := fakeTimer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- c.now
		return t.c
	}
	c.waiters = append(c.waiters, t)
	return t.c
}

// deadlines lists the deadlines of the timers not fired yet.
func (c *fakeClock) deadlines() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Time, len(c.waiters))
	for i, w := range c.waiters {
		out[i] = w.at
	}
	return out
}

// set moves the time to t and fires the timers due.
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			kept = append(kept, w)
			continue
		}
		w.c <- t
	}
	c.waiters = kept
}

const hoursYAML = testYAML + `    hours:
      time_zone: Europe/Berlin
      weekly: {mon-fri: "09:00-17:00"}
`

// TestHoursBoundaries runs opening hours on a fake clock over the spring
// clock change: closed on Saturday (Info and Session say when it opens,
// in UTC, after the change), one timer per boundary or hour (never a
// poll), open on Monday at 09:00 local time, closed again at 17:00.
func TestHoursBoundaries(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock(time.Date(2025, 3, 29, 8, 0, 0, 0, berlin)) // Saturday; DST starts Sunday
	f := newFixtureWith(t, hoursYAML, func(o *Options) { o.Now, o.After = clock.Now, clock.After })
	f.avail.set("columbia", presence.Available) // the fake knows no modes
	calls := &recordingCalls{}
	f.srv.opts.Calls = calls
	c := f.dial(testOrigin)
	session, infos := c.start()
	const monday = "2025-03-31T07:00:00Z" // 09:00 CEST
	if session["closed"] != true || session["opens"] != monday {
		t.Errorf("Session closed %v opens %v; want closed, opening %s", session["closed"], session["opens"], monday)
	}
	for _, in := range infos {
		if in["presence"] != "offline" || in["closed"] != true || in["opens"] != monday {
			t.Errorf("Info %v: want offline, closed, opens %s", in, monday)
		}
	}
	// Closed means not reachable: nothing is dialled.
	c.send(`{"mt":"CreateCall","dest":"atlantis","dn":"x"}`)
	if m := c.expect("Error"); m["code"] != string(CodeAgentUnavailable) {
		t.Errorf("a call while closed: %v, want agent-unavailable", m)
	}
	if n := len(calls.requests()); n != 0 {
		t.Errorf("%d calls dialled while closed", n)
	}

	// The timer waits an hour at most, and exactly up to the boundary at the end.
	boundary := time.Date(2025, 3, 31, 9, 0, 0, 0, berlin)
	for wakeups := 0; ; wakeups++ {
		var due []time.Time
		waitFor(t, "the hours timer", func() bool { due = clock.deadlines(); return len(due) == 1 })
		now := clock.Now()
		want := min(boundary.Sub(now), time.Hour)
		if got := due[0].Sub(now); got != want {
			t.Fatalf("at %s the timer waits %v, want %v", now, got, want)
		}
		if wakeups > 60 {
			t.Fatal("more wake-ups than hours until Monday")
		}
		clock.set(due[0])
		if due[0].Equal(boundary) {
			break
		}
	}
	online, reopened := map[string]bool{}, false
	for len(online) < 2 || !reopened {
		switch m := c.recv(); m["mt"] {
		case "Info":
			if m["presence"] == "online" && m["closed"] == nil && m["opens"] == nil {
				online[m["id"].(string)] = true
			}
		case "Session":
			reopened = m["closed"] == nil && m["opens"] == nil
		default:
			t.Fatalf("unexpected %v", m)
		}
	}

	// 17:00: closed until Tuesday 09:00.
	var due []time.Time
	waitFor(t, "the hours timer", func() bool { due = clock.deadlines(); return len(due) == 1 })
	clock.set(time.Date(2025, 3, 31, 17, 0, 0, 0, berlin))
	closed := 0
	for closed < 3 {
		m := c.recv()
		if m["closed"] == true && m["opens"] == "2025-04-01T07:00:00Z" {
			closed++ // the Session and both Infos
		}
	}
}
