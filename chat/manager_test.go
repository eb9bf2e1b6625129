package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

const agentURI = "sip:101@pbx.test"

func TestDeliveryResults(t *testing.T) {
	h := start(t, config.Chat{})
	for _, tc := range []struct {
		name   string
		code   int
		err    error
		state  DeliveryState
		reason FailReason
	}{
		{name: "ok", code: 200, state: DeliveryDelivered},
		{name: "accepted", code: 202, state: DeliveryDelivered},
		{name: "not found", code: 404, err: errors.New("404"), state: DeliveryFailed, reason: ReasonOffline},
		{name: "unavailable", code: 480, err: errors.New("480"), state: DeliveryFailed, reason: ReasonOffline},
		{name: "busy here", code: 486, err: errors.New("486"), state: DeliveryFailed, reason: ReasonRejected},
		{name: "decline", code: 603, err: errors.New("603"), state: DeliveryFailed, reason: ReasonRejected},
		{name: "no response", code: 408, err: sip.ErrNoResponse, state: DeliveryFailed, reason: ReasonTimeout},
		{name: "deadline", err: context.DeadlineExceeded, state: DeliveryFailed, reason: ReasonTimeout},
		{name: "transport", err: errors.New("no route"), state: DeliveryFailed, reason: ReasonError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := h.open(t, "Ann \"A\" Lee", agentURI)
			defer c.Close()
			h.snd.setAnswer(func(sip.OutgoingMessage) (int, error) { return tc.code, tc.err })
			if err := c.Send("c1", "Hello\r\nthere\x07"); err != nil {
				t.Fatal(err)
			}
			m := h.snd.next(t)
			if m.To != agentURI || m.FromUser != "" || m.DisplayName != "Ann \"A\" Lee" ||
				m.ContentType != "text/plain;charset=UTF-8" || string(m.Body) != "Hello\nthere" {
				t.Errorf("sent %+v body %q", m, m.Body)
			}
			ev := s.next(t)
			if ev.Kind != EventDelivery || ev.ClientID != "c1" || ev.ID == "" || ev.State != tc.state || ev.Reason != tc.reason {
				t.Errorf("event %+v, want %s/%s", ev, tc.state, tc.reason)
			}
			h.snd.setAnswer(nil)
			c.Close()
			if final := h.snd.next(t); string(final.Body) != "[The visitor ended the chat.]" {
				t.Errorf("final message %q", final.Body)
			}
			if ev := s.next(t); ev.Kind != EventEnded {
				t.Errorf("last event %+v, want ended", ev)
			}
			h.clk.advance(recentWindow) // the next chat with this agent has no hand-over
		})
	}
}

func TestAgentModeOneVisitorPerAgent(t *testing.T) {
	h := start(t, config.Chat{ReplyRouting: "agent"})
	if h.m.AgentBusy(agentURI) {
		t.Fatal("AgentBusy before any chat")
	}
	first, s1 := h.open(t, "Ann", agentURI)
	if !h.m.AgentBusy("sip:101@PBX.test:5060;transport=udp") || h.m.AgentBusy("sip:102@pbx.test") {
		t.Error("AgentBusy: want the agent in a chat busy (in any spelling), another not")
	}
	if _, err := h.m.Open(Visitor{Name: "Bob", AgentURI: "sip:101@PBX.test:5060;transport=udp"}, newSink()); !errors.Is(err, ErrAgentBusy) {
		t.Fatalf("second visitor: %v, want ErrAgentBusy", err)
	}
	other, _ := h.open(t, "Cid", "sip:102@pbx.test")
	defer other.Close()

	if code := h.m.Message(reply("sip:101@pbx.test", "sip:frontdesk@pbx.test", "Hi Ann")); code != 200 {
		t.Fatalf("reply answered %d", code)
	}
	if ev := s1.next(t); ev.Kind != EventMessage || ev.Text != "Hi Ann" {
		t.Errorf("event %+v", ev)
	}
	first.Close()
	if m := h.snd.next(t); !strings.HasPrefix(string(m.Body), "[The visitor ended the chat") {
		t.Fatalf("sent %q, want the end notice", m.Body)
	}
	if h.m.AgentBusy(agentURI) {
		t.Error("AgentBusy after the chat ended")
	}
	third, _ := h.open(t, "Bob", agentURI) // the slot is free again
	third.Close()
	h.snd.next(t) // its end notice
	if code := h.m.Message(reply("sip:101@pbx.test", "sip:frontdesk@pbx.test", "late")); code != 404 {
		t.Errorf("reply after the chat ended answered %d, want 404", code)
	}
	if ev := s1.next(t); ev.Kind != EventEnded {
		t.Errorf("event %+v, want ended", ev)
	}
	s1.none(t)
}

