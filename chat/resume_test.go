package chat

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
)

func TestDetachBuffersAndResumeDeliversInOrder(t *testing.T) {
	h := start(t, config.Chat{ResumeGrace: time.Minute})
	c, s1 := h.open(t, "Ann", agentURI)
	defer c.Close()
	if len(c.Token()) < 22 {
		t.Fatalf("token %q is shorter than 128 bits", c.Token())
	}
	c.Detach()
	to := "sip:frontdesk@pbx.test"
	for i := range 3 {
		if code := h.m.Message(reply(agentURI, to, fmt.Sprintf("while away %d", i))); code != 202 {
			t.Fatalf("buffered reply answered %d, want 202", code)
		}
	}
	if err := c.Send("x", "typed while away"); err != nil { // the widget may still hold the object
		t.Fatal(err)
	}
	h.snd.next(t)
	eventually(t, "the delivery result buffered", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.buf) == 4
	})
	s1.none(t)
	if _, err := h.m.Resume("not-a-token", newSink()); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("wrong token: %v", err)
	}

	s2 := newSink()
	got, err := h.m.Resume(c.Token(), s2)
	if err != nil || got != c {
		t.Fatalf("Resume = %p, %v", got, err)
	}
	if code := h.m.Message(reply(agentURI, to, "after resume")); code != 200 {
		t.Fatalf("reply after resume answered %d", code)
	}
	want := []string{"while away 0", "while away 1", "while away 2"}
	for _, w := range want {
		if ev := s2.next(t); ev.Kind != EventMessage || ev.Text != w {
			t.Fatalf("event %+v, want message %q", ev, w)
		}
	}
	if ev := s2.next(t); ev.Kind != EventDelivery || ev.State != DeliveryDelivered {
		t.Fatalf("event %+v, want the buffered delivery result", ev)
	}
	if ev := s2.next(t); ev.Kind != EventMessage || ev.Text != "after resume" {
		t.Fatalf("event %+v, want the new message last", ev)
	}
	s1.none(t)
}

func TestBufferLimit(t *testing.T) {
	h := start(t, config.Chat{})
	c, _ := h.open(t, "Ann", agentURI)
	defer c.Close()
	c.Detach()
	for i := range bufferLimit {
		if code := h.m.Message(reply(agentURI, "sip:frontdesk@pbx.test", fmt.Sprint(i))); code != 202 {
			t.Fatalf("reply %d answered %d", i, code)
		}
	}
	if code := h.m.Message(reply(agentURI, "sip:frontdesk@pbx.test", "one too many")); code != 480 {
		t.Errorf("reply beyond the buffer answered %d, want 480", code)
	}
	s := newSink()
	if _, err := h.m.Resume(c.Token(), s); err != nil {
		t.Fatal(err)
	}
	for i := range bufferLimit {
		if ev := s.next(t); ev.Text != fmt.Sprint(i) {
			t.Fatalf("buffered #%d = %+v", i, ev)
		}
	}
	s.none(t)
}

func TestGraceExpiry(t *testing.T) {
	h := start(t, config.Chat{ResumeGrace: time.Minute})
	c, s := h.open(t, "Ann", agentURI)
	c.Typing(true)
	wantTyping(t, h.snd.next(t), ComposingActive)
	c.Detach()
	wantTyping(t, h.snd.next(t), ComposingIdle) // a visitor who left is not typing
	h.clk.advance(59 * time.Second)
	time.Sleep(20 * time.Millisecond) // several sweeps
	h.snd.none(t)
	h.clk.advance(time.Second)
	final := h.snd.next(t)
	if string(final.Body) != "[The visitor left the chat.]" || final.To != agentURI || final.DisplayName != "Ann" {
		t.Errorf("final message %+v %q", final, final.Body)
	}
	if _, err := h.m.Resume(c.Token(), newSink()); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("Resume after grace: %v", err)
	}
	if code := h.m.Message(reply(agentURI, "sip:frontdesk@pbx.test", "still there?")); code != 404 {
		t.Errorf("reply after grace answered %d, want 404", code)
	}
	if err := c.Send("x", "too late"); !errors.Is(err, ErrEnded) {
		t.Errorf("Send after grace: %v", err)
	}
	next, _ := h.open(t, "Bob", agentURI) // the agent is free again
	next.Close()
	h.snd.next(t)
	s.none(t) // detached: nothing went to the old sink
}

func TestShutdownEndsChats(t *testing.T) {
	h := start(t, config.Chat{ReplyRouting: "subaddress", MaxPerAgent: 2})
	_, s1 := h.open(t, "Ann", agentURI)
	_, s2 := h.open(t, "Bob", "sip:102@pbx.test")
	h.stop()
	seen := map[string]string{}
	for range 2 {
		m := h.snd.next(t)
		seen[m.To] = string(m.Body)
	}
	for _, to := range []string{agentURI, "sip:102@pbx.test"} {
		if seen[to] != "[The visitor left the chat: the gateway is shutting down.]" {
			t.Errorf("agent %s was told %q", to, seen[to])
		}
	}
	for _, s := range []*sink{s1, s2} {
		if ev := s.next(t); ev.Kind != EventEnded || ev.Reason != ReasonShutdown {
			t.Errorf("event %+v, want ended/shutdown", ev)
		}
	}
	if _, err := h.m.Open(Visitor{AgentURI: agentURI}, newSink()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Open after shutdown: %v", err)
	}
}
