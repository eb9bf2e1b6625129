package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/frontdesk-gw/frontdesk/config"
)

// LeftMessage is what a visitor leaves when nobody is available.
type LeftMessage struct {
	Name    string
	Contact string // email address or phone number
	Text    string
	// WidgetName and Context say where it was left and what the visitor
	// said in the widget's form (the topic), for the fallback.
	WidgetName string
	Context    Context
}

// maxNameRunes and maxContactRunes bound the short fields of a left message.
const (
	maxNameRunes    = 100
	maxContactRunes = 254 // the longest email address
)

// LeaveMessage delivers msg to the widget's fallback: a SIP MESSAGE to
// f.URI and, when configured, a signed JSON POST to the webhook, both at
// once. It returns nil as soon as one of them accepted it (2xx), an error
// wrapping ErrNotDelivered when all failed, ctx's error when ctx ends
// first. A destination still trying after LeaveMessage returned keeps
// going (webhook retries) under Run's lifetime.
func (m *Manager) LeaveMessage(ctx context.Context, f *config.Fallback, widget string, msg LeftMessage) error {
	msg, err := m.checkLeft(msg)
	if err != nil {
		return err
	}
	sipURI := ""
	if f != nil {
		sipURI = f.URI
		if sipURI == "" {
			sipURI = f.SIP
		}
	}
	if f == nil || (sipURI == "" && f.Webhook == nil) {
		return fmt.Errorf("leave message on widget %s: %w", widget, ErrNoFallback)
	}
	now := m.now()
	var legs []func(context.Context) error
	if sipURI != "" {
		legs = append(legs, func(ctx context.Context) error { return m.leaveSIP(ctx, sipURI, widget, msg) })
	}
	if w := f.Webhook; w != nil {
		body, err := webhookBody(widget, msg, now)
		if err != nil {
			return err
		}
		legs = append(legs, func(ctx context.Context) error { return m.postWebhook(ctx, w, body) })
	}

	m.mu.Lock()
	if m.runCtx == nil || m.stopping {
		m.mu.Unlock()
		return fmt.Errorf("leave message on widget %s: %w", widget, ErrNotRunning)
	}
	base := m.runCtx
	results := make(chan error, len(legs)) // buffered: legs never block on a caller that left
	m.wg.Add(len(legs))
	for _, leg := range legs {
		go func() {
			defer m.wg.Done()
			results <- leg(base)
		}()
	}
	m.mu.Unlock()

	var errs []error
	for range legs {
		select {
		case err := <-results:
			if err == nil {
				m.log.Info("left message delivered", "widget", widget)
				return nil
			}
			errs = append(errs, err)
		case <-ctx.Done():
			return fmt.Errorf("leave message on widget %s: %w", widget, ctx.Err())
		}
	}
	m.log.Warn("left message not delivered", "widget", widget, "error", errors.Join(errs...))
	return fmt.Errorf("leave message on widget %s: %w: %w", widget, ErrNotDelivered, errors.Join(errs...))
}

// leaveSIP sends the left message as a MESSAGE from the gateway's own
// identity, with the visitor's name as display name.
func (m *Manager) leaveSIP(ctx context.Context, uri, widget string, msg LeftMessage) error {
	ctx, cancel := context.WithTimeout(ctx, m.config().SendTimeout)
	defer cancel()
	via := widget
	if n := noticeLine(msg.WidgetName); n != "" {
		via = n + ", widget " + widget
	}
	text := fmt.Sprintf("Message left on the website (%s)\nName: %s\nContact: %s\n", via, msg.Name, msg.Contact)
	for _, l := range msg.Context.lines() {
		text += l + "\n"
	}
	text += "\n" + msg.Text
	code, err := m.send.SendMessage(ctx, outgoingText(uri, msg.Name, text))
	if code >= 200 && code < 300 {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("status %d", code)
	}
	return fmt.Errorf("MESSAGE to %s: %w", uri, err)
}

// checkLeft cleans the fields and checks them loosely: a name, a contact
// that looks like an email address or a phone number, a text within
// max_message_length.
func (m *Manager) checkLeft(msg LeftMessage) (LeftMessage, error) {
	one := func(s string) string { return strings.Join(strings.Fields(cleanText(s)), " ") }
	msg.Name, msg.Contact, msg.Text = one(msg.Name), one(msg.Contact), strings.TrimSpace(cleanText(msg.Text))
	if msg.Name == "" || msg.Text == "" {
		return msg, fmt.Errorf("left message without name or text: %w", ErrEmpty)
	}
	if utf8.RuneCountInString(msg.Name) > maxNameRunes {
		return msg, fmt.Errorf("name: %w", ErrTooLong)
	}
	if n, limit := utf8.RuneCountInString(msg.Text), m.config().MaxMessageLength; n > limit {
		return msg, fmt.Errorf("%d characters, at most %d: %w", n, limit, ErrTooLong)
	}
	if !validContact(msg.Contact) {
		return msg, fmt.Errorf("contact %q: %w", msg.Contact, ErrBadContact)
	}
	return msg, nil
}

// validContact accepts something@domain.tld or a phone number: digits with
// + - . ( ) / and spaces, 5 to 20 digits.
func validContact(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > maxContactRunes {
		return false
	}
	if strings.Contains(s, "@") {
		return ValidEmail(s)
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case strings.ContainsRune(" -.()/", r):
		default:
			return false
		}
	}
	return digits >= 5 && digits <= 20
}

// ValidEmail accepts something@domain.tld of at most 254 characters,
// without spaces, angle brackets, commas, semicolons or quotes.
func ValidEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || s == "" || utf8.RuneCountInString(s) > maxContactRunes {
		return false
	}
	dot := strings.LastIndexByte(domain, '.')
	return local != "" && !strings.ContainsAny(s, " <>,;\"") && strings.Count(s, "@") == 1 &&
		dot > 0 && dot < len(domain)-1 && strings.IndexFunc(s, unicode.IsControl) < 0
}
