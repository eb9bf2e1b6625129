package widget

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/bridge"
	"github.com/frontdesk-gw/frontdesk/presence"
)

// recordingCalls records what would have been dialled and fails the call.
type recordingCalls struct {
	mu  sync.Mutex
	got []bridge.DialRequest
	err error
}

func (r *recordingCalls) Connect(_ context.Context, req bridge.DialRequest, _ bridge.Observer) (*bridge.Connection, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, req)
	return nil, r.err
}

func (r *recordingCalls) requests() []bridge.DialRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bridge.DialRequest(nil), r.got...)
}

const callYAML = testYAML + `
      - id: voiceonly
        sip: voiceonly
        mode: always
        media: [voice]
      - id: chatonly
        sip: chatonly
        mode: always
        media: [chat]
calls:
  max_calls_per_agent: 1
`

func newCallFixture(t *testing.T, calls *recordingCalls) *fixture {
	t.Helper()
	f := newFixture(t, callYAML)
	f.srv.opts.Calls = calls
	f.avail.set("voiceonly", presence.Available)
	f.avail.set("chatonly", presence.Available)
	return f
}

// TestCallRefusalsNeverReachSIP: a visitor can only call agents of its own
// widget that take the medium and are available now; nothing it sends
// becomes a destination.
func TestCallRefusalsNeverReachSIP(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		code ErrorCode
	}{
		{name: "a SIP URI as dest", msg: `{"mt":"CreateCall","dest":"sip:premium@example.net","dn":"x"}`, code: CodeUnknownAgent},
		{name: "a phone number as dest", msg: `{"mt":"CreateCall","dest":"+19005550100","dn":"x"}`, code: CodeUnknownAgent},
		{name: "agent of no widget", msg: `{"mt":"CreateCall","dest":"nobody","dn":"x"}`, code: CodeUnknownAgent},
		{name: "chat-only agent", msg: `{"mt":"CreateCall","dest":"chatonly","dn":"x"}`, code: CodeMediumNotAllowed},
		{name: "video to a voice-only agent", msg: `{"mt":"CreateCall","dest":"voiceonly","dn":"x","video":true}`, code: CodeMediumNotAllowed},
		{name: "unavailable agent", msg: `{"mt":"CreateCall","dest":"columbia","dn":"x"}`, code: CodeAgentUnavailable},
		{name: "channels without a call", msg: `{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0"}`, code: CodeNoCall},
		{name: "hang up without a call", msg: `{"mt":"ClearCall"}`, code: CodeNoCall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := &recordingCalls{}
			f := newCallFixture(t, calls)
			c := f.dial(testOrigin)
			c.start()
			c.send(tt.msg)
			if m := c.expect("Error"); m["code"] != string(tt.code) {
				t.Fatalf("got %v, want %s", m, tt.code)
			}
			c.send(`{"mt":"Ping"}`) // not fatal
			c.expect("Pong")
			if got := calls.requests(); len(got) != 0 {
				t.Fatalf("dialled %v", got)
			}
		})
	}
}

// TestCallResumeSaysLost: a widget that had a call on a connection that
// is gone is told the call was lost, and nothing is dialled.
func TestCallResumeSaysLost(t *testing.T) {
	calls := &recordingCalls{}
	f := newCallFixture(t, calls)
	c := f.dial(testOrigin)
	c.start()
	c.send(`{"mt":"CallResume"}`)
	if m := c.expect("CallInfo"); m["state"] != "terminated" || m["reason"] != "lost" {
		t.Fatalf("got %v, want terminated with reason lost", m)
	}
	if got := calls.requests(); len(got) != 0 {
		t.Fatalf("dialled %v", got)
	}
}

