package chat

import (
	"fmt"
	"strings"
	"time"
)

// A chat keeps its transcript for the visitor who asks for it by email:
// the texts the agent's client accepted and the agent's replies that
// reached the chat, in order, bounded. It travels with the chat in a
// cluster (Record.Transcript).
const (
	maxTranscriptLines = 500
	maxTranscriptBytes = 64 << 10
)

// TranscriptLine is one message of a chat.
type TranscriptLine struct {
	Agent bool      `json:"agent,omitempty"` // from the agent, else from the visitor
	Text  string    `json:"text"`
	Time  time.Time `json:"time"`
}

// Transcript is a chat as the visitor may get it.
type Transcript struct {
	Visitor Visitor
	Lines   []TranscriptLine
	// Dropped counts the messages beyond the bounds, left out.
	Dropped int
}

// noteLocked adds a message to c's transcript. The caller holds c.mu.
func (c *Conversation) noteLocked(agent bool, text string, at time.Time) {
	if len(c.transcript) >= maxTranscriptLines || c.transcriptBytes+len(text) > maxTranscriptBytes {
		c.transcriptDropped++
		return
	}
	c.transcript = append(c.transcript, TranscriptLine{Agent: agent, Text: text, Time: at})
	c.transcriptBytes += len(text)
}

// Transcript returns the chat's transcript so far; it stays readable after
// the chat ended.
func (a *Attachment) Transcript() Transcript {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return Transcript{Visitor: c.visitor, Lines: append([]TranscriptLine(nil), c.transcript...), Dropped: c.transcriptDropped}
}

// Text is the transcript as a plain-text mail body: who said what and
// when (UTC), agentName for the agent's lines.
func (t Transcript) Text(agentName string) string {
	var b strings.Builder
	you := noticeLine(t.Visitor.Name)
	if you == "" {
		you = "You"
	}
	agent := noticeLine(agentName)
	if agent == "" {
		agent = "Agent"
	}
	day := ""
	for _, l := range t.Lines {
		at := l.Time.UTC()
		if d := at.Format("Monday, 2 January 2006"); d != day {
			day = d
			fmt.Fprintf(&b, "\n%s (UTC)\n\n", d)
		}
		who := you
		if l.Agent {
			who = agent
		}
		text := strings.ReplaceAll(cleanText(l.Text), "\n", "\n        ")
		fmt.Fprintf(&b, "%s  %s: %s\n", at.Format("15:04"), who, text)
	}
	if t.Dropped > 0 {
		fmt.Fprintf(&b, "\n(%d more messages are not included.)\n", t.Dropped)
	}
	return strings.TrimLeft(b.String(), "\n")
}
