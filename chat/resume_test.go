package chat

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
)

const gwAddr = "sip:frontdesk@pbx.test"

// wantMessages reads the next events of s: agent messages with texts, in
// order, numbered from seq on.
func wantMessages(t *testing.T, s *sink, seq uint64, texts ...string) {
	t.Helper()
	for i, w := range texts {
		ev := s.next(t)
		if ev.Kind != EventMessage || ev.Text != w || ev.Seq != seq+uint64(i) {
			t.Fatalf("event %+v, want message %q with seq %d", ev, w, seq+uint64(i))
		}
	}
}

func TestDetachKeepsAndResumeReplaysInOrder(t *testing.T) {
	h := start(t, config.Chat{ResumeGrace: time.Minute})
	c, s1 := h.open(t, "Ann", agentURI)
	defer c.Close()
	if len(c.Token()) < 22 {
		t.Fatalf("token %q is shorter than 128 bits", c.Token())
	}
	c.Detach()
	for i := range 3 {
		if code := h.m.Message(reply(agentURI, gwAddr, fmt.Sprintf("while away %d", i))); code != 202 {
			t.Fatalf("kept reply answered %d, want 202", code)
		}
	}
	if err := c.Send("x", "typed while away"); err != nil { // the widget may still hold the object
		t.Fatal(err)
	}
	h.snd.next(t)
	eventually(t, "the delivery result kept", func() bool {
		c.c.mu.Lock()
		defer c.c.mu.Unlock()
		return c.c.kept.unacked() == 4
	})
	s1.none(t)
	if _, err := h.m.Resume("not-a-token", "w1", 0, newSink()); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("wrong token: %v", err)
	}

	s2 := newSink()
	got, err := h.m.Resume(c.Token(), "w1", 0, s2)
	if err != nil || got.c != c.c {
		t.Fatalf("Resume = %v, %v", got, err)
	}
	if code := h.m.Message(reply(agentURI, gwAddr, "after resume")); code != 200 {
		t.Fatalf("reply after resume answered %d", code)
	}
	wantMessages(t, s2, 1, "while away 0", "while away 1", "while away 2")
	if ev := s2.next(t); ev.Kind != EventDelivery || ev.State != DeliveryDelivered || ev.Seq != 4 {
		t.Fatalf("event %+v, want the kept delivery result, seq 4", ev)
	}
	wantMessages(t, s2, 5, "after resume")
	s1.none(t)
}

// TestResumeReplaysWhatTheWidgetDidNotSee is the half-open websocket: the
// old connection still looks attached and the replies went to it, but the
// widget saw only the first; resuming with that number brings the rest,
// once, and the old connection is told the chat moved.
func TestResumeReplaysWhatTheWidgetDidNotSee(t *testing.T) {
	h := start(t, config.Chat{})
	c, s1 := h.open(t, "Ann", agentURI)
	defer c.Close()
	for i := range 4 {
		if code := h.m.Message(reply(agentURI, gwAddr, fmt.Sprint("reply ", i))); code != 200 {
			t.Fatalf("reply %d answered %d", i, code)
		}
	}
	wantMessages(t, s1, 1, "reply 0", "reply 1", "reply 2", "reply 3")
	s2 := newSink()
	b, err := h.m.Resume(c.Token(), "w1", 1, s2)
	if err != nil {
		t.Fatal(err)
	}
	if ev := s1.next(t); ev.Kind != EventMoved {
		t.Fatalf("old sink got %+v, want moved", ev)
	}
	wantMessages(t, s2, 2, "reply 1", "reply 2", "reply 3")
	s2.none(t)
	if code := h.m.Message(reply(agentURI, gwAddr, "new")); code != 200 {
		t.Fatalf("reply answered %d", code)
	}
	wantMessages(t, s2, 5, "new")
	s1.none(t)

	// A third connection that saw everything gets nothing replayed.
	if err := b.Ack(5); err != nil {
		t.Fatal(err)
	}
	s3 := newSink()
	if _, err := h.m.Resume(c.Token(), "w1", 5, s3); err != nil {
		t.Fatal(err)
	}
	if ev := s2.next(t); ev.Kind != EventMoved {
		t.Fatalf("second sink got %+v, want moved", ev)
	}
	s3.none(t)
}

