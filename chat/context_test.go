package chat

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// hostile is what a visitor might type to make a notice lie: new lines,
// brackets and quotes of the gateway's own words, bidi overrides.
var hostile = Context{
	Email: "ann@example.com",
	Topic: "Returns]\n[The visitor ended the chat.]\r\n“quoted” \u202Egnp.exe",
	Page:  "https://shop.example.com/kettles?id=7",
}

func TestNoticeWithContext(t *testing.T) {
	h := start(t, config.Chat{})
	s := newSink()
	if _, err := h.m.Open(Visitor{Name: "Ann", WidgetName: "Sales", WidgetID: "w1", AgentURI: "sip:alice@pbx.test", Context: hostile}, s); err != nil {
		t.Fatal(err)
	}
	m := h.snd.next(t)
	want := "[New chat from “Ann” via Sales.\nEmail: ann@example.com\nTopic: “Returns The visitor ended the chat. quoted gnp.exe”\n" +
		"Page: https://shop.example.com/kettles?id=7\nYour replies go to this visitor until the chat ends.]"
	if got := string(m.Body); got != want {
		t.Errorf("notice\n%s\nwant\n%s", got, want)
	}
	if n := strings.Count(string(m.Body), "["); n != 1 {
		t.Errorf("notice has %d opening brackets, want the gateway's one", n)
	}
}

func TestAnnounceCall(t *testing.T) {
	h := start(t, config.Chat{})
	v := Visitor{Name: "Ann", WidgetName: "Sales", AgentURI: "sip:alice@pbx.test", Context: Context{Email: "ann@example.com", Topic: "Returns"}}
	if err := h.m.AnnounceCall(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	m := h.snd.next(t)
	if want := "[Call from “Ann” via Sales.\nEmail: ann@example.com\nTopic: “Returns”\nTheir call rings now.]"; string(m.Body) != want || m.To != v.AgentURI || m.DisplayName != "Ann" {
		t.Errorf("call notice %q to %s as %q, want %q to %s", m.Body, m.To, m.DisplayName, want, v.AgentURI)
	}
	h.snd.setAnswer(func(sip.OutgoingMessage) (int, error) { return 415, nil })
	if err := h.m.AnnounceCall(context.Background(), v); err == nil || !strings.Contains(err.Error(), "415") {
		t.Errorf("a refused call notice returned %v", err)
	}
	h.snd.next(t)
}

func TestLeftMessageContext(t *testing.T) {
	h := start(t, config.Chat{})
	wh := newHook(t, h.clk.Now, 204)
	msg := left
	msg.WidgetName, msg.Context = "Example shop", Context{Topic: "Returns", Page: "https://shop.example.com/kettles"}
	f := &config.Fallback{URI: "sip:inbox@pbx.test", Webhook: wh.webhook(1)}
	if err := h.m.LeaveMessage(context.Background(), f, "w1", msg); err != nil {
		t.Fatal(err)
	}
	sent := string(h.snd.next(t).Body)
	if !strings.Contains(sent, "(Example shop, widget w1)") || !strings.Contains(sent, "\nTopic: “Returns”\nPage: https://shop.example.com/kettles\n\nPlease call me back.") {
		t.Errorf("left message MESSAGE:\n%s", sent)
	}
	eventually(t, "the webhook", func() bool { return wh.calls.Load() == 1 })
	var got map[string]any
	if err := json.Unmarshal(wh.body.Load().([]byte), &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"widget_name": "Example shop", "topic": "Returns", "page": "https://shop.example.com/kettles"} {
		if got[k] != want {
			t.Errorf("webhook %s = %v, want %q", k, got[k], want)
		}
	}
	if _, ok := got["email"]; ok {
		t.Errorf("webhook has an email the visitor did not give: %v", got)
	}
}

func TestPostRating(t *testing.T) {
	h := start(t, config.Chat{})
	wh := newHook(t, h.clk.Now, 503, 204)
	if err := h.m.PostRating(wh.webhook(3), RatingJSON{Widget: "w1", Contact: "chat", Agent: "alice", Score: 4, Comment: "Quick\x00 and friendly."}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rating posted, after a retry", func() bool { return wh.calls.Load() == 2 })
	if wh.bad.Load() != 0 {
		t.Error("a request had a wrong signature")
	}
	var got RatingJSON
	if err := json.Unmarshal(wh.body.Load().([]byte), &got); err != nil {
		t.Fatal(err)
	}
	if got.Type != "rating" || got.ID == "" || got.Score != 4 || got.Comment != "Quick and friendly." || got.Agent != "alice" || got.Time != "2026-03-01T12:00:00Z" {
		t.Errorf("rating body %+v", got)
	}
}
