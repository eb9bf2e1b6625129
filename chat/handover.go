package chat

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The hand-over between two chats of one agent.
//
// With "agent" routing a reply is matched by its sender alone, so the
// moment one chat ends and the agent's next one begins is ambiguous: a
// reply typed for the visitor who just left could reach the next one. The
// gateway makes the boundary plain on the agent's phone and refuses what
// falls into it:
//
//   - Each chat's first MESSAGE to the agent is a notice naming the visitor
//     and the widget, and the visitor's texts are sent only after the
//     agent's client accepted it. Each chat ends with an end notice. When the
//     agent's previous chat ended less than recentWindow ago, the new notice
//     waits until that chat's end notice was answered, so they arrive in
//     order.
//   - A reply is shown only after the agent's client accepted the new-chat
//     notice and, when the agent's previous chat ended less than
//     recentWindow ago, chat.handover more has passed: by then the agent has
//     had the end and start notices on screen. An earlier reply is refused
//     (480, shown to nobody) and the agent is told so and asked to send it
//     again if it was meant for the new visitor.
//   - A reply after a chat ended, with no new chat, is refused (404) and,
//     within recentWindow of the end, the agent is told nobody saw it.
//
// With "subaddress" routing each chat has its own address, so none of this
// ambiguity exists; the notices are sent all the same.
const (
	// recentWindow is how long after a chat's end its agent counts as just
	// having chatted.
	recentWindow = 5 * time.Minute
	// maxRefusals bounds the refusal notices the agent gets per chat.
	maxRefusals = 3
	// maxNoticeName bounds the visitor's name in notices.
	maxNoticeName = 60
)

// recentAt reports whether c ended less than recentWindow before now. The
// caller holds Manager.mu.
func (c *Conversation) recentAt(now time.Time) bool {
	return !c.endedAt.IsZero() && now.Sub(c.endedAt) < recentWindow
}

// takesRepliesLocked reports whether the agent's messages may reach the
// visitor now; see the hand-over rules above.
func (c *Conversation) takesRepliesLocked(now time.Time) bool {
	if c.mode != routingAgent {
		return true // the reply came to this chat's own address
	}
	return !c.noticeAt.IsZero() && !now.Before(c.noticeAt.Add(c.hold))
}

// startText is the new-chat notice, with what the visitor said in the
// widget's form and the page they are on (Context).
func (c *Conversation) startText() string {
	who, via := noticeName(c.visitor.Name), noticeLine(c.visitor.WidgetName)
	s := "New chat from " + who
	if via != "" {
		s += " via " + via
	}
	if c.mode == routingSubaddress {
		return withContext(s+".", c.visitor.Context, "Replies to this conversation go to this visitor.")
	}
	return withContext(s+".", c.visitor.Context, "Your replies go to this visitor until the chat ends.")
}

// heldText tells the agent a reply in the hand-over was not shown.
func (c *Conversation) heldText() string {
	who := noticeName(c.visitor.Name)
	return "[Not delivered: the chat with " + who + " has only just begun, so this may have been meant for the previous visitor. Nobody saw it. If it is for " + who + ", send it again.]"
}

// lateText tells the agent a reply after the end reached nobody.
func (c *Conversation) lateText() string {
	return "[Not delivered: the chat with " + noticeName(c.visitor.Name) + " has ended. Nobody saw this message.]"
}

// noticeName quotes the visitor's name for a notice (see noticeLine), or
// says "a visitor".
func noticeName(s string) string {
	if s = noticeLine(s); s == "" {
		return "a visitor"
	}
	return "“" + s + "”"
}

// noticeLine makes s fit into a notice: one line, bounded in length, and
// without brackets or quotes, which could make a visitor's name look like
// the gateway's own words.
func noticeLine(s string) string { return boundedLine(s, maxNoticeName) }

// boundedLine is noticeLine with a bound of max runes.
func boundedLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		// Format characters (bidi overrides) could make it read otherwise.
		if strings.ContainsRune("[]\"“”", r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, cleanText(s))
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return s
}

// refuseHeldLocked answers a reply that arrived in the hand-over: the agent
// is told (at most maxRefusals times per chat).
func (c *Conversation) refuseHeldLocked(now time.Time) int {
	c.m.log.Info("chat reply in the hand-over refused", "chat", c.id, "agent", c.agent,
		"notice_at", c.noticeAt, "hold", c.hold, "at", now)
	if c.refusals < maxRefusals && c.enqueue(outItem{kind: itemNotice, text: c.heldText()}) {
		c.refusals++
	}
	return statusHeld
}

// tellEndedLocked tells the agent of c, a chat that ended recently, that
// their reply reached nobody (at most maxRefusals times). The caller holds
// m.mu.
func (m *Manager) tellEndedLocked(c *Conversation) {
	if m.runCtx == nil || m.stopping || c.lateReplies >= maxRefusals {
		return
	}
	c.lateReplies++
	base, timeout := m.runCtx, m.cfg.SendTimeout
	msg := outgoingText(c.to, c.visitor.Name, c.lateText())
	msg.FromUser = c.fromUser
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(base, timeout)
		defer cancel()
		if code, err := m.send.SendMessage(ctx, msg); err != nil {
			m.log.Info("chat late-reply notice not delivered", "chat", c.id, "agent", c.agent, "code", code, "error", err)
		}
	}()
}
