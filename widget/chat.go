package widget

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
)

// leaveTimeout bounds delivering one left message (retries included).
const leaveTimeout = 2 * time.Minute

// chatState is a session's open chat.
type chatState struct {
	att     *chat.Attachment
	agentID string
}

// chatSink hands a chat's events to its session. Deliver never blocks. att
// is set and read only on the session goroutine (events run there).
type chatSink struct {
	s   *session
	att *chat.Attachment // the attachment this sink was made for
}

func (k *chatSink) Deliver(ev chat.Event) {
	k.s.mail.post(func() error { return k.s.chatEvent(k, ev) })
}

// handleChat serves the chat messages of the Widget-API.
func (s *session) handleChat(m inbound) (ErrorCode, error) {
	mgr := s.srv.opts.Chat
	if mgr == nil {
		return CodeMediumNotAllowed, errors.New("chat is not enabled on this gateway")
	}
	switch m.MT {
	case mtChatOpen:
		return s.chatOpen(mgr, m)
	case mtChatResume:
		return s.chatResume(mgr, m)
	case mtLeaveMsg:
		return s.leaveMessage(mgr, m)
	}
	if s.chat == nil {
		return CodeNoChat, fmt.Errorf("%s without an open chat", m.MT)
	}
	att := s.chat.att
	switch m.MT {
	case mtChatSend:
		if err := att.Send(m.ID, m.Text); err != nil {
			return CodeUnknown, s.writeJSON(chatDeliveryMsg{MT: mtChatDelivery, ID: m.ID,
				State: string(chat.DeliveryFailed), Reason: string(chat.ReasonOf(err))})
		}
	case mtChatTyping:
		att.Typing(*m.Active)
	case mtChatAck:
		if errors.Is(att.Ack(m.Seq), chat.ErrMoved) {
			return CodeUnknown, s.chatMoved()
		}
	case mtChatClose:
		st := s.chat
		s.chat = nil
		s.srv.lines.wake() // the agent may be free for someone waiting
		if errors.Is(att.Close(), chat.ErrMoved) {
			return CodeUnknown, s.writeJSON(chatEndedMsg{MT: mtChatEnded, Reason: "moved"})
		}
		s.chatEnded(st)
		return CodeUnknown, s.writeJSON(chatEndedMsg{MT: mtChatEnded, Reason: "ended-by-visitor"})
	}
	return CodeUnknown, nil
}

func (s *session) chatOpen(mgr *chat.Manager, m inbound) (ErrorCode, error) {
	if s.chat != nil {
		return CodeChatInProgress, errors.New("a chat is already open")
	}
	w, a, code, err := s.chatAgent(mgr, m.Dest)
	if code != CodeUnknown {
		return code, err
	}
	x, code, err := s.contactContext(w, m, true)
	if code != CodeUnknown {
		return code, err
	}
	if code, err := s.allowContact("chats", s.srv.state.Load().cfg.Limits.Chats, a.URI); code != CodeUnknown {
		return code, err
	}
	sink := &chatSink{s: s}
	att, err := mgr.Open(chat.Visitor{
		Name:       s.visitorName(w, m.DN),
		WidgetID:   w.ID,
		WidgetName: w.Name,
		AgentID:    a.ID,
		AgentURI:   a.URI,
		Session:    s.label,
		Context:    x,
	}, sink)
	if errors.Is(err, chat.ErrAgentBusy) {
		return CodeAgentBusy, err
	}
	if err != nil {
		return CodeAgentUnavailable, fmt.Errorf("open chat: %w", err)
	}
	sink.att = att
	s.chat = &chatState{att: att, agentID: a.ID}
	s.endWait() // the chat it waited for, if any
	return CodeUnknown, s.writeJSON(chatOpenedMsg{MT: mtChatOpened, Dest: a.ID, Token: att.Token()})
}

// chatAgent is the agent a ChatOpen to dest reaches: the agent, or for a
// group the first member (in its order) free to chat now.
func (s *session) chatAgent(mgr *chat.Manager, dest string) (*config.Widget, *config.Agent, ErrorCode, error) {
	cfg := s.srv.state.Load().cfg
	w := cfg.Widget(s.widgetID)
	g := (*huntGroup)(nil)
	if w != nil {
		g = groupOf(w, dest, cfg.Calls)
	}
	if g == nil {
		return s.reachableAgent(dest, config.MediumChat)
	}
	members := append([]string(nil), g.members...)
	if g.random {
		rand.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	}
	code := CodeAgentUnavailable
	for _, id := range members {
		a := agentByID(w, id)
		if a == nil || !s.reachable(w, a, config.MediumChat) {
			continue
		}
		if mgr.AgentBusy(a.URI) || s.srv.calls.count(a.URI) > 0 {
			code = CodeAgentBusy // there, but in another conversation
			continue
		}
		return w, a, CodeUnknown, nil
	}
	return nil, nil, code, fmt.Errorf("nobody in group %s is free to chat", g.id)
}

// chatResume takes the chat over: the widget session that held it is told
// (ChatEnded "moved"), and what this widget has not seen is replayed.
func (s *session) chatResume(mgr *chat.Manager, m inbound) (ErrorCode, error) {
	if s.chat != nil {
		return CodeChatInProgress, errors.New("a chat is already open")
	}
	sink := &chatSink{s: s}
	// Replayed events are posted during Resume; they run after this
	// handler, so ChatOpened goes first.
	att, err := mgr.Resume(m.Token, s.widgetID, m.Seq, sink)
	if err != nil {
		return CodeChatExpired, fmt.Errorf("resume chat: %w", err)
	}
	sink.att = att
	agentID := att.Visitor().AgentID
	s.chat = &chatState{att: att, agentID: agentID}
	return CodeUnknown, s.writeJSON(chatOpenedMsg{MT: mtChatOpened, Dest: agentID, Token: att.Token(), Resumed: true})
}