// TestResumeFromAnotherWidgetChangesNothing: a token presented on another
// widget's session is refused before anything moves.
func TestResumeFromAnotherWidgetChangesNothing(t *testing.T) {
	h := start(t, config.Chat{})
	c, s1 := h.open(t, "Ann", agentURI)
	defer c.Close()
	c.Detach()
	if code := h.m.Message(reply(agentURI, gwAddr, "kept")); code != 202 {
		t.Fatalf("reply answered %d", code)
	}
	other := newSink()
	if _, err := h.m.Resume(c.Token(), "w2", 0, other); !errors.Is(err, ErrUnknownToken) {
		t.Fatalf("resume on another widget: %v, want ErrUnknownToken", err)
	}
	other.none(t)
	s2 := newSink()
	if _, err := h.m.Resume(c.Token(), "w1", 0, s2); err != nil {
		t.Fatal(err)
	}
	wantMessages(t, s2, 1, "kept")
	if _, err := h.m.Resume(c.Token(), "w2", 0, other); !errors.Is(err, ErrUnknownToken) {
		t.Fatalf("resume on another widget: %v", err)
	}
	if code := h.m.Message(reply(agentURI, gwAddr, "still here")); code != 200 {
		t.Fatalf("reply answered %d: the chat was moved off its widget", code)
	}
	wantMessages(t, s2, 2, "still here")
	other.none(t)
	s1.none(t)
}

// TestMovedAttachmentHoldsNothing: once the chat went on elsewhere, the old
// tab can neither write into it nor detach or close it.
func TestMovedAttachmentHoldsNothing(t *testing.T) {
	h := start(t, config.Chat{ResumeGrace: time.Minute})
	old, s1 := h.open(t, "Ann", agentURI)
	s2 := newSink()
	cur, err := h.m.Resume(old.Token(), "w1", 0, s2)
	if err != nil {
		t.Fatal(err)
	}
	if ev := s1.next(t); ev.Kind != EventMoved {
		t.Fatalf("old sink got %+v", ev)
	}
	if err := old.Send("x", "from the old tab"); !errors.Is(err, ErrMoved) || ReasonOf(err) != ReasonMoved {
		t.Errorf("Send on the old attachment: %v", err)
	}
	if err := old.Ack(1); !errors.Is(err, ErrMoved) {
		t.Errorf("Ack on the old attachment: %v", err)
	}
	old.Typing(true)
	old.Detach()
	if err := old.Close(); !errors.Is(err, ErrMoved) {
		t.Errorf("Close on the old attachment: %v", err)
	}
	h.snd.none(t)
	if code := h.m.Message(reply(agentURI, gwAddr, "to the new tab")); code != 200 {
		t.Fatalf("reply answered %d, want 200 (still attached)", code)
	}
	wantMessages(t, s2, 1, "to the new tab")
	s1.none(t)
	if err := cur.Close(); err != nil {
		t.Fatal(err)
	}
	if m := h.snd.next(t); !strings.HasPrefix(string(m.Body), "[The visitor ended the chat") {
		t.Errorf("final %q", m.Body)
	}
}

// TestKeptBounds: a widget that confirms nothing makes the chat keep at
// most keepLimit events and keepBytes of text; beyond that the agent's
// replies get 480 and the visitor's texts are refused, until it confirms.
func TestKeptBounds(t *testing.T) {
	h := start(t, config.Chat{MessagesPerMinute: 1000})
	c, s := h.open(t, "Ann", agentURI)
	defer c.Close()
	for i := range keepLimit {
		if code := h.m.Message(reply(agentURI, gwAddr, fmt.Sprint(i))); code != 200 {
			t.Fatalf("reply %d answered %d", i, code)
		}
	}
	if code := h.m.Message(reply(agentURI, gwAddr, "one too many")); code != 480 {
		t.Errorf("reply beyond the bound answered %d, want 480", code)
	}
	if err := c.Send("x", "hello"); !errors.Is(err, ErrRateLimited) {
		t.Errorf("Send with the chat full: %v, want ErrRateLimited", err)
	}
	for range keepLimit {
		s.next(t)
	}
	s.none(t)
	if err := c.Ack(keepLimit); err != nil {
		t.Fatal(err)
	}
	if code := h.m.Message(reply(agentURI, gwAddr, "room again")); code != 200 {
		t.Errorf("reply after the ack answered %d", code)
	}
	wantMessages(t, s, keepLimit+1, "room again")

	// Bytes: sixteen texts of 16 KiB exceed keepBytes.
	if err := c.Ack(keepLimit + 1); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 16<<10)
	n := 0
	for ; n < 20; n++ {
		if code := h.m.Message(reply(agentURI, gwAddr, big)); code != 200 {
			if code != 480 {
				t.Fatalf("big reply answered %d", code)
			}
			break
		}
	}
	if want := keepBytes / (16<<10 + keptOverhead + 20); n != want {
		t.Errorf("%d texts of 16 KiB kept, want %d", n, want)
	}
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	if c.c.kept.bytes > keepBytes+keepLimit*keptOverhead || len(c.c.kept.events) > keepLimit+queueLimit {
		t.Errorf("kept %d events, %d bytes", len(c.c.kept.events), c.c.kept.bytes)
	}
}