// Two visitors chat with the same agent at once; every reply must reach
// exactly the visitor it was addressed to.
func TestSubaddressRepliesReachTheRightVisitor(t *testing.T) {
	h := start(t, config.Chat{ReplyRouting: "subaddress", MaxPerAgent: 2})
	a, sa := h.open(t, "Ann", agentURI)
	if h.m.AgentBusy(agentURI) {
		t.Error("AgentBusy with one of two chats")
	}
	b, sb := h.open(t, "Bob", agentURI)
	if !h.m.AgentBusy(agentURI) {
		t.Error("AgentBusy false with both chats taken")
	}
	if _, err := h.m.Open(Visitor{Name: "Cid", AgentURI: agentURI}, newSink()); !errors.Is(err, ErrAgentBusy) {
		t.Fatalf("third visitor: %v, want ErrAgentBusy", err)
	}
	if err := a.Send("x", "from Ann"); err != nil {
		t.Fatal(err)
	}
	if m := h.snd.next(t); m.FromUser != "frontdesk+"+a.ID() {
		t.Fatalf("From user %q, want frontdesk+%s", m.FromUser, a.ID())
	}
	sa.next(t) // delivery

	const perChat = 150
	var wg sync.WaitGroup
	codes := make(chan int, 4*perChat)
	for _, c := range []*Attachment{a, b} {
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// The PBX kept the subaddress in To and rewrote the R-URI to
				// the gateway's contact (Kamailio lookup).
				for i := range perChat / 2 {
					in := reply("sip:101@pbx.test", "sip:frontdesk+"+c.ID()+"@pbx.test", fmt.Sprintf("%s/%d/%d", c.ID(), w, i))
					in.RequestURI = "sip:frontdesk@127.0.0.1"
					codes <- h.m.Message(in)
				}
			}()
		}
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 200 {
			t.Fatalf("reply answered %d", code)
		}
	}
	for _, tc := range []struct {
		c *Attachment
		s *sink
	}{{a, sa}, {b, sb}} {
		for range perChat {
			ev := tc.s.next(t)
			if ev.Kind != EventMessage || !strings.HasPrefix(ev.Text, tc.c.ID()+"/") {
				t.Fatalf("visitor of chat %s got %+v", tc.c.ID(), ev)
			}
		}
		tc.s.none(t)
	}
	a.Close()
	b.Close()
}

func TestRepliesRefused(t *testing.T) {
	h := start(t, config.Chat{ReplyRouting: "subaddress", MaxPerAgent: 2})
	a, sa := h.open(t, "Ann", agentURI)
	defer a.Close()
	for _, tc := range []struct {
		name string
		in   sip.IncomingMessage
		want int
	}{
		{name: "another agent on a live chat", in: reply("sip:102@pbx.test", "sip:frontdesk+"+a.ID()+"@pbx.test", "peek"), want: 403},
		{name: "agent's user at another domain", in: reply("sip:101@evil.test", "sip:frontdesk+"+a.ID()+"@pbx.test", "peek"), want: 403},
		{name: "unknown chat id", in: reply(agentURI, "sip:frontdesk+zzzzzzzzzz@pbx.test", "lost"), want: 404},
		{name: "no chat id in subaddress mode", in: reply(agentURI, "sip:frontdesk@pbx.test", "which one?"), want: 404},
		{name: "stranger without chat", in: reply("sip:999@pbx.test", "sip:frontdesk@pbx.test", "hello?"), want: 404},
		{name: "unsupported type", in: sip.IncomingMessage{From: agentURI, To: "sip:frontdesk+" + a.ID() + "@pbx.test", ContentType: "text/html"}, want: 415},
		{name: "bad isComposing", in: sip.IncomingMessage{From: agentURI, To: "sip:frontdesk+" + a.ID() + "@pbx.test", ContentType: sip.ContentTypeIsComposing, Body: []byte("<x/>")}, want: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.m.Message(tc.in); got != tc.want {
				t.Errorf("answered %d, want %d", got, tc.want)
			}
		})
	}
	sa.none(t)
}

