package widget

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/presence"
)

var waitYAML = strings.Replace(testYAML, "max_sessions_per_ip: 3", "max_sessions_per_ip: 6", 1) +
	`    queue: {max_wait: 5m, max_waiting: 2, confirm_after: 1m, hold: 30s}
calls:
  max_calls_per_agent: 1
`

// waitFixture is a fixture with calls that are recorded (and fail), on
// a fake clock, atlantis busy.
func waitFixture(t *testing.T) (*fixture, *fakeClock, *recordingCalls) {
	t.Helper()
	clock := newFakeClock(time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC))
	calls := &recordingCalls{err: errors.New("no PBX here")}
	f := newFixtureWith(t, waitYAML, func(o *Options) {
		o.Now, o.After, o.Calls = clock.Now, clock.After, calls
	})
	f.avail.set("atlantis", presence.Busy)
	return f, clock, calls
}

// next reads messages until one of type mt, skipping Info and Session
// updates.
func (c *client) next(mt string) map[string]any {
	c.t.Helper()
	for {
		m := c.recv()
		if m["mt"] == mt {
			return m
		}
		if m["mt"] != "Info" && m["mt"] != "Session" {
			c.t.Fatalf("got %v while waiting for %s", m, mt)
		}
	}
}

// awaitPresence reads until an Info shows agent with presence p (what
// came between, while views settled, does not count).
func (c *client) awaitPresence(agent, p string) {
	c.t.Helper()
	for {
		if m := c.next("Info"); m["id"] == agent && m["presence"] == p {
			return
		}
	}
}

// TestWaitInLine walks a line for one agent: positions, the turn of the
// first when the agent is free (the agent held for them, shown busy,
// nobody else reaching them), the call that ends the wait, the next
// visitor's turn asked to confirm after a long wait, a turn not taken, a
// wait that times out, the bounds, and leaving.
func TestWaitInLine(t *testing.T) {
	f, clock, calls := waitFixture(t)
	ann, bob, cid := f.dial(testOrigin), f.dial(testOrigin), f.dial(testOrigin)
	session, _ := ann.start()
	if q, _ := session["queue"].(map[string]any); q == nil || q["maxWait"] != 300.0 {
		t.Errorf("Session queue %v, want maxWait 300", session["queue"])
	}
	bob.start()
	cid.start()

	ann.send(`{"mt":"Wait","dest":"atlantis","medium":"voice"}`)
	if m := ann.next("WaitInfo"); m["dest"] != "atlantis" || m["position"] != 1.0 {
		t.Fatalf("ann: %v, want position 1", m)
	}
	ann.send(`{"mt":"Wait","dest":"atlantis","medium":"voice"}`)
	if m := ann.next("Error"); m["code"] != string(CodeAlreadyWaiting) {
		t.Errorf("a second Wait: %v", m)
	}
	bob.send(`{"mt":"Wait","dest":"atlantis","medium":"chat"}`)
	if m := bob.next("WaitInfo"); m["position"] != 2.0 {
		t.Fatalf("bob: %v, want position 2", m)
	}
	cid.send(`{"mt":"Wait","dest":"atlantis","medium":"voice"}`)
	if m := cid.next("Error"); m["code"] != string(CodeQueueFull) {
		t.Errorf("a third in a line of two: %v", m)
	}
	cid.send(`{"mt":"Wait","dest":"columbia","medium":"video"}`)
	if m := cid.next("Error"); m["code"] != string(CodeMediumNotAllowed) {
		t.Errorf("waiting for a medium the agent does not take: %v", m)
	}

	// Atlantis is free: ann's turn, at once (she waited less than a
	// minute). Everyone sees atlantis busy; only ann may call.
	f.avail.set("atlantis", presence.Available)
	f.hub.Changed()
	if m := ann.next("WaitEnded"); m["reason"] != waitReady || m["hold"] != 30.0 || m["confirm"] != nil {
		t.Fatalf("ann: %v, want ready, held 30 s, no confirmation", m)
	}
	// (cid saw atlantis busy before and sees no change; a new visitor
	// sees busy.)
	dan := f.dial(testOrigin)
	if _, infos := dan.start(); infos[0]["id"] != "atlantis" || infos[0]["presence"] != "busy" {
		t.Errorf("a new visitor sees %v while atlantis is held for ann, want busy", infos[0])
	}
	cid.send(`{"mt":"CreateCall","dest":"atlantis","dn":"Cid"}`)
	if m := cid.next("Error"); m["code"] != string(CodeAgentBusy) || m["text"] != "other visitors are waiting for this contact" {
		t.Errorf("cid calls a held agent: %v", m)
	}
	ann.send(`{"mt":"CreateCall","dest":"atlantis","dn":"Ann"}`)
	waitFor(t, "ann's call slot", func() bool { return f.srv.Calls() == 1 })
	// Her call rings atlantis: the PBX shows them busy.
	f.looked(func() { f.avail.set("atlantis", presence.Busy); f.hub.Changed() })
	ann.send(`{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0"}`)
	if m := ann.next("CallInfo"); m["state"] != "terminated" {
		t.Fatalf("ann's call: %v", m)
	}
	if got := calls.requests(); len(got) != 1 || got[0].Target != "sip:atlantis@example.com" {
		t.Fatalf("dialled %+v, want ann's call to atlantis", got)
	}
	// Ann's call took her out of the line: bob is first.
	if m := bob.next("WaitInfo"); m["position"] != 1.0 {
		t.Fatalf("bob after ann's call: %v, want position 1", m)
	}

	// Two minutes on, atlantis is free again (ann's call ended): bob has
	// waited long, so his widget asks him first.
	f.looked(func() { clock.set(clock.Now().Add(2 * time.Minute)) })
	f.avail.set("atlantis", presence.Available)
	f.hub.Changed()
	m := bob.next("WaitEnded")
	if m["reason"] != waitReady || m["confirm"] != true {
		t.Fatalf("bob: %v, want ready with confirm", m)
	}
	// He does not take his turn: after the hold it is gone, and atlantis
	// is free for anyone.
	clock.set(clock.Now().Add(31 * time.Second))
	if m := bob.next("WaitEnded"); m["reason"] != waitMissed {
		t.Fatalf("bob after the hold: %v, want missed", m)
	}
	cid.awaitPresence("atlantis", "online")

	// A wait that lasts max_wait ends with timeout.
	f.avail.set("atlantis", presence.Busy)
	f.hub.Changed()
	waitFor(t, "atlantis busy", func() bool {
		return f.srv.agentState(f.srv.Config().Widget(testWidget), &f.srv.Config().Widget(testWidget).Agents[0], clock.Now()).presence == presence.Busy
	})
	cid.send(`{"mt":"Wait","dest":"atlantis","medium":"voice"}`)
	cid.next("WaitInfo")
	clock.set(clock.Now().Add(5 * time.Minute))
	if m := cid.next("WaitEnded"); m["reason"] != waitTimeout {
		t.Fatalf("cid after max_wait: %v, want timeout", m)
	}

	// Leaving: WaitCancel, or the websocket closing.
	cid.send(`{"mt":"Wait","dest":"atlantis","medium":"voice"}`)
	cid.next("WaitInfo")
	bob.send(`{"mt":"Wait","dest":"atlantis","medium":"voice"}`)
	bob.next("WaitInfo")
	cid.send(`{"mt":"WaitCancel"}`)
	if m := cid.next("WaitEnded"); m["reason"] != waitCancelled {
		t.Fatalf("WaitCancel: %v", m)
	}
	if m := bob.next("WaitInfo"); m["position"] != 1.0 {
		t.Fatalf("bob after cid left: %v", m)
	}
	bob.conn.Close()
	waitFor(t, "the line empty", func() bool { return f.srv.Waiting() == 0 })
}

