package widget

import (
	"testing"
	"time"
)

func TestParkedCallTokenIsBoundAndSingleUse(t *testing.T) {
	var p parkedCalls
	cs := &callState{name: "Mein Name"}
	token := newResumeToken()
	if len(token) != 32 {
		t.Fatalf("token %q: want 32 characters (192 bits)", token)
	}
	if newResumeToken() == token {
		t.Fatal("two tokens are equal")
	}
	expired := make(chan *callState, 1)
	if !p.park(token, "w1", "https://shop.example", cs, time.Hour, func(c *callState) { expired <- c }) {
		t.Fatal("park refused")
	}
	if p.park(token, "w1", "https://shop.example", cs, time.Hour, func(*callState) {}) {
		t.Error("the same token was parked twice")
	}
	if got := p.take(newResumeToken(), "w1", "https://shop.example"); got != nil {
		t.Error("a wrong token took the call")
	}
	if got := p.take(token, "w2", "https://shop.example"); got != nil {
		t.Error("another widget took the call")
	}
	if got := p.take(token, "w1", "https://evil.example"); got != nil {
		t.Error("another origin took the call")
	}
	if got := p.take(token, "w1", "https://shop.example"); got != cs {
		t.Fatalf("the right token and binding took %v, want the call", got)
	}
	if got := p.take(token, "w1", "https://shop.example"); got != nil {
		t.Error("a second CallResume with the same token took the call again")
	}
	if n := p.reattached.Load(); n != 1 {
		t.Errorf("reattached = %d, want 1", n)
	}
	select {
	case <-expired:
		t.Error("a call taken back expired")
	case <-time.After(20 * time.Millisecond):
	}
}

func TestParkedCallExpires(t *testing.T) {
	var p parkedCalls
	cs := &callState{}
	token := newResumeToken()
	expired := make(chan *callState, 1)
	p.park(token, "w1", "o", cs, 10*time.Millisecond, func(c *callState) { expired <- c })
	select {
	case got := <-expired:
		if got != cs {
			t.Fatalf("expired %v, want the parked call", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the grace period did not end the call")
	}
	if got := p.take(token, "w1", "o"); got != nil {
		t.Error("an expired call was taken back")
	}
	if p.expired.Load() != 1 || p.reattached.Load() != 0 || p.len() != 0 {
		t.Errorf("expired %d reattached %d parked %d, want 1 0 0", p.expired.Load(), p.reattached.Load(), p.len())
	}
}

func TestParkedCallDroppedWhenItEnds(t *testing.T) {
	var p parkedCalls
	cs := &callState{}
	token := newResumeToken()
	p.park(token, "w1", "o", cs, time.Hour, func(*callState) { t.Error("a dropped call expired") })
	p.drop(token, &callState{}) // another call: nothing happens
	if p.len() != 1 {
		t.Fatal("drop removed another call's entry")
	}
	p.drop(token, cs)
	if p.len() != 0 || p.take(token, "w1", "o") != nil {
		t.Error("a call that ended while parked can still be taken")
	}
	if p.expired.Load() != 0 || p.reattached.Load() != 0 {
		t.Error("a dropped call was counted")
	}
}
