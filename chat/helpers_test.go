package chat

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSender records every MESSAGE and answers with answer (nil: 200).
type fakeSender struct {
	ch     chan sip.OutgoingMessage
	mu     sync.Mutex
	answer func(m sip.OutgoingMessage) (int, error)
}

func newFakeSender() *fakeSender { return &fakeSender{ch: make(chan sip.OutgoingMessage, 2000)} }

func (f *fakeSender) SendMessage(ctx context.Context, m sip.OutgoingMessage) (int, error) {
	f.ch <- m
	f.mu.Lock()
	a := f.answer
	f.mu.Unlock()
	if a == nil {
		return 200, nil
	}
	return a(m)
}

func (f *fakeSender) setAnswer(a func(m sip.OutgoingMessage) (int, error)) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

// next returns the next MESSAGE sent.
func (f *fakeSender) next(t *testing.T) sip.OutgoingMessage {
	t.Helper()
	select {
	case m := <-f.ch:
		return m
	case <-time.After(3 * time.Second):
		t.Fatal("no MESSAGE sent within 3s")
		return sip.OutgoingMessage{}
	}
}

// none checks that nothing more was sent.
func (f *fakeSender) none(t *testing.T) {
	t.Helper()
	select {
	case m := <-f.ch:
		t.Fatalf("unexpected MESSAGE %s %q", m.ContentType, m.Body)
	default:
	}
}

// sink records events without blocking.
type sink struct {
	ch       chan Event
	overflow atomic.Int64
}

func newSink() *sink { return &sink{ch: make(chan Event, 2000)} }

func (s *sink) Deliver(ev Event) {
	select {
	case s.ch <- ev:
	default:
		s.overflow.Add(1)
	}
}

func (s *sink) next(t *testing.T) Event {
	t.Helper()
	select {
	case ev := <-s.ch:
		return ev
	case <-time.After(3 * time.Second):
		t.Fatal("no event within 3s")
		return Event{}
	}
}

func (s *sink) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-s.ch:
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
}

// clock is a settable Now.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

type harness struct {
	m     *Manager
	snd   *fakeSender
	clk   *clock
	stop  func()
	ended chan struct{}
}

// start runs a Manager with a fake sender and clock until the test ends.
func start(t *testing.T, cfg config.Chat) *harness { return startWith(t, cfg, nil) }

// startWith is start with changes to the Manager's options.
func startWith(t *testing.T, cfg config.Chat, change func(*Options)) *harness {
	t.Helper()
	h := &harness{snd: newFakeSender(), clk: newClock(), ended: make(chan struct{})}
	o := Options{Config: cfg, Sender: h.snd, Username: "frontdesk", Domain: "pbx.test", Log: testLogger(), Now: h.clk.Now}
	if change != nil {
		change(&o)
	}
	h.m = NewManager(o)
	h.m.tm.tick = 2 * time.Millisecond
	h.m.tm.webhookBackoff = time.Millisecond
	h.m.tm.webhookMax = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(h.ended)
		h.m.Run(ctx)
	}()
	// Open needs Run to have started.
	for i := 0; ; i++ {
		h.m.mu.Lock()
		running := h.m.runCtx != nil
		h.m.mu.Unlock()
		if running {
			break
		}
		if i > 1000 {
			t.Fatal("Run did not start")
		}
		time.Sleep(time.Millisecond)
	}
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-h.ended:
			case <-time.After(5 * time.Second):
				t.Error("Run did not return")
			}
		})
	}
	t.Cleanup(h.stop)
	return h
}

// open opens a chat of widget w1 and waits until the agent's client
// accepted its new-chat notice, which must be the next MESSAGE sent.
func (h *harness) open(t *testing.T, name, agent string) (*Attachment, *sink) {
	t.Helper()
	a, s := h.openOnly(t, name, agent)
	if m := h.snd.next(t); !strings.HasPrefix(string(m.Body), "[New chat from") || m.To != agent {
		t.Fatalf("first MESSAGE of the chat %q to %s, want the new-chat notice to %s", m.Body, m.To, agent)
	}
	c := a.c
	eventually(t, "the notice accepted", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return !c.noticeAt.IsZero()
	})
	return a, s
}

// openOnly opens a chat of widget w1 without waiting for anything.
func (h *harness) openOnly(t *testing.T, name, agent string) (*Attachment, *sink) {
	t.Helper()
	s := newSink()
	a, err := h.m.Open(Visitor{Name: name, WidgetID: "w1", WidgetName: "Sales", AgentID: "a", AgentURI: agent, Session: name}, s)
	if err != nil {
		t.Fatalf("Open(%s -> %s): %v", name, agent, err)
	}
	return a, s
}

// reply is a text MESSAGE from the PBX.
func reply(from, to, text string) sip.IncomingMessage {
	return sip.IncomingMessage{From: from, To: to, RequestURI: to, ContentType: sip.ContentTypeText, Charset: "utf-8", Body: []byte(text)}
}

// eventually polls cond for up to 3 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 3000 {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
