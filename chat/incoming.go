package chat

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/frontdesk-gw/frontdesk/sip"
)

// SIP statuses Message answers with.
const (
	statusOK          = 200 // shown to the visitor
	statusAccepted    = 202 // buffered for a visitor who is reconnecting (RFC 3428 store-and-forward)
	statusBadRequest  = 400 // an isComposing document that cannot be read
	statusForbidden   = 403 // the sender is not the agent of that chat
	statusNoChat      = 404 // no live chat: ended, expired or never existed
	statusUnsupported = 415
	statusAway        = 480 // the chat keeps as much unconfirmed as it may
	statusHeld        = 480 // a reply in the hand-over: shown to nobody, the agent is told
)

// Message routes a MESSAGE from the PBX to its chat and returns the SIP
// status (it implements sip.MessageHandler). A MESSAGE addressed to a
// subaddress (To user, else Request-URI user, "username+chatid") belongs to
// that chat and must come from its agent; any other MESSAGE belongs to the
// one "agent"-routed chat of its sender. Nothing is ever delivered to a
// chat whose agent did not send it.
func (m *Manager) Message(in sip.IncomingMessage) int {
	return m.once(in, func() int { return m.message(in, true) })
}

// MessageForwarded is Message for a MESSAGE another node of the cluster
// received and forwarded here, to the chat's holder: it is not forwarded
// again. It does not wait for this node's own copy (once): while a chat
// moves, two nodes may each take the other for the holder and forward
// their copies to each other. The chat's answered replies (replies.go)
// tell the copies apart.
func (m *Manager) MessageForwarded(in sip.IncomingMessage) int {
	return m.message(in, false)
}

// routeTries bounds how often one MESSAGE looks for its chat: a chat that
// moves to another node while the MESSAGE is on its way is looked for
// again where it went.
const routeTries = 3

func (m *Manager) message(in sip.IncomingMessage, mayForward bool) int {
	from := normalizeAOR(in.From)
	code := statusElsewhere
	for range routeTries {
		var c *Conversation
		var again bool
		c, code = m.route(from, in)
		if c == nil && code == statusNoChat && m.shared != nil {
			c, code, again = m.routeShared(from, in, mayForward)
		}
		switch {
		case again:
			continue
		case c == nil:
			m.log.Info("chat message from the PBX refused", "from", from, "to", in.To, "ruri", in.RequestURI, "code", code)
			return code
		}
		if code = m.deliver(c, in); code != statusMoved {
			return code
		}
		// Handed to another node while this MESSAGE waited for the chat.
		code = statusElsewhere
	}
	return code
}

// deliver hands an agent's MESSAGE to its chat.
func (m *Manager) deliver(c *Conversation, in sip.IncomingMessage) int {
	now := m.now()
	switch in.ContentType {
	case sip.ContentTypeText:
		return c.fromAgent(strings.TrimRight(cleanText(string(in.Body)), "\n"), now, replyKey(in))
	case sip.ContentTypeIsComposing:
		ic, err := ParseIsComposing(in.Body)
		if err != nil {
			m.log.Debug("chat isComposing unreadable", "chat", c.id, "error", err)
			return statusBadRequest
		}
		c.agentTyping(ic, now)
		return statusOK
	}
	return statusUnsupported
}

func (m *Manager) route(from string, in sip.IncomingMessage) (*Conversation, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id := m.subaddress(in.To); id != "" || m.subaddress(in.RequestURI) != "" {
		if id == "" {
			id = m.subaddress(in.RequestURI)
		}
		c := m.byID[id]
		switch {
		case c == nil:
			return nil, statusNoChat
		case c.agent != from:
			m.log.Warn("chat reply from someone who is not the chat's agent refused", "chat", id, "from", from)
			return nil, statusForbidden
		}
		return c, 0
	}
	for _, c := range m.byAgent[from] {
		if c.mode == routingAgent {
			return c, 0 // at most one: Open keeps agent-routed chats exclusive
		}
	}
	if len(m.byAgent[from]) > 0 {
		m.log.Warn("chat reply without a chat id: check the PBX's subaddress routing", "from", from, "to", in.To, "ruri", in.RequestURI)
	} else if m.shared == nil {
		m.tellLateLocked(from, in) // in a cluster only once no node holds a chat (routeShared)
	}
	return nil, statusNoChat
}

// tellLateLocked tells the agent whose chat here ended recently that their
// reply reached nobody. The caller holds m.mu.
func (m *Manager) tellLateLocked(from string, in sip.IncomingMessage) {
	if c := m.ended[from]; c != nil && c.recentAt(m.now()) && in.ContentType == sip.ContentTypeText {
		m.tellEndedLocked(c)
	}
}

// statusElsewhere answers a MESSAGE for a chat another node holds: the PBX
// forked it to every node, and the holder's own answer is the one that
// counts (a proxy forwards a 2xx at once and prefers 4xx over 5xx).
const statusElsewhere = 500