// TestAcknowledgedKeptForAnotherTab: acknowledged events stay while there
// is room, so a tab that saw less (a duplicated tab) still gets them.
func TestAcknowledgedKeptForAnotherTab(t *testing.T) {
	h := start(t, config.Chat{})
	c, s1 := h.open(t, "Ann", agentURI)
	defer c.Close()
	for i := range 3 {
		h.m.Message(reply(agentURI, gwAddr, fmt.Sprint("m", i)))
	}
	wantMessages(t, s1, 1, "m0", "m1", "m2")
	if err := c.Ack(3); err != nil {
		t.Fatal(err)
	}
	s2 := newSink()
	if _, err := h.m.Resume(c.Token(), "w1", 1, s2); err != nil {
		t.Fatal(err)
	}
	wantMessages(t, s2, 2, "m1", "m2")
}

// TestResentTextSentOnce: a widget that resends a text with the same id
// (it never saw the result) does not make the agent get it twice.
func TestResentTextSentOnce(t *testing.T) {
	h := start(t, config.Chat{})
	c, s := h.open(t, "Ann", agentURI)
	defer c.Close()
	for range 2 {
		if err := c.Send("c1", "only once"); err != nil {
			t.Fatal(err)
		}
	}
	if m := h.snd.next(t); string(m.Body) != "only once" {
		t.Fatalf("sent %q", m.Body)
	}
	if ev := s.next(t); ev.Kind != EventDelivery || ev.ClientID != "c1" {
		t.Fatalf("event %+v", ev)
	}
	if err := c.Send("c2", "next"); err != nil {
		t.Fatal(err)
	}
	if m := h.snd.next(t); string(m.Body) != "next" {
		t.Fatalf("sent %q, want the next text (the resend was not sent)", m.Body)
	}
}

func TestGraceExpiry(t *testing.T) {
	h := start(t, config.Chat{ResumeGrace: time.Minute})
	c, s := h.open(t, "Ann", agentURI)
	c.Typing(true)
	wantTyping(t, h.snd.next(t), ComposingActive)
	if code := h.m.Message(reply(agentURI, gwAddr, "never seen")); code != 200 {
		t.Fatal(code)
	}
	c.Detach()
	wantTyping(t, h.snd.next(t), ComposingIdle) // a visitor who left is not typing
	h.clk.advance(59 * time.Second)
	time.Sleep(20 * time.Millisecond) // several sweeps
	h.snd.none(t)
	h.clk.advance(time.Second)
	final := h.snd.next(t)
	if string(final.Body) != "[The visitor left the chat; your last message did not reach them.]" || final.To != agentURI || final.DisplayName != "Ann" {
		t.Errorf("final message %+v %q", final, final.Body)
	}
	if _, err := h.m.Resume(c.Token(), "w1", 0, newSink()); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("Resume after grace: %v", err)
	}
	if code := h.m.Message(reply(agentURI, gwAddr, "still there?")); code != 404 {
		t.Errorf("reply after grace answered %d, want 404", code)
	}
	if err := c.Send("x", "too late"); !errors.Is(err, ErrEnded) {
		t.Errorf("Send after grace: %v", err)
	}
	if ev := s.next(t); ev.Kind != EventMessage {
		t.Errorf("event %+v, want the message shown before the detach", ev)
	}
	s.none(t) // detached: nothing more went to the old sink
}

func TestShutdownEndsChats(t *testing.T) {
	h := start(t, config.Chat{ReplyRouting: "subaddress", MaxPerAgent: 2})
	_, s1 := h.open(t, "Ann", agentURI)
	_, s2 := h.open(t, "Bob", "sip:102@pbx.test")
	h.stop()
	seen := map[string]string{}
	for range 2 {
		m := h.snd.next(t)
		seen[m.To] = string(m.Body)
	}
	for _, to := range []string{agentURI, "sip:102@pbx.test"} {
		if seen[to] != "[The visitor left the chat: the gateway is shutting down.]" {
			t.Errorf("agent %s was told %q", to, seen[to])
		}
	}
	for _, s := range []*sink{s1, s2} {
		if ev := s.next(t); ev.Kind != EventEnded || ev.Reason != ReasonShutdown {
			t.Errorf("event %+v, want ended/shutdown", ev)
		}
	}
	if _, err := h.m.Open(Visitor{AgentURI: agentURI}, newSink()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Open after shutdown: %v", err)
	}
}
