package chat

import (
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// TestHandoverReplyForThePreviousVisitorReachesNobody is the race of agent
// routing: Ann ends her chat, Ben opens one with the same agent at once,
// and the agent's next reply, typed for Ann, arrives. It must reach nobody,
// before and after Ben's notice reached the agent, and the agent is told;
// once the agent has had the notice for chat.handover, replies reach Ben.
func TestHandoverReplyForThePreviousVisitorReachesNobody(t *testing.T) {
	h := start(t, config.Chat{ReplyRouting: "agent", Handover: 15 * time.Second})
	ann, annSink := h.open(t, "Ann", agentURI)
	if code := h.m.Message(reply(agentURI, gwAddr, "One moment, Ann")); code != 200 {
		t.Fatal(code)
	}
	annSink.next(t)

	// Ann's end notice is slow to be answered; Ben's notice must wait for it.
	release := make(chan struct{})
	h.snd.setAnswer(func(m sip.OutgoingMessage) (int, error) {
		if strings.HasPrefix(string(m.Body), "[The visitor ended the chat") {
			<-release
		}
		return 200, nil
	})
	if err := ann.Close(); err != nil {
		t.Fatal(err)
	}
	if m := h.snd.next(t); !strings.HasPrefix(string(m.Body), "[The visitor ended the chat") {
		t.Fatalf("sent %q, want Ann's end notice", m.Body)
	}
	ben, benSink := h.openOnly(t, "Ben", agentURI)
	defer ben.Close()
	if err := ben.Send("b1", "Hi, I am Ben"); err != nil {
		t.Fatal(err)
	}
	// Before Ben's notice reached the agent.
	if code := h.m.Message(reply(agentURI, gwAddr, "Ann, your reset code is 4711")); code != 480 {
		t.Errorf("reply before the new-chat notice answered %d, want 480", code)
	}
	time.Sleep(20 * time.Millisecond)
	h.snd.none(t) // nothing of Ben's before Ann's end notice was answered
	close(release)
	notice := h.snd.next(t)
	if want := "[New chat from “Ben” via Sales. Your replies go to this visitor until the chat ends.]"; string(notice.Body) != want {
		t.Errorf("new-chat notice %q, want %q", notice.Body, want)
	}
	if m := h.snd.next(t); string(m.Body) != "Hi, I am Ben" {
		t.Errorf("sent %q, want Ben's text after the notice", m.Body)
	}
	if m := h.snd.next(t); !strings.HasPrefix(string(m.Body), "[Not delivered: the chat with “Ben” has only just begun") {
		t.Errorf("sent %q, want the refusal notice", m.Body)
	}
	c := ben.c
	eventually(t, "the notice accepted", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return !c.noticeAt.IsZero()
	})
	// After the notice, within the hand-over.
	h.clk.advance(14 * time.Second)
	if code := h.m.Message(reply(agentURI, gwAddr, "Ann, did that work?")); code != 480 {
		t.Errorf("reply within the hand-over answered %d, want 480", code)
	}
	typing := sip.IncomingMessage{From: agentURI, To: gwAddr, ContentType: sip.ContentTypeIsComposing,
		Body: IsComposing{State: ComposingActive}.Marshal()}
	if code := h.m.Message(typing); code != 200 {
		t.Errorf("isComposing answered %d", code)
	}
	if m := h.snd.next(t); !strings.HasPrefix(string(m.Body), "[Not delivered") {
		t.Errorf("sent %q, want the refusal notice", m.Body)
	}
	if ev := benSink.next(t); ev.Kind != EventDelivery || ev.ClientID != "b1" {
		t.Fatalf("Ben got %+v, want only his delivery result", ev)
	}
	benSink.none(t)

	h.clk.advance(time.Second)
	if code := h.m.Message(reply(agentURI, gwAddr, "Hello Ben")); code != 200 {
		t.Fatalf("reply after the hand-over answered %d", code)
	}
	if ev := benSink.next(t); ev.Kind != EventMessage || ev.Text != "Hello Ben" {
		t.Fatalf("Ben got %+v", ev)
	}
	annSink.next(t) // ended
	annSink.none(t)
}

// TestNoHandoverWithoutARecentChat: an agent who had no chat in the last
// recentWindow gets the notice, and replies count as soon as it was
// accepted.
func TestNoHandoverWithoutARecentChat(t *testing.T) {
	h := start(t, config.Chat{ReplyRouting: "agent"})
	a, s := h.open(t, "Ann", agentURI)
	if code := h.m.Message(reply(agentURI, gwAddr, "Hi Ann")); code != 200 {
		t.Fatalf("first chat: reply answered %d", code)
	}
	s.next(t)
	a.Close()
	h.snd.next(t)
	h.clk.advance(recentWindow)
	b, sb := h.open(t, "Ben", agentURI)
	defer b.Close()
	if code := h.m.Message(reply(agentURI, gwAddr, "Hi Ben")); code != 200 {
		t.Fatalf("chat long after the last: reply answered %d", code)
	}
	if ev := sb.next(t); ev.Text != "Hi Ben" {
		t.Fatalf("Ben got %+v", ev)
	}
}