func TestCallDialsTheConfiguredAddressWithTheVisitorsName(t *testing.T) {
	calls := &recordingCalls{err: errors.New("PBX unreachable")}
	f := newCallFixture(t, calls)
	c := f.dial(testOrigin)
	c.start()
	c.send(`{"mt":"CreateCall","dest":"voiceonly","dn":"  Vera  "}`)
	c.send(`{"mt":"CreateCall","dest":"voiceonly","dn":"again"}`)
	if m := c.expect("Error"); m["code"] != string(CodeCallInProgress) {
		t.Fatalf("second CreateCall: %v", m)
	}
	c.send(`{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0\r\n"}`)
	m := c.expect("CallInfo")
	if m["state"] != "terminated" || m["reason"] != "failed" {
		t.Errorf("got %v", m)
	}
	got := calls.requests()
	if len(got) != 1 || got[0].Target != "sip:voiceonly@example.com" || got[0].DisplayName != "Vera" {
		t.Fatalf("dialled %+v", got)
	}
	if f.srv.Calls() != 0 {
		t.Errorf("a failed call still holds a slot")
	}
}

func TestCallLimitPerAgent(t *testing.T) {
	calls := &recordingCalls{}
	f := newCallFixture(t, calls) // max_calls_per_agent: 1
	a := f.dial(testOrigin)
	a.start()
	a.send(`{"mt":"CreateCall","dest":"voiceonly","dn":"A"}`)
	b := f.dial(testOrigin)
	b.start()
	// A's CreateCall holds the slot once handled; wait for that.
	deadline := time.Now().Add(5 * time.Second)
	for f.srv.Calls() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("first call never took its slot")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if by := f.srv.CallsByAgent(); len(by) != 1 || by["sip:voiceonly@example.com"] != 1 {
		t.Errorf("CallsByAgent() = %v", by)
	}
	b.send(`{"mt":"CreateCall","dest":"voiceonly","dn":"B"}`)
	if m := b.expect("Error"); m["code"] != string(CodeTooManyCalls) {
		t.Fatalf("got %v", m)
	}
	// Hanging up before Channels frees the slot at once.
	a.send(`{"mt":"ClearCall"}`)
	if m := a.expect("CallInfo"); m["state"] != "terminated" || m["reason"] != "ended-by-visitor" {
		t.Fatalf("got %v", m)
	}
	b.send(`{"mt":"CreateCall","dest":"voiceonly","dn":"B"}`)
	b.send(`{"mt":"Ping"}`)
	if m := b.recv(); m["mt"] != "Pong" {
		t.Fatalf("second visitor still refused: %v", m)
	}
}

// TestCallBombingRefused: a session (and fresh sessions from the same
// address) cannot ring an agent's phone in a loop; the refusal says when to
// retry and nothing reaches SIP.
func TestCallBombingRefused(t *testing.T) {
	calls := &recordingCalls{err: errors.New("PBX unreachable")}
	f := newCallFixture(t, calls) // defaults: 3/min per session, 6/min per address
	cycle := func(c *client) map[string]any {
		t.Helper()
		c.send(`{"mt":"CreateCall","dest":"voiceonly","dn":"x"}`)
		c.send(`{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0\r\n"}`)
		m := c.recv()
		if m["mt"] == "Error" { // then Channels finds no call
			if n := c.expect("Error"); n["code"] != string(CodeNoCall) {
				t.Fatalf("Channels after a refusal: %v", n)
			}
		}
		return m
	}
	a := f.dial(testOrigin)
	a.start()
	for i := range 3 {
		if m := cycle(a); m["mt"] != "CallInfo" {
			t.Fatalf("call %d: %v", i+1, m)
		}
	}
	m := cycle(a)
	if m["code"] != string(CodeRetryLater) || m["retryAfter"].(float64) < 1 {
		t.Fatalf("4th call from one session: %v", m)
	}
	// Fresh sessions from the same address get three more between them.
	got := 0
	for range 3 {
		b := f.dial(testOrigin)
		b.start()
		for range 2 {
			if cycle(b)["mt"] == "CallInfo" {
				got++
			}
		}
		b.conn.Close() // max_sessions_per_ip: 3
		waitFor(t, "the session to end", func() bool { return f.srv.Sessions() < 3 })
	}
	if got != 3 {
		t.Errorf("fresh sessions from one address placed %d calls, want 3 (per_ip 6/min)", got)
	}
	if n := len(calls.requests()); n != 6 {
		t.Errorf("%d calls reached SIP, want 6", n)
	}
}
