package chat

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// recentClientIDs is how many client ids of Send a chat remembers, so that
// a widget resending a message whose result it never saw does not send it
// twice.
const recentClientIDs = 64

// Attachment is one visitor connection's hold on a chat: Open and Resume
// return one. A chat has one live attachment; a later Resume (a reconnect,
// a reload, a second tab) moves the chat to a new one and tells the old
// one's sink (EventMoved). The old attachment's Send, Ack and Close then
// return ErrMoved and its Detach does nothing, so a tab that lost the chat
// can neither write into it nor cut off the tab that has it.
type Attachment struct {
	c   *Conversation
	gen uint64
}

// Token is the chat's opaque resume token (192 random bits).
func (a *Attachment) Token() string { return a.c.token }

// ID is the chat's id (its subaddress suffix), for logs.
func (a *Attachment) ID() string { return a.c.id }

// Visitor returns who opened the chat (a resumed chat's agent, for one).
func (a *Attachment) Visitor() Visitor { return a.c.visitor }

// currentLocked reports whether a is the chat's live attachment.
func (a *Attachment) currentLocked() bool { return a.gen == a.c.gen }

// Send queues a text for the agent. Validation errors come back at once;
// the delivery result follows as an EventDelivery with the same clientID,
// in order. A clientID the chat saw recently is taken as a resend of that
// message and ignored: its result was or will be reported.
func (a *Attachment) Send(clientID, text string) error {
	c := a.c
	text = cleanText(text)
	if strings.TrimSpace(text) == "" {
		return ErrEmpty
	}
	cfg := c.m.config()
	if n := utf8.RuneCountInString(text); n > cfg.MaxMessageLength {
		return fmt.Errorf("%d characters, at most %d: %w", n, cfg.MaxMessageLength, ErrTooLong)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ended:
		return ErrEnded
	case !a.currentLocked():
		return ErrMoved
	case clientID != "" && slices.Contains(c.recent, clientID):
		return nil
	}
	now := c.m.now()
	keep := c.sent[:0]
	for _, t := range c.sent {
		if now.Sub(t) < time.Minute {
			keep = append(keep, t)
		}
	}
	c.sent = keep
	if len(c.sent) >= cfg.MessagesPerMinute {
		return fmt.Errorf("%d in the last minute: %w", len(c.sent), ErrRateLimited)
	}
	if c.kept.unacked()+c.inflight >= keepLimit {
		return fmt.Errorf("%d results the widget has not confirmed: %w", c.kept.unacked(), ErrRateLimited)
	}
	c.n++
	if !c.enqueue(outItem{kind: itemText, id: fmt.Sprintf("%s-%d", c.id, c.n), clientID: clientID, text: text}) {
		return fmt.Errorf("send queue full: %w", ErrRateLimited)
	}
	c.inflight++
	c.sent = append(c.sent, now)
	if clientID != "" {
		if len(c.recent) == recentClientIDs {
			c.recent = c.recent[1:]
		}
		c.recent = append(c.recent, clientID)
	}
	c.typingOn = false // a message ends the composing state at the receiver (RFC 3994)
	return nil
}

// Typing reports the visitor typing (active) or having stopped. The agent
// gets at most one "active" per resend interval and one "idle" when typing
// stops (or after the idle timeout without activity).
func (a *Attachment) Typing(active bool) {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.sink == nil || !a.currentLocked() {
		return
	}
	now := c.m.now()
	if !active {
		c.typingIdleLocked()
		return
	}
	c.typingLast = now
	if c.typingOn && now.Sub(c.typingSentAt) < c.m.tm.typingResend {
		return
	}
	if c.enqueue(outItem{kind: itemTyping, active: true}) {
		c.typingOn, c.typingSentAt = true, now
	}
}

// Ack records that the widget has shown every event up to seq: they need
// not be replayed, and make room for new ones.
func (a *Attachment) Ack(seq uint64) error {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ended:
		return ErrEnded
	case !a.currentLocked():
		return ErrMoved
	}
	c.kept.ack(seq)
	c.saveLocked()
	return nil
}

// Detach is called when the visitor's websocket is lost: events are kept
// for Resume until the end of the grace period. It does nothing when the
// chat has moved to another attachment.
func (a *Attachment) Detach() {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.sink == nil || !a.currentLocked() {
		return
	}
	c.sink = nil
	c.deadline = c.m.now().Add(c.m.config().ResumeGrace)
	c.typingIdleLocked()
	c.saveLocked()
	c.m.log.Info("chat detached", "chat", c.id, "until", c.deadline)
}

// Close ends the chat at the visitor's request: queued texts are still
// sent, then the agent is told the chat ended and the slot is freed.
func (a *Attachment) Close() error {
	c := a.c
	c.mu.Lock()
	moved := !c.ended && !a.currentLocked()
	c.mu.Unlock()
	if moved {
		return ErrMoved
	}
	c.end(endClosed)
	return nil
}
