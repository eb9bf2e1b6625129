package chat

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Conversation is one visitor's chat with one agent. Its state is guarded
// by mu; what goes to SIP runs on the chat's own goroutine, in order. The
// visitor side reaches it through an Attachment.
type Conversation struct {
	m        *Manager
	id       string // subaddress id, also the log key
	token    string
	visitor  Visitor
	agent    string // normalized agent AOR: who may reply
	to       string // where MESSAGEs go
	mode     string // reply routing fixed at Open
	fromUser string // "" or username+id
	out      chan outItem
	endc     chan endReason // written once, by end
	// after is the previous agent-routed chat's finished, when it may still
	// be telling the agent it ended: this chat's notice waits for it.
	after    <-chan struct{}
	finished chan struct{} // closed when the worker has sent its last MESSAGE
	// endedAt is set once by end before the chat leaves the Manager's
	// tables; read under Manager.mu, like lateReplies.
	endedAt     time.Time
	lateReplies int    // refusal notices for replies after the end
	slot        string // the cluster's agent slot (Shared), "" alone

	mu    sync.Mutex
	sink  Sink   // nil while detached
	gen   uint64 // which attachment is current; Resume increments it
	ended bool
	// releasing: the chat is being handed to another node; nothing is
	// saved from here any more.
	releasing bool
	released  bool        // handed to another node (ended is set too)
	deadline  time.Time   // end of the grace period while detached
	sent      []time.Time // send times within the last minute
	n         int         // message ids handed out
	recent    []string    // the last client ids of Send, to ignore a resent one
	inflight  int         // texts queued whose delivery result is not kept yet
	kept      keptEvents
	// Hand-over (agent routing): replies count only from noticeAt+hold.
	noticeAt time.Time       // when the agent's client accepted the new-chat notice
	hold     time.Duration   // 0, or chat.handover when the agent just had another chat
	refusals int             // refusal notices sent to the agent
	replies  []AnsweredReply // the agent MESSAGEs answered last, in a cluster
	// Typing indicators toward the agent.
	typingOn     bool // the agent was last told "active"
	typingSentAt time.Time
	typingLast   time.Time // last Typing(true) from the visitor
	// The agent's typing state shown to the visitor.
	agentTypingUntil time.Time
	// The transcript (transcript.go).
	transcript        []TranscriptLine
	transcriptBytes   int
	transcriptDropped int
}

type endReason int

const (
	endClosed   endReason = iota + 1 // the visitor closed the chat
	endLeft                          // the grace period ended without resume
	endShutdown                      // the gateway is stopping
	endReleased                      // another node took the chat over: no word to the agent
)

// finalText is what the agent reads when a chat ends; unseen counts the
// agent's messages the visitor's widget never confirmed.
func (r endReason) finalText(unseen int) string {
	s := "[The visitor left the chat"
	switch r {
	case endClosed:
		s = "[The visitor ended the chat"
	case endShutdown:
		s = "[The visitor left the chat: the gateway is shutting down"
	}
	switch {
	case unseen == 1:
		s += "; your last message did not reach them"
	case unseen > 1:
		s += "; your last " + strconv.Itoa(unseen) + " messages did not reach them"
	}
	return s + ".]"
}

func (c *Conversation) typingIdleLocked() {
	if c.typingOn && c.enqueue(outItem{kind: itemTyping}) {
		c.typingOn = false
	}
}

// end stops the chat once: it leaves the Manager's tables at once (the
// token stops working) and the worker sends the final MESSAGE.
func (c *Conversation) end(r endReason) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	c.endedAt = c.m.now()
	rec := c.recordLocked()
	c.mu.Unlock()
	c.m.remove(c)
	if c.m.shared != nil {
		c.m.shared.Remove(rec, c.endedAt)
	}
	c.endc <- r // buffered; end runs once
	c.m.log.Info("chat ended", "chat", c.id, "reason", r.finalText(0))
}

// tick runs on Run's goroutine: grace expiry and typing timeouts.
func (c *Conversation) tick(now time.Time) {
	c.mu.Lock()
	expired := !c.ended && c.sink == nil && !c.deadline.IsZero() && !now.Before(c.deadline)
	if c.typingOn && now.Sub(c.typingLast) >= c.m.tm.typingIdle {
		c.typingIdleLocked()
	}
	if !c.agentTypingUntil.IsZero() && !now.Before(c.agentTypingUntil) {
		c.agentTypingUntil = time.Time{}
		c.emitLocked(Event{Kind: EventTyping, Time: now, Active: false})
	}
	c.mu.Unlock()
	if expired {
		c.end(endLeft)
	}
}

// enqueue adds to the worker's queue without blocking; false when full.
func (c *Conversation) enqueue(it outItem) bool {
	select {
	case c.out <- it:
		return true
	default:
		return false
	}
}

func (c *Conversation) emit(ev Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.emitLocked(ev)
}

// emitLocked numbers and keeps the agent's messages and delivery results
// (until the widget acknowledges them), and hands ev to the sink if one is
// attached. Typing is neither numbered nor kept: it is stale by the time
// the visitor is back.
func (c *Conversation) emitLocked(ev Event) {
	if ev.Kind == EventMessage || ev.Kind == EventDelivery {
		if ev.Kind == EventDelivery {
			c.inflight = max(0, c.inflight-1)
		} else {
			c.noteLocked(true, ev.Text, ev.Time)
		}
		ev = c.kept.add(ev)
		// Saved before the widget can see it: a widget that acknowledged
		// it never gets it again from another node, nor misses it.
		c.saveLocked()
	}
	if c.sink != nil {
		c.sink.Deliver(ev)
	}
}

// cleanText makes a text valid UTF-8 without control characters other than
// newline and tab; CRLF becomes LF.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}
