package widget

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/bridge"
)

// fakeConn is a placed call without a PBX: the test answers it and ends it
// through its observer, as the bridge would.
type fakeConn struct {
	obs          bridge.Observer
	reattachable bool

	mu       sync.Mutex
	hangups  []bridge.Reason
	detached int
	offers   []string // Reattach offers
	done     chan struct{}
	once     sync.Once
}

func (c *fakeConn) Hangup(r bridge.Reason) {
	c.mu.Lock()
	c.hangups = append(c.hangups, r)
	c.mu.Unlock()
	c.end(r)
}

// end reports Ended once and closes Done, as bridge.Connection does.
func (c *fakeConn) end(r bridge.Reason) {
	c.once.Do(func() {
		c.obs.Ended(r)
		close(c.done)
	})
}

func (c *fakeConn) QueueDTMF(byte) error  { return nil }
func (c *fakeConn) Done() <-chan struct{} { return c.done }
func (c *fakeConn) Reattachable() bool    { return c.reattachable }

func (c *fakeConn) Detach() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.detached++
	return nil
}

func (c *fakeConn) Reattach(offer string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offers = append(c.offers, offer)
	return "v=0 answer to " + offer, nil
}

func (c *fakeConn) state() (hangups []bridge.Reason, detached int, offers []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bridge.Reason(nil), c.hangups...), c.detached, append([]string(nil), c.offers...)
}

// reattachFixture is a gateway whose calls are fakeConns (on the pion
// stack unless lite), with grace as calls.reattach_grace and a second
// allowed origin.
func reattachFixture(t *testing.T, grace string, lite bool) (*fixture, chan *fakeConn) {
	t.Helper()
	yml := strings.Replace(callYAML, `allowed_origins: ["https://www.example.com"]`, `allowed_origins: ["https://www.example.com", "https://shop.example.com"]`, 1) +
		"  reattach_grace: " + grace + "\n"
	f := newCallFixture(t, &recordingCalls{})
	f.srv.SetConfig(parseConfig(t, yml))
	placed := make(chan *fakeConn, 4)
	f.srv.dial = func(_ context.Context, _ bridge.DialRequest, obs bridge.Observer) (callConn, error) {
		c := &fakeConn{obs: obs, reattachable: !lite, done: make(chan struct{})}
		placed <- c
		return c, nil
	}
	return f, placed
}

// placedCall places a call to voiceonly on c and returns it, unanswered.
func placedCall(t *testing.T, c *client, placed chan *fakeConn) *fakeConn {
	t.Helper()
	c.send(`{"mt":"CreateCall","dest":"voiceonly","dn":"Vera"}`)
	c.send(`{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0 first page"}`)
	select {
	case conn := <-placed:
		return conn
	case <-time.After(5 * time.Second):
		t.Fatal("no call placed")
		return nil
	}
}

// answeredCall places a call on c and answers it; it returns the call and
// the resume token of the connected CallInfo.
func answeredCall(t *testing.T, c *client, placed chan *fakeConn) (*fakeConn, string) {
	t.Helper()
	conn := placedCall(t, c, placed)
	conn.obs.State(bridge.StateConnected, "v=0 first answer")
	m := c.next("CallInfo")
	if m["state"] != "connected" || m["sdp"] != "v=0 first answer" {
		t.Fatalf("got %v, want connected with the answer", m)
	}
	token, _ := m["resume"].(string)
	return conn, token
}

// parkedSoon waits until the gateway holds n parked calls.
func parkedSoon(t *testing.T, f *fixture, n int) {
	t.Helper()
	for i := 0; i < 500 && f.srv.ParkedCalls() != n; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := f.srv.ParkedCalls(); got != n {
		t.Fatalf("%d parked calls, want %d", got, n)
	}
}

func resumeMsg(token, sdp string) string {
	b, _ := json.Marshal(map[string]string{"mt": "CallResume", "token": token, "sdp": sdp})
	return string(b)
}

// TestLostWebsocketParksAndResumeContinues: a call whose websocket is lost
// is not hung up but parked; the next page of the same widget and origin
// takes it back with the token, gets the answer to its new offer and a new
// token, and from then on hears the call's events (the agent's hang-up).
func TestLostWebsocketParksAndResumeContinues(t *testing.T) {
	f, placed := reattachFixture(t, "1m", false)
	c := f.dial(testOrigin)
	c.start()
	conn, token := answeredCall(t, c, placed)
	if len(token) != 32 {
		t.Fatalf("resume token %q, want 32 characters", token)
	}
	c.conn.Close() // the page goes away
	parkedSoon(t, f, 1)
	if hangups, detached, _ := conn.state(); len(hangups) != 0 || detached != 1 {
		t.Fatalf("after the lost websocket: hangups %v, detached %d; want none and 1", hangups, detached)
	}

	next := f.dial(testOrigin)
	next.start()
	next.send(resumeMsg(token, "v=0 next page"))
	m := next.next("CallInfo")
	if m["state"] != "connected" || m["sdp"] != "v=0 answer to v=0 next page" {
		t.Fatalf("CallResume answered %v, want connected with the new leg's answer", m)
	}
	fresh, _ := m["resume"].(string)
	if len(fresh) != 32 || fresh == token {
		t.Errorf("new resume token %q (old %q): want a fresh one", fresh, token)
	}
	if f.srv.ParkedCalls() != 0 || f.srv.ReattachedCalls() != 1 {
		t.Errorf("parked %d, re-attached %d; want 0 and 1", f.srv.ParkedCalls(), f.srv.ReattachedCalls())
	}
	// The call follows the new page: a state change and the agent's
	// hang-up reach it.
	conn.obs.State(bridge.StateHeld, "")
	if m := next.next("CallInfo"); m["state"] != "held" {
		t.Fatalf("got %v, want held", m)
	}
	conn.end(bridge.ReasonByAgent)
	if m := next.next("CallInfo"); m["state"] != "terminated" || m["reason"] != "ended-by-agent" {
		t.Fatalf("got %v, want terminated ended-by-agent", m)
	}
	if hangups, _, _ := conn.state(); len(hangups) != 0 {
		t.Errorf("the gateway hung up %v; the agent did", hangups)
	}
}

