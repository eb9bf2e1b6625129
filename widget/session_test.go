package widget

import (
	"runtime"
	"strings"
	"testing"

	"github.com/frontdesk-gw/frontdesk/presence"
)

// TestIdleSessionHoldsOneGoroutine: a started, idle session costs one
// goroutine (its reader); a presence change still reaches every session,
// and the goroutines that handled it end.
func TestIdleSessionHoldsOneGoroutine(t *testing.T) {
	const sessions = 20
	f := newFixture(t, strings.Replace(testYAML, "max_sessions_per_ip: 3", "max_sessions_per_ip: 50", 1))
	before := runtime.NumGoroutine()
	clients := make([]*client, sessions)
	for i := range clients {
		clients[i] = f.dial(testOrigin)
		clients[i].start()
	}
	extra := func() int { return runtime.NumGoroutine() - before }
	waitFor(t, "idle sessions to hold one goroutine each", func() bool { return extra() <= sessions })

	f.avail.set("atlantis", presence.Busy)
	f.hub.Changed()
	for _, c := range clients {
		if m := c.expect("Info"); m["presence"] != "busy" {
			t.Fatalf("Info after the change: %v", m)
		}
	}
	waitFor(t, "the sessions to be idle again", func() bool { return extra() <= sessions })
	if n := extra(); n < sessions {
		t.Errorf("%d goroutines for %d sessions: some session lost its reader", n, sessions)
	}
}
