package chat

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Conversation is one visitor's chat with one agent. Its methods are safe
// for concurrent use; what goes to SIP runs on the chat's own goroutine, in
// order.
type Conversation struct {
	m        *Manager
	id       string // subaddress id, also the log key
	token    string
	visitor  Visitor
	agent    string // normalized agent AOR: who may reply
	to       string // where MESSAGEs go
	mode     string // reply routing fixed at Open
	fromUser string // "" or username+id
	out      chan outItem
	endc     chan endReason // written once, by end

	mu       sync.Mutex
	sink     Sink // nil while detached
	buf      []Event
	ended    bool
	deadline time.Time   // end of the grace period while detached
	sent     []time.Time // send times within the last minute
	seq      int
	// Typing indicators toward the agent.
	typingOn     bool // the agent was last told "active"
	typingSentAt time.Time
	typingLast   time.Time // last Typing(true) from the visitor
	// The agent's typing state shown to the visitor.
	agentTypingUntil time.Time
}

type endReason int

const (
	endClosed   endReason = iota + 1 // the visitor closed the chat
	endLeft                          // the grace period ended without resume
	endShutdown                      // the gateway is stopping
)

// finalText is what the agent reads when a chat ends.
func (r endReason) finalText() string {
	switch r {
	case endClosed:
		return "[The visitor ended the chat.]"
	case endShutdown:
		return "[The visitor left the chat: the gateway is shutting down.]"
	}
	return "[The visitor left the chat.]"
}

// Token is the opaque resume token (192 random bits).
func (c *Conversation) Token() string { return c.token }

// ID is the chat's id (its subaddress suffix), for logs.
func (c *Conversation) ID() string { return c.id }

// Send queues a text for the agent. Validation errors come back at once;
// the delivery result follows as an EventDelivery with the same clientID,
// in order.
func (c *Conversation) Send(clientID, text string) error {
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
	if c.ended {
		return ErrEnded
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
	c.seq++
	if !c.enqueue(outItem{kind: itemText, id: fmt.Sprintf("%s-%d", c.id, c.seq), clientID: clientID, text: text}) {
		return fmt.Errorf("send queue full: %w", ErrRateLimited)
	}
	c.sent = append(c.sent, now)
	c.typingOn = false // a message ends the composing state at the receiver (RFC 3994)
	return nil
}

// Typing reports the visitor typing (active) or having stopped. The agent
// gets at most one "active" per resend interval and one "idle" when typing
// stops (or after the idle timeout without activity).
func (c *Conversation) Typing(active bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.sink == nil {
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

func (c *Conversation) typingIdleLocked() {
	if c.typingOn && c.enqueue(outItem{kind: itemTyping}) {
		c.typingOn = false
	}
}

// Detach is called when the visitor's websocket is lost: agent messages are
// buffered until Resume or the end of the grace period.
func (c *Conversation) Detach() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.sink == nil {
		return
	}
	c.sink = nil
	c.deadline = c.m.now().Add(c.m.config().ResumeGrace)
	c.typingIdleLocked()
	c.m.log.Info("chat detached", "chat", c.id, "until", c.deadline)
}

// Visitor returns who opened the chat (a resumed chat's agent, for one).
func (c *Conversation) Visitor() Visitor { return c.visitor }

// Close ends the chat at the visitor's request: queued texts are still
// sent, then the agent is told the chat ended and the slot is freed.
func (c *Conversation) Close() { c.end(endClosed) }

// end stops the chat once: it leaves the Manager's tables at once (the
// token stops working) and the worker sends the final MESSAGE.
func (c *Conversation) end(r endReason) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	c.mu.Unlock()
	c.m.remove(c)
	c.endc <- r // buffered; end runs once
	c.m.log.Info("chat ended", "chat", c.id, "reason", r.finalText())
}

// tick runs on Run's goroutine: grace expiry and typing timeouts.
func (c *Conversation) tick(now time.Time) {
	c.mu.Lock()
	expired := !c.ended && c.sink == nil && !c.deadline.IsZero() && !now.Before(c.deadline)
	if c.typingOn && now.Sub(c.typingLast) >= c.m.tm.typingIdle {
		c.typingIdleLocked()
	}
	if !c.agentTypingUntil.IsZero() && !now.Before(c.agentTypingUntil) {
		c.agentTypingUntil = time.Time{}
		c.emitLocked(Event{Kind: EventTyping, Time: now, Active: false})
	}
	c.mu.Unlock()
	if expired {
		c.end(endLeft)
	}
}

// enqueue adds to the worker's queue without blocking; false when full.
func (c *Conversation) enqueue(it outItem) bool {
	select {
	case c.out <- it:
		return true
	default:
		return false
	}
}

func (c *Conversation) emit(ev Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.emitLocked(ev)
}

// emitLocked hands ev to the sink, or buffers it while detached. Typing is
// not buffered: it is stale by the time the visitor is back.
func (c *Conversation) emitLocked(ev Event) {
	if c.sink != nil {
		c.sink.Deliver(ev)
		return
	}
	if ev.Kind != EventTyping {
		c.buf = append(c.buf, ev)
	}
}

// cleanText makes a text valid UTF-8 without control characters other than
// newline and tab; CRLF becomes LF.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}
