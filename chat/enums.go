package chat

import "fmt"

// EventKind says what an Event reports.
type EventKind string

const (
	EventUnknown  EventKind = ""
	EventMessage  EventKind = "message"  // a text from the agent
	EventDelivery EventKind = "delivery" // the result of one Send
	EventTyping   EventKind = "typing"   // the agent started or stopped typing
	EventEnded    EventKind = "ended"    // the chat is over; nothing follows
	EventMoved    EventKind = "moved"    // the chat was resumed elsewhere; nothing more comes to this sink
)

// DeliveryState is the outcome of one Send.
type DeliveryState string

const (
	DeliveryUnknown   DeliveryState = ""
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryFailed    DeliveryState = "failed"
)

// FailReason says why something did not work, in words a widget can map to
// a sentence.
type FailReason string

const (
	ReasonUnknown     FailReason = ""
	ReasonOffline     FailReason = "offline"      // 404, 410, 480, 604
	ReasonRejected    FailReason = "rejected"     // any other error status
	ReasonTimeout     FailReason = "timeout"      // no final response in time (or 408)
	ReasonTooLong     FailReason = "too-long"     // ErrTooLong
	ReasonRateLimited FailReason = "rate-limited" // ErrRateLimited
	ReasonEmpty       FailReason = "empty"        // ErrEmpty
	ReasonBusy        FailReason = "busy"         // ErrAgentBusy
	ReasonBadContact  FailReason = "bad-contact"  // ErrBadContact
	ReasonEnded       FailReason = "ended"        // the chat ended before it was sent
	ReasonShutdown    FailReason = "shutdown"     // the gateway is stopping
	ReasonMoved       FailReason = "moved"        // ErrMoved: the chat went on in another tab
	ReasonError       FailReason = "error"        // the MESSAGE could not be sent at all
)

// ComposingState is the state of an isComposing document (RFC 3994).
type ComposingState string

const (
	ComposingUnknown ComposingState = ""
	ComposingActive  ComposingState = "active"
	ComposingIdle    ComposingState = "idle"
)

func (k EventKind) String() string      { return string(k) }
func (s DeliveryState) String() string  { return string(s) }
func (r FailReason) String() string     { return string(r) }
func (s ComposingState) String() string { return string(s) }

var (
	eventKinds      = []EventKind{EventMessage, EventDelivery, EventTyping, EventEnded, EventMoved}
	deliveryStates  = []DeliveryState{DeliveryDelivered, DeliveryFailed}
	failReasons     = []FailReason{ReasonOffline, ReasonRejected, ReasonTimeout, ReasonTooLong, ReasonRateLimited, ReasonEmpty, ReasonBusy, ReasonBadContact, ReasonEnded, ReasonShutdown, ReasonMoved, ReasonError}
	composingStates = []ComposingState{ComposingActive, ComposingIdle}
)

// ParseEventKind parses message, delivery, typing, ended or moved.
func ParseEventKind(s string) (EventKind, error) { return parseEnum(s, eventKinds) }

// ParseDeliveryState parses delivered or failed.
func ParseDeliveryState(s string) (DeliveryState, error) { return parseEnum(s, deliveryStates) }

// ParseFailReason parses a FailReason's spelling.
func ParseFailReason(s string) (FailReason, error) { return parseEnum(s, failReasons) }

// ParseComposingState parses active or idle.
func ParseComposingState(s string) (ComposingState, error) { return parseEnum(s, composingStates) }

func parseEnum[T ~string](s string, allowed []T) (T, error) {
	for _, a := range allowed {
		if string(a) == s {
			return a, nil
		}
	}
	var unknown T
	return unknown, fmt.Errorf("%q is not one of %v", s, allowed)
}
