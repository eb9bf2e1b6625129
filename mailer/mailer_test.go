package mailer

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
)

func TestComposeHostileSubject(t *testing.T) {
	from := &mail.Address{Name: "Example shop", Address: "shop@example.com"}
	raw := string(compose(from, "ann@example.com", Message{Subject: "Your chat\r\nBcc: victim@example.net\u202e", Body: "Line 1\nLine 2 – ünïcode\n"},
		time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)))
	head, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok {
		t.Fatalf("no blank line:\n%s", raw)
	}
	for _, l := range strings.Split(head, "\r\n") {
		if strings.HasPrefix(strings.ToLower(l), "bcc:") {
			t.Errorf("a header was smuggled in: %q", l)
		}
	}
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mimeDecoder)
	if s := dec.decode(msg.Header.Get("Subject")); s != "Your chat Bcc: victim@example.net" {
		t.Errorf("Subject %q", s)
	}
	for k, want := range map[string]string{"From": `"Example shop" <shop@example.com>`, "To": "ann@example.com", "Date": "Sun, 01 Mar 2026 12:00:00 +0000",
		"Content-Type": "text/plain; charset=utf-8", "Auto-Submitted": "auto-generated"} {
		if got := msg.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	text, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if string(text) != "Line 1\r\nLine 2 – ünïcode\r\n" {
		t.Errorf("body %q", text)
	}
}

func TestSendRefusesBadMessages(t *testing.T) {
	cfg := &config.SMTP{Host: "127.0.0.1", Port: 1, From: "shop@example.com"}
	for _, to := range []string{"", "ann", "Ann <ann@example.com>", "ann@example.com, eve@example.net", "ann@example.com\r\nBcc: eve@example.net"} {
		if err := (SMTP{}).Send(context.Background(), cfg, Message{To: to, Body: "x"}); !errors.Is(err, ErrBadMessage) {
			t.Errorf("recipient %q: %v, want ErrBadMessage", to, err)
		}
	}
	if err := (SMTP{}).Send(context.Background(), cfg, Message{To: "ann@example.com", Body: strings.Repeat("x", MaxBody+1)}); !errors.Is(err, ErrBadMessage) {
		t.Errorf("a body over the bound: %v", err)
	}
}

// mimeDecoder decodes RFC 2047 words.
type mimeDecoder struct{}

func (mimeDecoder) decode(s string) string {
	out, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		return "undecodable: " + s
	}
	return out
}
