package chat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

const secret = "webhook-s3cret"

var left = LeftMessage{Name: "Ann Lee", Contact: "ann@example.com", Text: "Please call me back."}

// hook is a webhook receiver that checks each request's signature itself and
// answers with the next status of codes (the last one repeats).
type hook struct {
	srv    *httptest.Server
	calls  atomic.Int64
	bad    atomic.Int64 // requests with a wrong signature or missing headers
	body   atomic.Value // last body
	header atomic.Value // last request's headers
}

// verifyWebhook is what a receiver does, written from the documented
// scheme alone: the signature is HMAC-SHA256 of "<timestamp>.<body>", and
// the timestamp must be within 5 minutes of the receiver's clock.
func verifyWebhook(hdr http.Header, body []byte, now time.Time) error {
	ts := hdr.Get("X-Frontdesk-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("no timestamp")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(hdr.Get("X-Frontdesk-Signature")), []byte(want)) {
		return errors.New("bad signature")
	}
	if age := now.Sub(time.Unix(sec, 0)); age > 5*time.Minute || age < -5*time.Minute {
		return errors.New("stale timestamp")
	}
	return nil
}

func newHook(t *testing.T, now func() time.Time, codes ...int) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || verifyWebhook(r.Header, body, now()) != nil ||
			r.Header.Get("Content-Type") != "application/json" {
			h.bad.Add(1)
		}
		h.body.Store(body)
		h.header.Store(r.Header.Clone())
		// Counted last: a test that sees the count sees the body too.
		n := int(h.calls.Add(1))
		w.WriteHeader(codes[min(n, len(codes))-1])
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) webhook(attempts int) *config.Webhook {
	return &config.Webhook{URL: h.srv.URL + "/left?token=abc", ResolvedSecret: secret, Timeout: time.Second, Attempts: attempts}
}

func TestLeaveMessageWebhookRetried(t *testing.T) {
	h := start(t, config.Chat{})
	wh := newHook(t, h.clk.Now, 500, 503, 204)
	err := h.m.LeaveMessage(context.Background(), &config.Fallback{Webhook: wh.webhook(5)}, "w1", left)
	if err != nil {
		t.Fatalf("LeaveMessage: %v", err)
	}
	if n := wh.calls.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if wh.bad.Load() != 0 {
		t.Error("a request had a wrong signature or headers")
	}
	var got LeftMessageJSON
	if err := json.Unmarshal(wh.body.Load().([]byte), &got); err != nil {
		t.Fatal(err)
	}
	if got.Type != "left_message" || got.Widget != "w1" || got.Name != left.Name || got.Contact != left.Contact ||
		got.Text != left.Text || got.ID == "" || got.Time != "2026-03-01T12:00:00Z" {
		t.Errorf("body %+v", got)
	}
	h.snd.none(t)
}

func TestLeaveMessageAllFail(t *testing.T) {
	h := start(t, config.Chat{})
	wh := newHook(t, h.clk.Now, 500)
	err := h.m.LeaveMessage(context.Background(), &config.Fallback{Webhook: wh.webhook(3)}, "w1", left)
	if !errors.Is(err, ErrNotDelivered) || strings.Contains(err.Error(), "token=abc") {
		t.Fatalf("LeaveMessage = %v, want ErrNotDelivered without the URL's query", err)
	}
	if n := wh.calls.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	// A client error is final.
	wh4 := newHook(t, h.clk.Now, 400)
	if err := h.m.LeaveMessage(context.Background(), &config.Fallback{Webhook: wh4.webhook(3)}, "w1", left); !errors.Is(err, ErrNotDelivered) {
		t.Fatalf("LeaveMessage = %v", err)
	}
	if n := wh4.calls.Load(); n != 1 {
		t.Errorf("400 was retried: %d attempts", n)
	}
	// SIP refused as well as the webhook.
	h.snd.setAnswer(func(sip.OutgoingMessage) (int, error) { return 404, errors.New("404") })
	f := &config.Fallback{SIP: "inbox", URI: "sip:inbox@pbx.test", Webhook: wh.webhook(2)}
	if err := h.m.LeaveMessage(context.Background(), f, "w1", left); !errors.Is(err, ErrNotDelivered) {
		t.Fatalf("LeaveMessage = %v", err)
	}
	h.snd.next(t)
}