// statusMoved is fromAgent's answer when the chat was handed to another
// node while the MESSAGE waited for it; never sent to the PBX.
const statusMoved = -1

// routeShared finds a reply's chat in the cluster when this node does not
// hold it: another live node does (that node answers), or nobody does and
// this node takes it over. again: the node it was forwarded to no longer
// held the chat; look for it once more.
//
// A live holder got the MESSAGE too when the PBX forks it to every node
// (Kamailio); a PBX that sends it to one contact only (Asterisk) needs it
// forwarded: it is, and the holder answers each MESSAGE once however many
// copies reach it (replies.go).
func (m *Manager) routeShared(from string, in sip.IncomingMessage, mayForward bool) (c *Conversation, code int, again bool) {
	id := m.subaddress(in.To)
	if id == "" {
		id = m.subaddress(in.RequestURI)
	}
	agent := ""
	if id == "" {
		agent = from
	}
	if id != "" {
		// (With agent routing the id is known only once the engine looked
		// it up; a node that takes the chat meanwhile makes this one's save
		// fail, and the reply then follows the chat: statusMoved.)
		done := m.takingChat(id)
		defer done()
	}
	rec, err := m.shared.TakeForReply(id, agent)
	switch {
	case errors.Is(err, ErrHeldElsewhere) && mayForward && rec.Owner != "" && rec.Owner != m.node:
		code, ferr := m.shared.Forward(rec.Owner, in)
		if ferr != nil {
			m.log.Info("chat reply not forwarded to the chat's node", "chat", rec.ID, "node", rec.Owner, "err", ferr)
			return nil, statusElsewhere, false
		}
		return nil, code, code == statusElsewhere
	case errors.Is(err, ErrHeldElsewhere):
		return nil, statusElsewhere, false
	case err != nil:
		if id == "" {
			m.mu.Lock()
			m.tellLateLocked(from, in)
			m.mu.Unlock()
		}
		return nil, statusNoChat, false
	case rec.Agent != from:
		m.log.Warn("chat reply from someone who is not the chat's agent refused", "chat", rec.ID, "from", from)
		return nil, statusForbidden, false
	case rec.Mode == routingAgent && id != "":
		return nil, statusNoChat, false
	}
	c, err = m.adopt(rec)
	if err != nil {
		return nil, statusNoChat, false
	}
	return c, 0, false
}

// subaddress is the chat id in a "username+chatid@host" address, or "".
func (m *Manager) subaddress(uri string) string {
	user := userOf(uri)
	if m.user == "" || !strings.HasPrefix(user, m.user+"+") {
		return ""
	}
	return user[len(m.user)+1:]
}

// fromAgent shows an agent's text and keeps it until the widget confirms
// it; see the package doc for the status it returns. key identifies the
// MESSAGE (replyKey): a copy of one the chat answered, here or on the node
// that held it before, gets the same answer and is not shown again.
func (c *Conversation) fromAgent(text string, now time.Time, key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.released:
		return statusMoved
	case c.ended:
		return statusNoChat
	}
	if code := c.answeredLocked(key); code != 0 {
		return code
	}
	code := c.takeReplyLocked(text, now, key)
	if c.released {
		// Another node took the chat over while this one saved the reply:
		// it was neither kept nor shown here.
		return statusMoved
	}
	return code
}

// takeReplyLocked is fromAgent for a reply the chat has not answered yet.
// The caller holds c.mu.
func (c *Conversation) takeReplyLocked(text string, now time.Time, key string) int {
	switch {
	case !c.takesRepliesLocked(now):
		code := c.refuseHeldLocked(now)
		c.answerLocked(key, code)
		return code
	case strings.TrimSpace(text) == "":
		return statusOK // nothing to show
	case !c.kept.roomFor(len(text), c.inflight):
		c.m.log.Warn("chat agent message refused: the visitor's widget has not confirmed earlier ones",
			"chat", c.id, "unconfirmed", c.kept.unacked(), "attached", c.sink != nil)
		c.answerLocked(key, statusAway)
		return statusAway
	}
	code := statusAccepted
	if c.sink != nil {
		code = statusOK
	}
	c.answerLocked(key, code) // saved with the event
	c.n++
	c.agentTypingUntil = time.Time{} // a message ends the composing state
	c.emitLocked(Event{Kind: EventMessage, ID: fmt.Sprintf("%s-a%d", c.id, c.n), Text: text, Time: now})
	return code
}

func (c *Conversation) agentTyping(ic IsComposing, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || !c.takesRepliesLocked(now) {
		return // typing in the hand-over may be for the previous visitor
	}
	active := ic.State == ComposingActive
	if active {
		d := ic.Refresh
		if d <= 0 {
			d = c.m.tm.agentTypingIdle
		}
		c.agentTypingUntil = now.Add(d)
	} else {
		c.agentTypingUntil = time.Time{}
	}
	c.emitLocked(Event{Kind: EventTyping, Time: now, Active: active})
}
