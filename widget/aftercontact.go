package widget

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/mailer"
)

// After a call or chat (docs/protocol.md "After the contact"): the visitor
// may rate it once (Rate), and have a chat's transcript mailed to them
// (SendTranscript) with their consent, once. Both concern the session's
// last contact that ended; nothing else can be rated or mailed.

const (
	// maxCommentRunes bounds a rating's comment; maxCommentBytes bounds it
	// as sent (bad-json beyond).
	maxCommentRunes = 1000
	maxCommentBytes = 8 << 10
	// transcriptTimeout bounds mailing one transcript.
	transcriptTimeout = 2 * time.Minute
)

// Mailer sends mail through the configured server; mailer.SMTP does.
type Mailer interface {
	Send(ctx context.Context, cfg *config.SMTP, m mailer.Message) error
}

// afterContact is the session's last call or chat that ended.
type afterContact struct {
	kind       string // "call" or "chat"
	widgetID   string
	agent      string // the agent's id
	visitor    chat.Visitor
	transcript *chat.Transcript // chats only
	rated      bool
	mailing    bool // a transcript is on its way, or went
}

// callEnded keeps an answered call for Rate.
func (s *session) callEnded(cs *callState) {
	if !cs.connected {
		return
	}
	v := chat.Visitor{Name: cs.name, WidgetID: s.widgetID, AgentID: cs.agent.ID}
	if cs.context.notice != nil {
		v.Context = cs.context.notice.Context
	}
	s.after = &afterContact{kind: "call", widgetID: s.widgetID, agent: cs.agent.ID, visitor: v}
}

// chatEnded keeps an ended chat for Rate and SendTranscript.
func (s *session) chatEnded(st *chatState) {
	if st == nil {
		return
	}
	tr := st.att.Transcript()
	s.after = &afterContact{kind: "chat", widgetID: s.widgetID, agent: st.agentID, visitor: tr.Visitor, transcript: &tr}
}

// handleAfter serves Rate and SendTranscript.
func (s *session) handleAfter(m inbound) (ErrorCode, error) {
	w := s.srv.state.Load().cfg.Widget(s.widgetID)
	if w == nil {
		return CodeWidgetRemoved, errors.New("the widget was removed")
	}
	if m.MT == mtRate {
		return CodeUnknown, s.writeJSON(s.rate(w, m))
	}
	return s.sendTranscript(w, m)
}

// rate posts the visitor's rating of their last contact to the widget's
// webhook and counts it.
func (s *session) rate(w *config.Widget, m inbound) ratedMsg {
	res := ratedMsg{MT: mtRated, ID: m.ID}
	a := s.after
	switch {
	case !w.Rating || w.Fallback == nil || w.Fallback.Webhook == nil:
		res.Reason = "not-asked"
	case a == nil || a.rated || a.widgetID != w.ID:
		res.Reason = "nothing-to-rate"
	case utf8.RuneCountInString(m.Comment) > maxCommentRunes:
		res.Reason = "too-long"
	case s.srv.opts.Chat == nil:
		res.Reason = "failed"
	}
	if res.Reason != "" {
		return res
	}
	x := a.visitor.Context
	err := s.srv.opts.Chat.PostRating(w.Fallback.Webhook, chat.RatingJSON{
		Widget: w.ID, WidgetName: w.Name, Contact: a.kind, Agent: a.agent, Score: m.Score,
		Comment: strings.TrimSpace(m.Comment), Name: a.visitor.Name, Email: x.Email, Topic: x.Topic, Page: x.Page,
	})
	if err != nil {
		s.srv.log.Warn("rating not taken", "session", s.label, "err", err)
		res.Reason = "failed"
		return res
	}
	a.rated = true
	s.srv.ratings.add(w.ID, m.Score)
	res.OK = true
	return res
}

