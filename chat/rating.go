package chat

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/frontdesk-gw/frontdesk/config"
)

// RatingJSON is the webhook body of a visitor's rating of a call or chat,
// posted and signed like a left message.
type RatingJSON struct {
	Type       string `json:"type"` // "rating"
	ID         string `json:"id"`   // unique per rating: the same on every retry
	Widget     string `json:"widget"`
	WidgetName string `json:"widget_name,omitempty"`
	Contact    string `json:"contact"` // "call" or "chat"
	Agent      string `json:"agent"`   // the agent's id in the widget
	Score      int    `json:"score"`   // 1 to 5
	Comment    string `json:"comment,omitempty"`
	Name       string `json:"name,omitempty"` // the visitor's
	Email      string `json:"email,omitempty"`
	Topic      string `json:"topic,omitempty"`
	Page       string `json:"page,omitempty"`
	Time       string `json:"time"` // RFC 3339, when the visitor rated
}

// PostRating posts r to w in the background (signed, retried with backoff
// under Run's lifetime) and returns at once; an error means it was not
// taken (not running, too large).
func (m *Manager) PostRating(w *config.Webhook, r RatingJSON) error {
	r.Type, r.ID, r.Time = "rating", uuid.NewString(), m.now().UTC().Format(time.RFC3339)
	r.Comment = cleanText(r.Comment)
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode rating: %w", err)
	}
	if len(body) > maxWebhookBody {
		return fmt.Errorf("rating of %d bytes: %w", len(body), ErrTooLong)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runCtx == nil || m.stopping {
		return fmt.Errorf("post rating: %w", ErrNotRunning)
	}
	base := m.runCtx
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.postWebhook(base, w, body); err != nil {
			m.log.Warn("rating not delivered", "widget", r.Widget, "error", err)
			return
		}
		m.log.Info("rating delivered", "widget", r.Widget, "score", r.Score)
	}()
	return nil
}
