package admin

import (
	"errors"
	"sync"
	"time"

	"github.com/frontdesk-gw/frontdesk/sip"
)

// maxKeptBody bounds the NOTIFY body kept per subscription.
const maxKeptBody = 8 << 10

// Tracker keeps, per subscription, what the PBX last said about it. The
// gateway feeds it from its sip.Handler; it is safe for concurrent use and
// holds one entry per subscription in use.
type Tracker struct {
	now func() time.Time

	mu   sync.Mutex
	subs map[sip.Target]*Subscription
}

// Subscription is what is known of one subscription.
type Subscription struct {
	// State is the Subscription-State of the last NOTIFY (active,
	// pending, terminated), or "lost" after the subscription was lost.
	State      string    `json:"state"`
	Notifies   int       `json:"notifies"`
	LastNotify time.Time `json:"last_notify,omitzero"`
	// ContentType and Body are the last NOTIFY's; the body is cut at
	// maxKeptBody bytes (Truncated).
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body,omitempty"`
	Truncated   bool   `json:"truncated,omitempty"`
	// LostAt and LostError are the last loss (the UA subscribes again).
	LostAt    time.Time `json:"lost_at,omitzero"`
	LostError string    `json:"lost_error,omitempty"`
}

// NewTracker returns an empty Tracker.
func NewTracker() *Tracker {
	return &Tracker{now: time.Now, subs: map[sip.Target]*Subscription{}}
}

// Notified records one NOTIFY.
func (t *Tracker) Notified(n sip.Notification) {
	body, cut := n.Body, false
	if len(body) > maxKeptBody {
		body, cut = body[:maxKeptBody], true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.entry(n.Target)
	s.State = string(n.State)
	if s.State == "" {
		s.State = "active"
	}
	s.Notifies++
	s.LastNotify = t.now()
	s.ContentType, s.Body, s.Truncated = n.ContentType, string(body), cut
}

// Lost records a lost subscription; one SetSubscriptions dropped
// (sip.ErrSubscriptionRemoved) is forgotten.
func (t *Tracker) Lost(target sip.Target, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if errors.Is(err, sip.ErrSubscriptionRemoved) {
		delete(t.subs, target)
		return
	}
	s := t.entry(target)
	s.State = "lost"
	s.LostAt = t.now()
	s.LostError = ""
	if err != nil {
		s.LostError = err.Error()
	}
}

// Get returns what is known of target.
func (t *Tracker) Get(target sip.Target) (Subscription, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.subs[target]
	if !ok {
		return Subscription{}, false
	}
	return *s, true
}

func (t *Tracker) entry(target sip.Target) *Subscription {
	s := t.subs[target]
	if s == nil {
		s = &Subscription{}
		t.subs[target] = s
	}
	return s
}