func TestSendLimits(t *testing.T) {
	h := start(t, config.Chat{MaxMessageLength: 10, MessagesPerMinute: 3})
	c, s := h.open(t, "Ann", agentURI)
	defer c.Close()
	for _, tc := range []struct {
		text string
		want error
	}{
		{text: "ééééééééééé", want: ErrTooLong},
		{text: " \n\t ", want: ErrEmpty},
		{text: "\x00\x01", want: ErrEmpty},
	} {
		if err := c.Send("x", tc.text); !errors.Is(err, tc.want) {
			t.Errorf("Send(%q) = %v, want %v", tc.text, err, tc.want)
		}
	}
	for i := range 3 {
		if err := c.Send(fmt.Sprint("ok", i), fmt.Sprintf("msg %d", i)); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := c.Send("x", "one more"); !errors.Is(err, ErrRateLimited) || ReasonOf(err) != ReasonRateLimited {
		t.Errorf("4th message in a minute: %v", err)
	}
	h.clk.advance(61e9)
	if err := c.Send("ok3", "later"); err != nil {
		t.Errorf("after a minute: %v", err)
	}
	for i := range 4 {
		if m := h.snd.next(t); !strings.HasPrefix(string(m.Body), "msg") && string(m.Body) != "later" {
			t.Errorf("sent #%d %q", i, m.Body)
		}
		if ev := s.next(t); ev.State != DeliveryDelivered {
			t.Errorf("delivery %+v", ev)
		}
	}
	h.snd.none(t)
}

func TestTypingRateLimit(t *testing.T) {
	h := start(t, config.Chat{})
	c, _ := h.open(t, "Ann", agentURI)
	defer c.Close()
	for range 20 {
		c.Typing(true)
	}
	wantTyping(t, h.snd.next(t), ComposingActive)
	c.Typing(false)
	wantTyping(t, h.snd.next(t), ComposingIdle)
	c.Typing(false) // already idle: nothing
	c.Typing(true)
	wantTyping(t, h.snd.next(t), ComposingActive)
	h.clk.advance(h.m.tm.typingResend / 2)
	c.Typing(true) // within the resend interval: nothing
	if err := c.Send("m", "marker"); err != nil {
		t.Fatal(err)
	}
	if m := h.snd.next(t); string(m.Body) != "marker" {
		t.Fatalf("got %s %q, want the marker (no second active)", m.ContentType, m.Body)
	}
	// A text ends composing at the agent; typing again sends active again.
	c.Typing(true)
	wantTyping(t, h.snd.next(t), ComposingActive)
	// No activity for the idle timeout: Run sends idle.
	h.clk.advance(h.m.tm.typingIdle)
	wantTyping(t, h.snd.next(t), ComposingIdle)
	h.snd.none(t)
}

func wantTyping(t *testing.T, m sip.OutgoingMessage, want ComposingState) {
	t.Helper()
	if m.ContentType != sip.ContentTypeIsComposing {
		t.Fatalf("sent %s %q, want isComposing", m.ContentType, m.Body)
	}
	ic, err := ParseIsComposing(m.Body)
	if err != nil || ic.State != want {
		t.Fatalf("isComposing %+v %v, want %s", ic, err, want)
	}
	if want == ComposingActive && ic.Refresh <= 0 {
		t.Error("active without refresh")
	}
}

func TestAgentTyping(t *testing.T) {
	h := start(t, config.Chat{})
	c, s := h.open(t, "Ann", agentURI)
	defer c.Close()
	active := IsComposing{State: ComposingActive, Refresh: 30e9}.Marshal()
	in := sip.IncomingMessage{From: agentURI, To: "sip:frontdesk@pbx.test", ContentType: sip.ContentTypeIsComposing, Body: active}
	if code := h.m.Message(in); code != 200 {
		t.Fatalf("isComposing answered %d", code)
	}
	if ev := s.next(t); ev.Kind != EventTyping || !ev.Active {
		t.Fatalf("event %+v", ev)
	}
	h.clk.advance(30e9) // the refresh interval passes without a refresh
	if ev := s.next(t); ev.Kind != EventTyping || ev.Active {
		t.Fatalf("event %+v, want typing stopped", ev)
	}
}