func TestLeaveMessageSIPOnlyWorks(t *testing.T) {
	h := start(t, config.Chat{})
	wh := newHook(t, h.clk.Now, 500)
	f := &config.Fallback{SIP: "inbox", URI: "sip:inbox@pbx.test", Webhook: wh.webhook(2)}
	if err := h.m.LeaveMessage(context.Background(), f, "w1", left); err != nil {
		t.Fatalf("LeaveMessage: %v", err)
	}
	m := h.snd.next(t)
	body := string(m.Body)
	if m.To != "sip:inbox@pbx.test" || m.DisplayName != "Ann Lee" || m.FromUser != "" ||
		!strings.Contains(body, "Contact: ann@example.com") || !strings.HasSuffix(body, "\n\nPlease call me back.") {
		t.Errorf("sent %+v %q", m, body)
	}
	eventually(t, "the webhook's attempts to finish", func() bool { return wh.calls.Load() == 2 })
}

func TestLeaveMessageValidation(t *testing.T) {
	h := start(t, config.Chat{MaxMessageLength: 50})
	f := &config.Fallback{URI: "sip:inbox@pbx.test"}
	for _, tc := range []struct {
		name string
		msg  LeftMessage
		want error
	}{
		{name: "phone", msg: LeftMessage{Name: "Ann", Contact: "+49 (30) 1234-567", Text: "hi"}},
		{name: "email", msg: LeftMessage{Name: "Ann", Contact: "a.b+c@mail.example.org", Text: "hi"}},
		{name: "no contact", msg: LeftMessage{Name: "Ann", Contact: "", Text: "hi"}, want: ErrBadContact},
		{name: "short number", msg: LeftMessage{Name: "Ann", Contact: "123", Text: "hi"}, want: ErrBadContact},
		{name: "words", msg: LeftMessage{Name: "Ann", Contact: "call me", Text: "hi"}, want: ErrBadContact},
		{name: "email without dot", msg: LeftMessage{Name: "Ann", Contact: "ann@localhost", Text: "hi"}, want: ErrBadContact},
		{name: "no name", msg: LeftMessage{Name: " ", Contact: "ann@example.com", Text: "hi"}, want: ErrEmpty},
		{name: "too long", msg: LeftMessage{Name: "Ann", Contact: "ann@example.com", Text: strings.Repeat("x", 51)}, want: ErrTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := h.m.LeaveMessage(context.Background(), f, "w1", tc.msg)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("LeaveMessage = %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				h.snd.next(t)
			}
		})
	}
	if err := h.m.LeaveMessage(context.Background(), nil, "w1", left); !errors.Is(err, ErrNoFallback) {
		t.Errorf("no fallback: %v", err)
	}
	h.snd.none(t)
}

// TestWebhookSignatureCoversTimestamp: a receiver that follows the
// documented scheme accepts the gateway's request; the same body and
// signature with another timestamp, or an old timestamp, are refused, so a
// captured request cannot be replayed.
func TestWebhookSignatureCoversTimestamp(t *testing.T) {
	h := start(t, config.Chat{})
	wh := newHook(t, h.clk.Now, 204)
	if err := h.m.LeaveMessage(context.Background(), &config.Fallback{Webhook: wh.webhook(1)}, "w1", left); err != nil {
		t.Fatalf("LeaveMessage: %v", err)
	}
	hdr := wh.header.Load().(http.Header)
	body := wh.body.Load().([]byte)
	if err := verifyWebhook(hdr, body, h.clk.Now()); err != nil {
		t.Fatalf("the documented check refuses the gateway's request: %v", err)
	}
	if got, want := hdr.Get(HeaderSignature), Sign(secret, hdr.Get(HeaderTimestamp), body); got != want {
		t.Errorf("signature %s, Sign gives %s", got, want)
	}
	sec, _ := strconv.ParseInt(hdr.Get(HeaderTimestamp), 10, 64)
	replayed := hdr.Clone()
	replayed.Set(HeaderTimestamp, strconv.FormatInt(sec+600, 10))
	if err := verifyWebhook(replayed, body, h.clk.Now().Add(600*time.Second)); err == nil || err.Error() != "bad signature" {
		t.Errorf("a replay with a fresh timestamp: %v, want bad signature", err)
	}
	if err := verifyWebhook(hdr, body, h.clk.Now().Add(10*time.Minute)); err == nil || err.Error() != "stale timestamp" {
		t.Errorf("a replay ten minutes later: %v, want stale timestamp", err)
	}
}
