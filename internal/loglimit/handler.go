package loglimit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults.
const (
	DefaultBurst  = 50
	DefaultWindow = 10 * time.Second
	// maxKeys bounds the messages tracked; messages beyond it share one key.
	maxKeys = 4096
)

// SuppressedMessage is the message of the record that reports dropped ones.
const SuppressedMessage = "log lines suppressed"

// Options configure a Handler.
type Options struct {
	Burst     int           // records per key and window (default DefaultBurst)
	Window    time.Duration // default DefaultWindow
	Unlimited []string      // messages never limited
	Now       func() time.Time
}

// Handler limits repeated records; see the package doc.
type Handler struct {
	next  slog.Handler
	state *state
}

// state is shared by a Handler and those derived with WithAttrs/WithGroup.
type state struct {
	burst     int
	window    time.Duration
	unlimited map[string]bool
	now       func() time.Time

	mu        sync.Mutex
	keys      map[key]*counter
	lastFlush time.Time
}

type key struct {
	level slog.Level
	msg   string
}

// counter is one key's current window.
type counter struct {
	start      time.Time
	passed     int
	suppressed int
	// next is the handler of the first suppressed record: the summary goes
	// through it, with that logger's attributes.
	next slog.Handler
}

// New wraps next.
func New(next slog.Handler, o Options) *Handler {
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	st := &state{burst: o.Burst, window: o.Window, now: o.Now, unlimited: map[string]bool{}, keys: map[key]*counter{}}
	for _, m := range o.Unlimited {
		st.unlimited[m] = true
	}
	return &Handler{next: next, state: st}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs), state: h.state}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), state: h.state}
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if h.state.unlimited[r.Message] {
		return h.next.Handle(ctx, r)
	}
	pass, summaries := h.state.admit(key{r.Level, r.Message}, h.next)
	for _, s := range summaries {
		_ = s.next.Handle(ctx, s.record)
	}
	if !pass {
		return nil
	}
	return h.next.Handle(ctx, r)
}

type summary struct {
	next   slog.Handler
	record slog.Record
}

// admit counts one record of k and says whether it passes; it also returns
// the summaries of windows that have ended.
func (s *state) admit(k key, next slog.Handler) (bool, []summary) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []summary
	if now.Sub(s.lastFlush) >= time.Second {
		out = s.flush(now)
	}
	c := s.keys[k]
	if c == nil {
		if len(s.keys) >= maxKeys {
			k = key{level: k.level, msg: "(other messages)"}
			c = s.keys[k]
		}
		if c == nil {
			c = &counter{start: now}
			s.keys[k] = c
		}
	}
	if now.Sub(c.start) >= s.window {
		if c.suppressed > 0 {
			out = append(out, c.summary(k, now, s.window))
		}
		*c = counter{start: now}
	}
	if c.passed < s.burst {
		c.passed++
		return true, out
	}
	if c.suppressed == 0 {
		c.next = next
	}
	c.suppressed++
	return false, out
}

// flush reports and resets the windows that have ended and forgets idle
// keys.
func (s *state) flush(now time.Time) []summary {
	s.lastFlush = now
	var out []summary
	for k, c := range s.keys {
		if now.Sub(c.start) < s.window {
			continue
		}
		if c.suppressed > 0 {
			out = append(out, c.summary(k, now, s.window))
		}
		delete(s.keys, k)
	}
	return out
}

func (c *counter) summary(k key, now time.Time, window time.Duration) summary {
	r := slog.NewRecord(now, k.level, SuppressedMessage, 0)
	r.AddAttrs(slog.String("message", k.msg), slog.Int("count", c.suppressed), slog.Duration("window", window))
	return summary{next: c.next, record: r}
}
