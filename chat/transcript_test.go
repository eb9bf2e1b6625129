package chat

import (
	"strings"
	"testing"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// TestTranscript: what the agent's client accepted and the agent's replies
// are in the transcript, in order, and stay there after the chat ended; a
// text that was not delivered is not.
func TestTranscript(t *testing.T) {
	h := start(t, config.Chat{})
	a, s := h.open(t, "Ann", agentURI)
	if err := a.Send("c1", "Do you ship\nto Austria?"); err != nil {
		t.Fatal(err)
	}
	h.snd.next(t)
	if ev := s.next(t); ev.Kind != EventDelivery || ev.State != DeliveryDelivered {
		t.Fatalf("delivery %+v", ev)
	}
	h.snd.setAnswer(func(sip.OutgoingMessage) (int, error) { return 480, nil })
	if err := a.Send("c2", "never arrived"); err != nil {
		t.Fatal(err)
	}
	h.snd.next(t)
	s.next(t)
	h.snd.setAnswer(nil)
	if code := h.m.Message(reply(agentURI, gwAddr, "Yes, we do!")); code != 200 {
		t.Fatalf("reply answered %d", code)
	}
	s.next(t)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	tr := a.Transcript()
	if len(tr.Lines) != 2 || tr.Lines[0].Agent || tr.Lines[0].Text != "Do you ship\nto Austria?" || !tr.Lines[1].Agent || tr.Lines[1].Text != "Yes, we do!" {
		t.Fatalf("transcript %+v", tr.Lines)
	}
	text := tr.Text("Alice [support]")
	for _, want := range []string{"Sunday, 1 March 2026 (UTC)\n\n12:00  Ann: Do you ship\n        to Austria?\n", "12:00  Alice support: Yes, we do!\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript text lacks %q:\n%s", want, text)
		}
	}
}

func TestTranscriptBounded(t *testing.T) {
	c := &Conversation{}
	for range maxTranscriptLines + 5 {
		c.noteLocked(false, "x", newClock().Now())
	}
	big := strings.Repeat("y", maxTranscriptBytes)
	c.noteLocked(true, big, newClock().Now())
	if len(c.transcript) != maxTranscriptLines || c.transcriptDropped != 6 {
		t.Errorf("%d lines kept, %d dropped", len(c.transcript), c.transcriptDropped)
	}
	if !strings.Contains(Transcript{Lines: c.transcript, Dropped: c.transcriptDropped}.Text(""), "(6 more messages are not included.)") {
		t.Error("the dropped messages are not said")
	}
}
