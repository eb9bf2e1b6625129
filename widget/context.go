package widget

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// What an agent learns of a visitor besides their name (README "Context
// for the agent"): the answers of the widget's form, checked against it,
// and the page the visitor is on, checked against the session's origin.
// They reach SIP headers and phone screens, so each leaves here as one
// bounded line.

const (
	maxTypedTopic = 100  // runes of a topic the visitor typed
	maxPageURL    = 2048 // bytes of a page address, as sent and as passed on
	maxSubject    = 200  // runes of a call's Subject
	// announceTimeout bounds the call notice the INVITE waits for.
	announceTimeout = 2 * time.Second
)

// contactContext checks the form answers and the page a CreateCall,
// ChatOpen or LeaveMessage carries. With strict (calls and chats) a
// required answer that is missing, an email that is none or a topic not
// offered is refused with CodeBadForm; without (left messages, whose own
// fields count) what does not pass is dropped.
func (s *session) contactContext(w *config.Widget, m inbound, strict bool) (chat.Context, ErrorCode, error) {
	var x chat.Context
	f := w.Form
	if f.Email.Asked() {
		e := strings.TrimSpace(m.Email)
		switch {
		case e == "" && f.Email == config.FormRequired && strict:
			return x, CodeBadForm, refusal("this widget's form needs an email address")
		case e != "" && !chat.ValidEmail(e):
			if strict {
				return x, CodeBadForm, refusal("the form's email is not an email address")
			}
		default:
			x.Email = e
		}
	}
	if f.Topic.Asked() {
		t := oneLine(m.Topic)
		switch {
		case t == "" && f.Topic == config.FormRequired && strict:
			return x, CodeBadForm, refusal("this widget's form needs a topic")
		case t != "" && len(f.Topics) > 0 && !slices.Contains(f.Topics, t),
			utf8.RuneCountInString(t) > maxTypedTopic:
			if strict {
				return x, CodeBadForm, refusal("the form's topic is not one this widget offers, or longer than %d characters", maxTypedTopic)
			}
		default:
			x.Topic = t
		}
	}
	x.Page = pageURL(m.Page, s.origin, w.SendPageURL)
	return x, CodeUnknown, nil
}

// pageURL is the page address a widget sent, as much of it as mode
// passes on, or "" when it is not an http(s) address of origin (the page
// the browser says the session comes from) or too long. Credentials and
// the fragment never pass; the query only with mode full, re-encoded.
func pageURL(raw, origin string, mode config.PageURL) string {
	if mode != config.PageURLPath && mode != config.PageURLFull || raw == "" || len(raw) > maxPageURL {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return ""
	}
	if o := normalizeOrigin(origin); o == "" || originOf(u.Scheme+"://"+u.Host) != o {
		return ""
	}
	u.User, u.Fragment, u.RawFragment = nil, "", ""
	if mode == config.PageURLFull {
		u.RawQuery = u.Query().Encode()
	} else {
		u.RawQuery, u.ForceQuery = "", false
	}
	out := u.String()
	if len(out) > maxPageURL || strings.ContainsAny(out, "<>\"' \\^`{|}") || strings.IndexFunc(out, unicode.IsControl) >= 0 {
		return ""
	}
	return out
}

// oneLine makes visitor text one line: control and format characters
// dropped, white space collapsed, trimmed.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r) || r == '\u2028' || r == '\u2029':
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.Join(strings.Fields(s), " ")
}

// callContext is what a call tells the agent besides the caller's name:
// the INVITE's headers and, when the visitor answered more than the name,
// a notice just before it.
type callContext struct {
	headers []sip.Header
	notice  *chat.Visitor // nil: no notice
}

func newCallContext(w *config.Widget, a *config.Agent, name string, x chat.Context) callContext {
	subject := w.Name
	if x.Topic != "" {
		subject += ": " + x.Topic
	}
	var cc callContext
	if line := oneLine(subject); line != "" {
		if utf8.RuneCountInString(line) > maxSubject {
			line = strings.TrimSpace(string([]rune(line)[:maxSubject]))
		}
		cc.headers = append(cc.headers, sip.Header{Name: "Subject", Value: line})
	}
	if x.Page != "" {
		cc.headers = append(cc.headers, sip.Header{Name: "Call-Info", Value: "<" + x.Page + ">;purpose=info"})
	}
	if w.AlertInfo != "" {
		cc.headers = append(cc.headers, sip.Header{Name: "Alert-Info", Value: w.AlertInfo})
	}
	if x.Email != "" || x.Topic != "" {
		cc.notice = &chat.Visitor{Name: name, WidgetID: w.ID, WidgetName: w.Name, AgentID: a.ID, AgentURI: a.URI, Context: x}
	}
	return cc
}

// announceCall sends the call's notice to the agent, if it has one, and
// waits for its answer at most announceTimeout: the call goes on either
// way.
func (s *session) announceCall(cc callContext) {
	mgr := s.srv.opts.Chat
	if cc.notice == nil || mgr == nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.srv.ctx, announceTimeout)
	defer cancel()
	if err := mgr.AnnounceCall(ctx, *cc.notice); err != nil {
		s.srv.log.Info("call notice not delivered", "session", s.label, "agent", cc.notice.AgentID, "err", err)
	}
}