// TestLateReplyTellsTheAgent: a reply after the chat ended reaches nobody
// and the agent is told, a bounded number of times.
func TestLateReplyTellsTheAgent(t *testing.T) {
	h := start(t, config.Chat{ReplyRouting: "agent"})
	a, _ := h.open(t, "Ann [agent]", agentURI)
	a.Close()
	h.snd.next(t)
	for i := range maxRefusals + 2 {
		if code := h.m.Message(reply(agentURI, gwAddr, "Ann, are you there?")); code != 404 {
			t.Fatalf("late reply %d answered %d", i, code)
		}
	}
	for range maxRefusals {
		m := h.snd.next(t)
		if want := "[Not delivered: the chat with “Ann agent” has ended. Nobody saw this message.]"; string(m.Body) != want || m.To != agentURI {
			t.Errorf("told %q to %s, want %q", m.Body, m.To, want)
		}
	}
	time.Sleep(20 * time.Millisecond)
	h.snd.none(t)
	h.clk.advance(recentWindow)
	time.Sleep(20 * time.Millisecond) // sweeps forget the chat
	h.m.Message(reply(agentURI, gwAddr, "hello?"))
	time.Sleep(20 * time.Millisecond)
	h.snd.none(t)
}

// TestTextsWaitForTheNotice: while the agent's client refuses the new-chat
// notice, the visitor's texts are not sent and fail with its reason; once
// it is accepted, texts follow it.
func TestTextsWaitForTheNotice(t *testing.T) {
	h := start(t, config.Chat{ReplyRouting: "subaddress", MaxPerAgent: 2})
	h.snd.setAnswer(func(sip.OutgoingMessage) (int, error) { return 480, nil })
	c, s := h.openOnly(t, "Ann", agentURI)
	defer c.Close()
	if m := h.snd.next(t); !strings.HasPrefix(string(m.Body), "[New chat from “Ann” via Sales. Replies to this conversation go to this visitor.]") || m.FromUser != "frontdesk+"+c.ID() {
		t.Fatalf("notice %q from %q", m.Body, m.FromUser)
	}
	if err := c.Send("c1", "hello"); err != nil {
		t.Fatal(err)
	}
	if m := h.snd.next(t); !strings.HasPrefix(string(m.Body), "[New chat from") {
		t.Fatalf("sent %q, want the notice again", m.Body)
	}
	if ev := s.next(t); ev.Kind != EventDelivery || ev.State != DeliveryFailed || ev.Reason != ReasonOffline {
		t.Fatalf("event %+v, want failed/offline", ev)
	}
	h.snd.setAnswer(nil)
	if err := c.Send("c2", "hello again"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[New chat from", "hello again"} {
		if m := h.snd.next(t); !strings.HasPrefix(string(m.Body), want) {
			t.Fatalf("sent %q, want %q", m.Body, want)
		}
	}
	if ev := s.next(t); ev.State != DeliveryDelivered {
		t.Fatalf("event %+v", ev)
	}
}

// TestNoEndNoticeForAChatTheAgentNeverSaw: an agent whose client never
// accepted the new-chat notice is not told the chat ended.
func TestNoEndNoticeForAChatTheAgentNeverSaw(t *testing.T) {
	h := start(t, config.Chat{})
	h.snd.setAnswer(func(sip.OutgoingMessage) (int, error) { return 404, nil })
	c, s := h.openOnly(t, "Ann", agentURI)
	h.snd.next(t) // the notice, refused
	c.Close()
	if ev := s.next(t); ev.Kind != EventEnded {
		t.Fatalf("event %+v", ev)
	}
	h.snd.none(t)
}

func TestNoticeName(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "a visitor",
		"  Ann  Lee ":                       "“Ann Lee”",
		"Ann] [The visitor ended the chat.": "“Ann The visitor ended the chat.”",
		"Eve\n“quoted”\x07":                 "“Eve quoted”",
		strings.Repeat("é", 70):             "“" + strings.Repeat("é", maxNoticeName) + "…”",
	} {
		if got := noticeName(in); got != want {
			t.Errorf("noticeName(%q) = %q, want %q", in, got, want)
		}
	}
}
