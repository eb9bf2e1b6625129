package chat

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/frontdesk-gw/frontdesk/config"
)

// Webhook headers. The signature covers the timestamp and the body, so a
// captured request cannot be replayed later with a fresh timestamp: the
// receiver checks the signature, then that the timestamp is recent (a few
// minutes), and may drop duplicates by the body's id.
const (
	HeaderSignature = "X-Frontdesk-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
	HeaderTimestamp = "X-Frontdesk-Timestamp" // unix seconds of this attempt, in decimal
)

// maxWebhookBody bounds what is posted and what is read back.
const maxWebhookBody = 64 << 10

// LeftMessageJSON is the webhook body.
type LeftMessageJSON struct {
	Type    string `json:"type"` // "left_message"
	ID      string `json:"id"`   // unique per message: the same on every retry
	Widget  string `json:"widget"`
	Name    string `json:"name"`
	Contact string `json:"contact"`
	Text    string `json:"text"`
	Time    string `json:"time"` // RFC 3339, when the visitor left it
	// WidgetName, and what the visitor said in the widget's form and the
	// page they were on, when known.
	WidgetName string `json:"widget_name,omitempty"`
	Email      string `json:"email,omitempty"`
	Topic      string `json:"topic,omitempty"`
	Page       string `json:"page,omitempty"`
}

func webhookBody(widget string, msg LeftMessage, now time.Time) ([]byte, error) {
	b, err := json.Marshal(LeftMessageJSON{Type: "left_message", ID: uuid.NewString(), Widget: widget,
		Name: msg.Name, Contact: msg.Contact, Text: msg.Text, Time: now.UTC().Format(time.RFC3339),
		WidgetName: msg.WidgetName, Email: msg.Context.Email, Topic: msg.Context.Topic, Page: msg.Context.Page})
	if err != nil {
		return nil, fmt.Errorf("encode left message: %w", err)
	}
	if len(b) > maxWebhookBody {
		return nil, fmt.Errorf("left message of %d bytes: %w", len(b), ErrTooLong)
	}
	return b, nil
}

// Sign is the X-Frontdesk-Signature value of body sent with timestamp (the
// X-Frontdesk-Timestamp value): HMAC-SHA256 of "<timestamp>.<body>".
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// postWebhook posts body up to w.Attempts times with exponential backoff
// and jitter, each attempt bounded by w.Timeout. Client errors other than
// 408 and 429 are not retried.
func (m *Manager) postWebhook(ctx context.Context, w *config.Webhook, body []byte) error {
	attempts := max(1, w.Attempts)
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = config.DefaultWebhookTimeout
	}
	var last error
	n := 0
	for n < attempts {
		if n > 0 {
			d := min(m.tm.webhookBackoff<<min(n-1, 20), m.tm.webhookMax)
			d = d/2 + rand.N(d/2+1)
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("webhook %s: %w (after %w)", redact(w.URL), ctx.Err(), last)
			case <-t.C:
			}
		}
		n++
		retry, err := m.postOnce(ctx, w, body, timeout)
		if err == nil {
			return nil
		}
		last = err
		m.log.Info("webhook attempt failed", "url", redact(w.URL), "attempt", n, "error", err)
		if !retry {
			break
		}
	}
	return fmt.Errorf("webhook %s: %d attempts: %w", redact(w.URL), n, last)
}

func (m *Manager) postOnce(ctx context.Context, w *config.Webhook, body []byte, timeout time.Duration) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "frontdesk")
	ts := strconv.FormatInt(m.now().Unix(), 10)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(w.ResolvedSecret, ts, body))
	res, err := m.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the full URL
		}
		return true, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxWebhookBody)) // lets the connection be reused
	switch c := res.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return true, fmt.Errorf("status %d", c)
	default:
		return false, fmt.Errorf("status %d", c)
	}
}

// redact keeps scheme, host and path: query strings often hold tokens.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}
