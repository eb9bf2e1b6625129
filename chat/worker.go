package chat

import (
	"context"
	"errors"

	"github.com/frontdesk-gw/frontdesk/sip"
)

const textContentType = sip.ContentTypeText + ";charset=UTF-8"

type itemKind int

const (
	itemText itemKind = iota + 1
	itemTyping
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
// sends queued MESSAGEs in order and ends after the final one. base is not
// cancelled by shutdown so that the final MESSAGE still goes out; each send
// is bounded by send_timeout.
func (c *Conversation) run(base context.Context) {
	defer c.m.wg.Done()
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

// finish drains the queue (texts are sent, or failed when shutting down;
// typing is dropped), tells the agent, and emits EventEnded. Nothing is
// queued after end, so the drain ends.
func (c *Conversation) finish(base context.Context, r endReason) {
	for drained := false; !drained; {
		select {
		case it := <-c.out:
			switch {
			case it.kind != itemText:
			case r == endShutdown:
				c.emit(Event{Kind: EventDelivery, ID: it.id, ClientID: it.clientID, Time: c.m.now(),
					State: DeliveryFailed, Reason: ReasonShutdown})
			default:
				c.process(base, it)
			}
		default:
			drained = true
		}
	}
	code, err := c.sendSIP(base, textContentType, []byte(r.finalText()))
	if state, _ := classify(code, err); state != DeliveryDelivered {
		c.m.log.Warn("chat final message not delivered", "chat", c.id, "agent", c.agent, "code", code, "error", err)
	}
	reason := ReasonEnded
	if r == endShutdown {
		reason = ReasonShutdown
	}
	c.emit(Event{Kind: EventEnded, Time: c.m.now(), Reason: reason})
}

func (c *Conversation) process(base context.Context, it outItem) {
	if it.kind == itemTyping {
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
	}
	code, err := c.sendSIP(base, textContentType, []byte(it.text))
	state, reason := classify(code, err)
	if state != DeliveryDelivered {
		c.m.log.Info("chat message not delivered", "chat", c.id, "agent", c.agent, "code", code, "reason", reason, "error", err)
	}
	c.emit(Event{Kind: EventDelivery, ID: it.id, ClientID: it.clientID, Time: c.m.now(), State: state, Reason: reason})
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
