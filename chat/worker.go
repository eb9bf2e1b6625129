package chat

import (
	"context"
	"errors"

	"github.com/frontdesk-gw/frontdesk/sip"
)

const textContentType = sip.ContentTypeText + ";charset=UTF-8"

type itemKind int

const (
	itemText   itemKind = iota + 1 // the visitor's text; its result becomes an EventDelivery
	itemTyping                     // an isComposing document
	itemNotice                     // the gateway's own words to the agent
)

// outItem is one MESSAGE waiting in a chat's queue.
type outItem struct {
	kind     itemKind
	id       string
	clientID string
	text     string
	active   bool // typing
}

// run is the chat's goroutine, owned by the Manager (its WaitGroup). It
// waits for the agent's previous chat to have said goodbye, sends the
// new-chat notice, then the queue in order, and ends after the final
// MESSAGE. base is not cancelled by shutdown so that the final MESSAGE
// still goes out; each send is bounded by send_timeout.
func (c *Conversation) run(base context.Context) {
	defer c.m.wg.Done()
	defer close(c.finished)
	if c.after != nil {
		select {
		case <-c.after:
		case r := <-c.endc:
			c.finish(base, r)
			return
		}
	}
	c.notify(base)
	for {
		select {
		case it := <-c.out:
			c.process(base, it)
		case r := <-c.endc:
			c.finish(base, r)
			return
		}
	}
}

// notify sends the new-chat notice unless the agent's client accepted it
// already, and reports its outcome.
func (c *Conversation) notify(base context.Context) (DeliveryState, FailReason) {
	c.mu.Lock()
	done := !c.noticeAt.IsZero()
	c.mu.Unlock()
	if done {
		return DeliveryDelivered, ReasonUnknown
	}
	code, err := c.sendSIP(base, textContentType, []byte(c.startText()))
	state, reason := classify(code, err)
	if state != DeliveryDelivered {
		c.m.log.Info("chat notice not delivered", "chat", c.id, "agent", c.agent, "code", code, "reason", reason, "error", err)
		return state, reason
	}
	c.mu.Lock()
	c.noticeAt = c.m.now()
	c.saveLocked()
	c.mu.Unlock()
	c.m.log.Debug("chat notice accepted", "chat", c.id, "agent", c.agent, "handover", c.hold)
	return state, reason
}

// finish drains the queue (texts are sent, or failed when shutting down;
// typing is dropped), tells the agent, and emits EventEnded. Nothing is
// queued after end, so the drain ends. An agent whose client never accepted
// the new-chat notice did not learn of the chat, and is not told it ended.
func (c *Conversation) finish(base context.Context, r endReason) {
	if r == endReleased {
		return // the node that took it over goes on; queued texts were reported failed
	}
	for drained := false; !drained; {
		select {
		case it := <-c.out:
			switch {
			case it.kind == itemTyping:
			case it.kind == itemText && r == endShutdown:
				c.emit(Event{Kind: EventDelivery, ID: it.id, ClientID: it.clientID, Time: c.m.now(),
					State: DeliveryFailed, Reason: ReasonShutdown})
			default:
				c.process(base, it)
			}
		default:
			drained = true
		}
	}
	c.mu.Lock()
	told, unseen := !c.noticeAt.IsZero(), c.kept.unseenMessages()
	c.mu.Unlock()
	if told {
		code, err := c.sendSIP(base, textContentType, []byte(r.finalText(unseen)))
		if state, _ := classify(code, err); state != DeliveryDelivered {
			c.m.log.Warn("chat final message not delivered", "chat", c.id, "agent", c.agent, "code", code, "error", err)
		}
	}
	reason := ReasonEnded
	if r == endShutdown {
		reason = ReasonShutdown
	}
	c.emit(Event{Kind: EventEnded, Time: c.m.now(), Reason: reason})
}

func (c *Conversation) process(base context.Context, it outItem) {
	switch it.kind {
	case itemTyping:
		st := ComposingIdle
		if it.active {
			st = ComposingActive
		}
		ic := IsComposing{State: st, ContentType: "text/plain"}
		if it.active {
			ic.Refresh = c.m.tm.typingRefresh
		}
		if code, err := c.sendSIP(base, sip.ContentTypeIsComposing, ic.Marshal()); err != nil {
			c.m.log.Debug("chat typing indicator not delivered", "chat", c.id, "code", code, "error", err)
		}
		return
	case itemNotice:
		if code, err := c.sendSIP(base, textContentType, []byte(it.text)); err != nil {
			c.m.log.Info("chat notice not delivered", "chat", c.id, "agent", c.agent, "code", code, "error", err)
		}
		return
	}
	// The visitor's texts reach the agent only after the new-chat notice.
	state, reason := c.notify(base)
	if state == DeliveryDelivered {
		code, err := c.sendSIP(base, textContentType, []byte(it.text))
		state, reason = classify(code, err)
		if state != DeliveryDelivered {
			c.m.log.Info("chat message not delivered", "chat", c.id, "agent", c.agent, "code", code, "reason", reason, "error", err)
		}
	}
	now := c.m.now()
	c.mu.Lock()
	if state == DeliveryDelivered {
		c.noteLocked(false, it.text, now)
	}
	c.emitLocked(Event{Kind: EventDelivery, ID: it.id, ClientID: it.clientID, Time: now, State: state, Reason: reason})
	c.mu.Unlock()
}

func (c *Conversation) sendSIP(base context.Context, ctype string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(base, c.m.config().SendTimeout)
	defer cancel()
	code, err := c.m.send.SendMessage(ctx, sip.OutgoingMessage{
		To: c.to, FromUser: c.fromUser, DisplayName: c.visitor.Name, ContentType: ctype, Body: body,
	})
	if err == nil && ctx.Err() != nil && code == 0 {
		err = ctx.Err()
	}
	return code, err
}

// classify maps a MESSAGE's final status to what the widget shows.
func classify(code int, err error) (DeliveryState, FailReason) {
	switch {
	case code >= 200 && code < 300:
		return DeliveryDelivered, ReasonUnknown
	case code == 404 || code == 410 || code == 480 || code == 604:
		return DeliveryFailed, ReasonOffline
	case code == 408, errors.Is(err, context.DeadlineExceeded), errors.Is(err, sip.ErrNoResponse):
		return DeliveryFailed, ReasonTimeout
	case code >= 300 && code < 700:
		return DeliveryFailed, ReasonRejected
	}
	return DeliveryFailed, ReasonError
}

// outgoingText is a text MESSAGE from the gateway's registered identity.
func outgoingText(to, name, text string) sip.OutgoingMessage {
	return sip.OutgoingMessage{To: to, DisplayName: name, ContentType: textContentType, Body: []byte(text)}
}