// sendTranscript mails the last chat's transcript to the address the
// visitor gave, in the background; TranscriptSent follows.
func (s *session) sendTranscript(w *config.Widget, m inbound) (ErrorCode, error) {
	cfg := s.srv.state.Load().cfg
	a := s.after
	answer := func(reason string) (ErrorCode, error) {
		return CodeUnknown, s.writeJSON(transcriptSentMsg{MT: mtTranscriptSent, ID: m.ID, Reason: reason})
	}
	email := strings.TrimSpace(m.Email)
	switch {
	case !w.Transcript || cfg.SMTP == nil:
		return answer("not-offered")
	case a == nil || a.kind != "chat" || a.widgetID != w.ID || len(a.transcript.Lines) == 0:
		return answer("no-chat")
	case !m.Consent:
		return answer("no-consent")
	case !chat.ValidEmail(email):
		return answer("bad-contact")
	case a.mailing:
		return answer("rate-limited")
	}
	if code, err := s.allowContact("transcripts", cfg.Limits.Transcripts, strings.ToLower(email)); code != CodeUnknown {
		return code, err
	}
	a.mailing = true
	msg := transcriptMail(s.srv.cat.strings(w, s.lang), w, s.agentName(w, a.agent), email, *a.transcript)
	smtpCfg, id, send := cfg.SMTP, m.ID, s.srv.opts.Mail
	s.srv.wg.Add(1)
	go func() {
		defer s.srv.wg.Done()
		ctx, cancel := context.WithTimeout(s.srv.ctx, transcriptTimeout)
		defer cancel()
		err := send.Send(ctx, smtpCfg, msg)
		if err != nil {
			s.srv.log.Warn("transcript not sent", "session", s.label, "widget", w.ID, "err", err)
		} else {
			s.srv.log.Info("transcript sent", "session", s.label, "widget", w.ID)
		}
		s.mail.post(func() error {
			res := transcriptSentMsg{MT: mtTranscriptSent, ID: id, OK: err == nil}
			if err != nil {
				res.Reason = "failed"
			}
			return s.writeJSON(res)
		})
	}()
	return CodeUnknown, nil
}

// agentName is the name the widget shows for agent id.
func (s *session) agentName(w *config.Widget, id string) string {
	for _, a := range w.Agents {
		if a.ID == id {
			return a.Name
		}
	}
	return id
}

// transcriptMail is the mail of a chat's transcript in the session's
// language (strings).
func transcriptMail(strs map[string]string, w *config.Widget, agent, to string, tr chat.Transcript) mailer.Message {
	fill := func(key, name, value string) string { return strings.ReplaceAll(strs[key], "{"+name+"}", value) }
	intro := fill("transcriptIntro", "site", w.Name)
	if p := tr.Visitor.Context.Page; p != "" {
		intro += "\n" + p
	}
	return mailer.Message{
		To:      to,
		Subject: fill("transcriptSubject", "name", agent) + " – " + w.Name,
		Body:    intro + "\n\n" + tr.Text(agent),
	}
}

// ratingCounts counts ratings per widget and score, for
// frontdesk_ratings_total{widget,score}: widget ids come from the config,
// scores are 1 to 5, so the labels stay few.
type ratingCounts struct {
	mu sync.Mutex
	n  map[string]*[5]uint64
}

func (r *ratingCounts) add(widget string, score int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]*[5]uint64{}
	}
	c := r.n[widget]
	if c == nil {
		c = new([5]uint64)
		r.n[widget] = c
	}
	c[score-1]++
}

// Ratings returns how many ratings of each score (index 0: score 1) each
// widget got since the gateway started.
func (s *Server) Ratings() map[string][5]uint64 {
	s.ratings.mu.Lock()
	defer s.ratings.mu.Unlock()
	out := make(map[string][5]uint64, len(s.ratings.n))
	for w, c := range s.ratings.n {
		out[w] = *c
	}
	return out
}

var _ Mailer = mailer.SMTP{}
