package chat

import (
	"testing"

	"github.com/frontdesk-gw/frontdesk/config"
)

func TestChatsCountsLiveChats(t *testing.T) {
	h := start(t, config.Chat{MaxMessageLength: 100, MessagesPerMinute: 10, MaxPerAgent: 1, ReplyRouting: "agent", ResumeGrace: 1e9, SendTimeout: 1e9})
	if n := h.m.Chats(); n != 0 {
		t.Fatalf("Chats() = %d before any chat", n)
	}
	a, _ := h.open(t, "A", "sip:alice@pbx.test")
	h.open(t, "B", "sip:bob@pbx.test")
	if n := h.m.Chats(); n != 2 {
		t.Fatalf("Chats() = %d, want 2", n)
	}
	if by := h.m.ChatsByAgent(); len(by) != 2 || by["sip:alice@pbx.test"] != 1 || by["sip:bob@pbx.test"] != 1 {
		t.Errorf("ChatsByAgent() = %v", by)
	}
	a.Close()
	if n := h.m.Chats(); n != 1 {
		t.Fatalf("Chats() = %d after one closed, want 1", n)
	}
	if by := h.m.ChatsByAgent(); len(by) != 1 || by["sip:bob@pbx.test"] != 1 {
		t.Errorf("ChatsByAgent() after alice's chat closed = %v", by)
	}
}