// looked runs change, then waits until the lines were looked at after it.
func (f *fixture) looked(change func()) {
	f.t.Helper()
	before := f.srv.lines.looks.Load()
	change()
	waitFor(f.t, "the lines looked at", func() bool { return f.srv.lines.looks.Load() > before })
}

// TestWaitAgentGone: a wait for an agent who is away is refused; an agent
// who goes away ends the line after a grace period, not at once.
func TestWaitAgentGone(t *testing.T) {
	f, clock, _ := waitFixture(t)
	ann := f.dial(testOrigin)
	ann.start()
	f.avail.set("atlantis", presence.Offline)
	ann.send(`{"mt":"Wait","dest":"atlantis","medium":"voice"}`)
	if m := ann.next("Error"); m["code"] != string(CodeAgentUnavailable) {
		t.Fatalf("waiting for an agent who is away: %v", m)
	}
	f.avail.set("atlantis", presence.Busy)
	ann.send(`{"mt":"Wait","dest":"atlantis","medium":"voice"}`)
	ann.next("WaitInfo")
	changed := func(p presence.Availability) func() {
		return func() { f.avail.set("atlantis", p); f.hub.Changed() }
	}
	f.looked(changed(presence.Offline))
	f.looked(func() { clock.set(clock.Now().Add(10 * time.Second)) })
	f.looked(changed(presence.Busy)) // back before the grace ends: still waiting
	f.looked(func() { clock.set(clock.Now().Add(15 * time.Second)) })
	f.looked(changed(presence.Offline))
	if n := f.srv.Waiting(); n != 1 {
		t.Fatalf("%d waiting after a short absence, want 1", n)
	}
	clock.set(clock.Now().Add(waitOfflineGrace))
	if m := ann.next("WaitEnded"); m["reason"] != waitUnavailable {
		t.Fatalf("after the agent was away for the grace: %v, want unavailable", m)
	}

	// No queue: no waiting.
	g := newFixture(t, testYAML)
	v := g.dial(testOrigin)
	v.start()
	v.send(`{"mt":"Wait","dest":"atlantis","medium":"voice"}`)
	if m := v.next("Error"); m["code"] != string(CodeNoQueue) {
		t.Errorf("Wait without a queue: %v", m)
	}
}
