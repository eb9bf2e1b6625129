package chat

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Context is what a visitor told of themselves besides their name, and
// where they are: the widget's form answers and the page's address. The
// widget server checks each before it comes here (a valid email address,
// a topic of one line, an http(s) address of the visitor's own site); the
// notices bound them again, since they reach a phone's screen.
type Context struct {
	Email string `json:"email,omitempty"`
	Topic string `json:"topic,omitempty"`
	Page  string `json:"page,omitempty"` // the page's URL
}

// Bounds of context lines in notices, in runes.
const (
	maxNoticeEmail = 254
	maxNoticeTopic = 100
	maxNoticePage  = 2048
)

// lines are the context lines of a notice, in a fixed order; none when
// the visitor said nothing. The topic is quoted like a name, so that it
// cannot pass for the gateway's own words.
func (x Context) lines() []string {
	var out []string
	if e := boundedLine(x.Email, maxNoticeEmail); e != "" {
		out = append(out, "Email: "+e)
	}
	if t := boundedLine(x.Topic, maxNoticeTopic); t != "" {
		out = append(out, "Topic: “"+t+"”")
	}
	if p := strings.Join(strings.Fields(cleanText(x.Page)), ""); p != "" && utf8.RuneCountInString(p) <= maxNoticePage {
		out = append(out, "Page: "+p)
	}
	return out
}

// withContext puts the context lines between a notice's first sentence
// and its last: "[New chat from “Ann” via Sales.\nEmail: …\nYour replies …]".
func withContext(first string, x Context, last string) string {
	lines := x.lines()
	if len(lines) == 0 {
		return "[" + first + " " + last + "]"
	}
	return "[" + first + "\n" + strings.Join(lines, "\n") + "\n" + last + "]"
}

// callText is the notice an agent gets just before a visitor's call rings.
func callText(v Visitor) string {
	first := "Call from " + noticeName(v.Name)
	if via := noticeLine(v.WidgetName); via != "" {
		first += " via " + via
	}
	return withContext(first+".", v.Context, "Their call rings now.")
}

// AnnounceCall tells the agent who is about to call and what they said in
// the widget's form: one MESSAGE to v.AgentURI with the visitor's name as
// display name, bounded by ctx and send_timeout. The call does not wait
// for more: an agent whose phone takes no MESSAGE still gets the call.
func (m *Manager) AnnounceCall(ctx context.Context, v Visitor) error {
	ctx, cancel := context.WithTimeout(ctx, m.config().SendTimeout)
	defer cancel()
	code, err := m.send.SendMessage(ctx, outgoingText(v.AgentURI, v.Name, callText(v)))
	if code >= 200 && code < 300 {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("status %d", code)
	}
	return fmt.Errorf("announce call to %s: %w", v.AgentURI, err)
}
