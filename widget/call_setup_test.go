package widget

import (
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/bridge"
)

// TestCallSetupTimed: an answered call reports its setup once, split into
// the gateway's own part and the PBX's (INVITE to answer); a later
// connected state (a re-INVITE's) reports nothing more.
func TestCallSetupTimed(t *testing.T) {
	f, placed := reattachFixture(t, "1m", false)
	type setup struct{ own, answer time.Duration }
	got := make(chan setup, 4)
	f.srv.opts.CallSetup = func(own, answer time.Duration) { got <- setup{own, answer} }
	c := f.dial(testOrigin)
	c.start()
	conn := placedCall(t, c, placed)
	const ringing = 50 * time.Millisecond
	time.Sleep(ringing)
	conn.obs.State(bridge.StateConnected, "v=0 answer")
	if m := c.next("CallInfo"); m["state"] != "connected" {
		t.Fatalf("got %v, want connected", m)
	}
	var s setup
	select {
	case s = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("setup not reported")
	}
	if s.answer < ringing || s.own <= 0 || s.own >= s.answer {
		t.Errorf("setup own %v, answer %v: want the answer to hold the %v of ringing and own to be the small rest", s.own, s.answer, ringing)
	}
	conn.obs.State(bridge.StateConnected, "")
	c.next("CallInfo")
	select {
	case again := <-got:
		t.Errorf("setup reported again (%+v) for a second connected state", again)
	case <-time.After(200 * time.Millisecond):
	}
}
