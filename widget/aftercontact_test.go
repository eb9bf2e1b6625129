package widget

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/mailer"
)

// fakeMail records the mails it is handed.
type fakeMail struct {
	mu   sync.Mutex
	sent []mailer.Message
}

func (f *fakeMail) Send(_ context.Context, _ *config.SMTP, m mailer.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
	return nil
}

// TestRateAndTranscriptOnceEach: only an ended contact can be rated, once;
// its transcript is mailed with consent only, once.
func TestRateAndTranscriptOnceEach(t *testing.T) {
	posted := make(chan string, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posted <- string(b)
	}))
	t.Cleanup(hook.Close)
	t.Setenv("FD_TEST_HOOK", "s3cret")
	yml := strings.Replace(testYAML, "    name: Visitenkarten\n", "    name: Visitenkarten\n    rating: true\n    transcript: true\n    fallback: {webhook: {url: \""+hook.URL+"\", secret_env: FD_TEST_HOOK, attempts: 1}}\n", 1) +
		"smtp: {host: 127.0.0.1, from: shop@example.com}\n"
	f := newFixture(t, yml)
	mgr := chat.NewManager(chat.Options{Config: config.Chat{}, Sender: acceptAll{}, Username: "gw", Domain: "example.com", Log: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); mgr.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	f.srv.opts.Chat = mgr
	mail := &fakeMail{}
	f.srv.opts.Mail = mail
	f.avail.set("atlantis", "online")

	c := f.dial(testOrigin)
	c.start()
	c.send(`{"mt":"Rate","id":"r0","score":5}`)
	if m := c.expect("Rated"); m["ok"] != false || m["reason"] != "nothing-to-rate" {
		t.Fatalf("Rate before any contact: %v", m)
	}
	waitFor(t, "the chat manager running", func() bool {
		c.send(`{"mt":"ChatOpen","dest":"atlantis","dn":"Ann"}`)
		m := c.recv()
		return m["mt"] == "ChatOpened"
	})
	c.send(`{"mt":"ChatSend","id":"c1","text":"Do you ship to Austria?"}`)
	c.expect("ChatDelivery")
	agentSays(t, mgr, "Yes, we do!")
	c.expect("ChatMessage")
	c.send(`{"mt":"ChatClose"}`)
	c.expect("ChatEnded")

	c.send(`{"mt":"Rate","id":"r1","score":4,"comment":"Quick."}`)
	if m := c.expect("Rated"); m["ok"] != true {
		t.Fatalf("Rate after the chat: %v", m)
	}
	if body := <-posted; !strings.Contains(body, `"type":"rating"`) || !strings.Contains(body, `"score":4`) || !strings.Contains(body, `"agent":"atlantis"`) {
		t.Errorf("webhook body %s", body)
	}
	c.send(`{"mt":"Rate","id":"r2","score":1}`)
	if m := c.expect("Rated"); m["ok"] != false || m["reason"] != "nothing-to-rate" {
		t.Fatalf("a second Rate: %v", m)
	}
	if got := f.srv.Ratings()[testWidget]; got != [5]uint64{0, 0, 0, 1, 0} {
		t.Errorf("ratings counted %v", got)
	}

	c.send(`{"mt":"SendTranscript","id":"t1","email":"ann@example.com"}`)
	if m := c.expect("TranscriptSent"); m["ok"] != false || m["reason"] != "no-consent" {
		t.Fatalf("SendTranscript without consent: %v", m)
	}
	c.send(`{"mt":"SendTranscript","id":"t2","email":"ann@example.com\r\nBcc: eve@example.net","consent":true}`)
	if m := c.expect("TranscriptSent"); m["reason"] != "bad-contact" {
		t.Fatalf("SendTranscript to a bad address: %v", m)
	}
	c.send(`{"mt":"SendTranscript","id":"t3","email":"ann@example.com","consent":true}`)
	if m := c.expect("TranscriptSent"); m["ok"] != true {
		t.Fatalf("SendTranscript: %v", m)
	}
	c.send(`{"mt":"SendTranscript","id":"t4","email":"ann@example.com","consent":true}`)
	if m := c.expect("TranscriptSent"); m["reason"] != "rate-limited" {
		t.Fatalf("a second transcript of the chat: %v", m)
	}
	mail.mu.Lock()
	defer mail.mu.Unlock()
	if len(mail.sent) != 1 || mail.sent[0].To != "ann@example.com" || !strings.Contains(mail.sent[0].Body, "Ann: Do you ship to Austria?") ||
		!strings.Contains(mail.sent[0].Body, "Atlantis: Yes, we do!") || !strings.HasPrefix(mail.sent[0].Subject, "Ihr Chat mit Atlantis – Visitenkarten") {
		t.Errorf("mails %+v", mail.sent)
	}
}