// chatMoved ends this session's hold on its chat, which went on elsewhere.
func (s *session) chatMoved() error {
	s.chat = nil
	return s.writeJSON(chatEndedMsg{MT: mtChatEnded, Reason: "moved"})
}

// chatEvent writes one chat event, if the chat is still this session's.
func (s *session) chatEvent(k *chatSink, ev chat.Event) error {
	if s.chat == nil || s.chat.att != k.att {
		return nil // a chat this session closed or never had
	}
	switch ev.Kind {
	case chat.EventMessage:
		return s.writeJSON(chatMessageMsg{MT: mtChatMessage, ID: ev.ID, Text: ev.Text,
			Time: ev.Time.UTC().Format(time.RFC3339), Seq: ev.Seq})
	case chat.EventDelivery:
		return s.writeJSON(chatDeliveryMsg{MT: mtChatDelivery, ID: ev.ClientID, State: string(ev.State),
			Reason: string(ev.Reason), Seq: ev.Seq})
	case chat.EventTyping:
		return s.writeJSON(chatTypingMsg{MT: mtChatTyping, Active: ev.Active})
	case chat.EventMoved:
		return s.chatMoved()
	case chat.EventEnded:
		s.chatEnded(s.chat)
		s.chat = nil
		s.srv.lines.wake()
		reason := "agent-unavailable"
		if ev.Reason == chat.ReasonShutdown {
			reason = "shutting-down"
		}
		return s.writeJSON(chatEndedMsg{MT: mtChatEnded, Reason: reason})
	}
	return nil
}

// leaveMessage hands a left message to the widget's fallback in the
// background; MessageLeft follows.
func (s *session) leaveMessage(mgr *chat.Manager, m inbound) (ErrorCode, error) {
	w := s.srv.state.Load().cfg.Widget(s.widgetID)
	if w == nil {
		return CodeWidgetRemoved, errors.New("the widget was removed")
	}
	if w.Fallback == nil {
		return CodeNoFallback, errors.New("this widget has no fallback for messages")
	}
	if s.leaving {
		return CodeUnknown, s.writeJSON(messageLeftMsg{MT: mtMessageLeft, ID: m.ID, Reason: string(chat.ReasonRateLimited)})
	}
	if code, err := s.allowContact("messages", s.srv.state.Load().cfg.Limits.MessagesLeft, w.Fallback.URI); code != CodeUnknown {
		return code, err
	}
	s.leaving = true
	fallback, widgetID, id := w.Fallback, w.ID, m.ID
	x, _, _ := s.contactContext(w, m, false)
	msg := chat.LeftMessage{Name: s.visitorName(w, m.Name), Contact: m.Contact, Text: m.Text, WidgetName: w.Name, Context: x}
	s.srv.wg.Add(1)
	go func() {
		defer s.srv.wg.Done()
		ctx, cancel := context.WithTimeout(s.srv.ctx, leaveTimeout)
		defer cancel()
		err := mgr.LeaveMessage(ctx, fallback, widgetID, msg)
		s.mail.post(func() error {
			s.leaving = false
			res := messageLeftMsg{MT: mtMessageLeft, ID: id, OK: err == nil}
			if err != nil {
				res.Reason = string(chat.ReasonOf(err))
				if res.Reason == "" {
					res.Reason = "failed"
				}
			}
			return s.writeJSON(res)
		})
	}()
	return CodeUnknown, nil
}

// visitorName is the name the agent sees: the widget's fixed caller name, or
// what the visitor typed.
func (s *session) visitorName(w *config.Widget, typed string) string {
	if w.CallerName != "" {
		return w.CallerName
	}
	return strings.TrimSpace(typed)
}

// reachableAgent finds agent id in the session's widget and checks that it
// takes medium and is available now. Nothing a visitor sends is used beyond
// this lookup: the SIP address comes from the config.
func (s *session) reachableAgent(id string, medium config.Medium) (*config.Widget, *config.Agent, ErrorCode, error) {
	w := s.srv.state.Load().cfg.Widget(s.widgetID)
	if w == nil {
		return nil, nil, CodeWidgetRemoved, errors.New("the widget was removed")
	}
	for i := range w.Agents {
		a := &w.Agents[i]
		if a.ID != id {
			continue
		}
		takes := false
		for _, md := range a.Media {
			takes = takes || md == medium
		}
		if !takes {
			return nil, nil, CodeMediumNotAllowed, fmt.Errorf("agent %s does not take %s", a.ID, medium)
		}
		if s.srv.agentState(w, a, s.srv.opts.Now()).presence != presence.Available {
			return nil, nil, CodeAgentUnavailable, fmt.Errorf("agent %s is not available", a.ID)
		}
		if code, err := s.mayReach(a); code != CodeUnknown {
			return nil, nil, code, err
		}
		return w, a, CodeUnknown, nil
	}
	return nil, nil, CodeUnknownAgent, fmt.Errorf("no agent %q in this widget", truncate(id, 64))
}

// endFeatures ends the session's call and detaches its chat (which can be
// resumed for the grace period) when the session ends.
func (s *session) endFeatures(code ErrorCode) {
	s.endWait()
	if s.chat != nil {
		s.chat.att.Detach()
		s.chat = nil
	}
	s.endCall(code)
}
