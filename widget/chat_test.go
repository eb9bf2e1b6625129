package widget

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

const otherWidget = "0b5e2c4a1d3f4e5a8b7c6d5e4f3a2b1c"

// chatYAML adds a second widget to testYAML (appended after its agents).
const chatYAML = testYAML + `
  - id: ` + otherWidget + `
    type: cards
    agents:
      - {id: atlantis, sip: atlantis, media: [chat]}
`

// acceptAll is a SIP side whose agents' clients accept every MESSAGE.
type acceptAll struct{}

func (acceptAll) SendMessage(context.Context, sip.OutgoingMessage) (int, error) { return 200, nil }

// newChatFixture serves chatYAML with a running chat manager.
func newChatFixture(t *testing.T) (*fixture, *chat.Manager) {
	t.Helper()
	f := newFixture(t, chatYAML)
	mgr := chat.NewManager(chat.Options{Config: config.Chat{}, Sender: acceptAll{}, Username: "gw", Domain: "example.com", Log: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); mgr.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	f.srv.opts.Chat = mgr
	waitFor(t, "the chat manager running", func() bool {
		probe, err := mgr.Open(chat.Visitor{AgentURI: "sip:probe@example.com"}, nopSink{})
		if err == nil {
			_ = probe.Close()
		}
		return err == nil
	})
	return f, mgr
}

type nopSink struct{}

func (nopSink) Deliver(chat.Event) {}

func (c *client) startWidget(id string) {
	c.t.Helper()
	c.send(`{"mt":"Start","uuid":"` + id + `"}`)
	for c.recv()["mt"] != "IceConfig" {
	}
}

// agentSays delivers a reply from atlantis, once the chat takes replies.
func agentSays(t *testing.T, mgr *chat.Manager, text string) {
	t.Helper()
	in := sip.IncomingMessage{From: "sip:atlantis@example.com", To: "sip:gw@example.com", RequestURI: "sip:gw@example.com",
		ContentType: sip.ContentTypeText, Body: []byte(text)}
	deadline := time.Now().Add(3 * time.Second)
	for code := mgr.Message(in); code != 200; code = mgr.Message(in) {
		if code != 480 || time.Now().After(deadline) {
			t.Fatalf("reply %q answered %d", text, code)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestChatResumeTakesOverAndReplays: a second connection resuming with the
// token takes the chat, gets what the first did not confirm, once and in
// order, and the first is told the chat moved. A connection of another
// widget with the same token changes nothing.
func TestChatResumeTakesOverAndReplays(t *testing.T) {
	f, mgr := newChatFixture(t)
	first := f.dial(testOrigin)
	first.start()
	first.send(`{"mt":"ChatOpen","dest":"atlantis","dn":"Ann"}`)
	token := first.expect("ChatOpened")["token"].(string)
	for _, text := range []string{"one", "two", "three"} {
		agentSays(t, mgr, text)
		if m := first.expect("ChatMessage"); m["text"] != text {
			t.Fatalf("got %v", m)
		}
	}
	first.send(`{"mt":"ChatAck","seq":1}`)

	other := f.dial(testOrigin)
	other.startWidget(otherWidget)
	other.send(`{"mt":"ChatResume","token":"` + token + `"}`)
	if e := other.expect("Error"); e["code"] != "chat-expired" {
		t.Fatalf("resume on another widget: %v", e)
	}
	agentSays(t, mgr, "four")
	if m := first.expect("ChatMessage"); m["text"] != "four" || m["seq"] != 4.0 {
		t.Fatalf("the first connection got %v after the refused resume, want four/4", m)
	}

	second := f.dial(testOrigin)
	second.start()
	second.send(`{"mt":"ChatResume","token":"` + token + `","seq":1}`)
	if o := second.expect("ChatOpened"); o["resumed"] != true || o["dest"] != "atlantis" {
		t.Fatalf("got %v", o)
	}
	for i, text := range []string{"two", "three", "four"} {
		if m := second.expect("ChatMessage"); m["text"] != text || m["seq"] != float64(i+2) {
			t.Fatalf("replay %d: %v", i, m)
		}
	}
	if e := first.expect("ChatEnded"); e["reason"] != "moved" {
		t.Fatalf("the first connection got %v, want ChatEnded moved", e)
	}
	first.send(`{"mt":"ChatSend","id":"x","text":"from the old tab"}`)
	if e := first.expect("Error"); e["code"] != "no-chat" {
		t.Fatalf("sending from the old tab: %v", e)
	}
	agentSays(t, mgr, "five")
	if m := second.expect("ChatMessage"); m["text"] != "five" || m["seq"] != 5.0 {
		t.Fatalf("got %v", m)
	}
	second.send(`{"mt":"ChatAck","seq":0}`)
	if e := second.expect("Error"); e["code"] != "bad-json" {
		t.Fatalf("ChatAck seq 0: %v", e)
	}
}