// TestResumeTokenIsSingleUseAndBound: a used token, a token from another
// origin, or an invented one all get "lost", and none ends or moves the
// call.
func TestResumeTokenIsSingleUseAndBound(t *testing.T) {
	f, placed := reattachFixture(t, "1m", false)
	c := f.dial(testOrigin)
	c.start()
	conn, token := answeredCall(t, c, placed)
	c.conn.Close()
	parkedSoon(t, f, 1)

	lost := func(cl *client, msg, why string) {
		t.Helper()
		cl.send(msg)
		if m := cl.next("CallInfo"); m["state"] != "terminated" || m["reason"] != "lost" {
			t.Fatalf("%s: got %v, want terminated lost", why, m)
		}
	}
	other := f.dial("https://shop.example.com")
	other.start()
	lost(other, resumeMsg(token, "v=0 other origin"), "another origin")
	lost(other, resumeMsg(newResumeToken(), "v=0 invented"), "an invented token")
	parkedSoon(t, f, 1) // still waiting for its own page

	next := f.dial(testOrigin)
	next.start()
	next.send(resumeMsg(token, "v=0 next page"))
	if m := next.next("CallInfo"); m["state"] != "connected" {
		t.Fatalf("the right page: got %v, want connected", m)
	}
	third := f.dial(testOrigin)
	third.start()
	lost(third, resumeMsg(token, "v=0 again"), "a used token")
	if hangups, _, offers := conn.state(); len(hangups) != 0 || len(offers) != 1 {
		t.Errorf("hangups %v, re-attach offers %q; want none and one", hangups, offers)
	}
}

// TestParkedCallEndsAfterGraceAndAtShutdown: a call whose page does not
// come back is hung up when the grace runs out; one parked when the
// gateway closes is hung up then.
func TestParkedCallEndsAfterGraceAndAtShutdown(t *testing.T) {
	t.Run("grace", func(t *testing.T) {
		f, placed := reattachFixture(t, "200ms", false)
		c := f.dial(testOrigin)
		c.start()
		conn, _ := answeredCall(t, c, placed)
		c.conn.Close()
		select {
		case <-conn.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the parked call was not hung up after the grace")
		}
		if hangups, _, _ := conn.state(); len(hangups) != 1 || hangups[0] != bridge.ReasonByVisitor {
			t.Errorf("hangups %v, want [ended-by-visitor]", hangups)
		}
		if f.srv.ExpiredParkedCalls() != 1 || f.srv.ParkedCalls() != 0 {
			t.Errorf("expired %d parked %d, want 1 and 0", f.srv.ExpiredParkedCalls(), f.srv.ParkedCalls())
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		f, placed := reattachFixture(t, "5m", false)
		c := f.dial(testOrigin)
		c.start()
		conn, _ := answeredCall(t, c, placed)
		c.conn.Close()
		parkedSoon(t, f, 1)
		f.srv.Close()
		if hangups, _, _ := conn.state(); len(hangups) != 1 || hangups[0] != bridge.ReasonShuttingDown {
			t.Errorf("hangups %v, want [shutting-down]", hangups)
		}
		if f.srv.ParkedCalls() != 0 {
			t.Errorf("%d calls still parked", f.srv.ParkedCalls())
		}
	})
}

// TestCallsThatAreNotParked: without a token to give (lite stack,
// re-attaching off) a lost websocket hangs up as before; a gateway that
// shuts down hangs up a running call rather than parking it.
func TestCallsThatAreNotParked(t *testing.T) {
	for _, tt := range []struct {
		name  string
		grace string
		lite  bool
	}{{name: "lite stack", grace: "1m", lite: true}, {name: "grace off", grace: "0s"}} {
		t.Run(tt.name, func(t *testing.T) {
			f, placed := reattachFixture(t, tt.grace, tt.lite)
			c := f.dial(testOrigin)
			c.start()
			conn, token := answeredCall(t, c, placed)
			if token != "" {
				t.Errorf("resume token %q for a call that cannot be resumed", token)
			}
			c.conn.Close()
			select {
			case <-conn.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the call was not hung up with its websocket")
			}
			if _, detached, _ := conn.state(); detached != 0 || f.srv.ParkedCalls() != 0 {
				t.Errorf("detached %d, parked %d; want 0", detached, f.srv.ParkedCalls())
			}
		})
	}
	t.Run("shutdown", func(t *testing.T) {
		f, placed := reattachFixture(t, "1m", false)
		c := f.dial(testOrigin)
		c.start()
		conn, _ := answeredCall(t, c, placed)
		f.srv.Close()
		if hangups, detached, _ := conn.state(); len(hangups) != 1 || hangups[0] != bridge.ReasonShuttingDown || detached != 0 {
			t.Errorf("hangups %v detached %d, want [shutting-down] and 0", hangups, detached)
		}
	})
}
