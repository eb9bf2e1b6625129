package chat

import "errors"

// Errors returned to the caller (the widget shows them); the SIP side never
// sees these.
var (
	// ErrAgentBusy means the agent's chat slots are all taken.
	ErrAgentBusy = errors.New("chat: agent busy")
	// ErrTooLong means a message is longer than max_message_length.
	ErrTooLong = errors.New("chat: message too long")
	// ErrRateLimited means the chat sent messages_per_minute already, or its
	// send queue is full.
	ErrRateLimited = errors.New("chat: too many messages")
	// ErrEmpty means a message with no visible text.
	ErrEmpty = errors.New("chat: empty message")
	// ErrEnded means the chat is over.
	ErrEnded = errors.New("chat: chat ended")
	// ErrMoved means the chat was resumed elsewhere (another tab or
	// connection); this attachment no longer holds it.
	ErrMoved = errors.New("chat: chat moved to another connection")
	// ErrUnknownToken means a resume token that is wrong or expired.
	ErrUnknownToken = errors.New("chat: unknown or expired resume token")
	// ErrNotRunning means Open or LeaveMessage was called while Run is not
	// running (before it started or after it returned).
	ErrNotRunning = errors.New("chat: manager not running")
	// ErrBadRequest means a visitor without agent address or sink.
	ErrBadRequest = errors.New("chat: bad request")
	// ErrBadContact means a left message whose contact is neither an email
	// address nor a phone number.
	ErrBadContact = errors.New("chat: contact is not an email address or phone number")
	// ErrNoFallback means the widget has nowhere to leave messages.
	ErrNoFallback = errors.New("chat: widget has no fallback")
	// ErrNotDelivered means no fallback destination accepted a left message.
	ErrNotDelivered = errors.New("chat: message could not be delivered")
	// ErrMalformed means an isComposing document that cannot be read.
	ErrMalformed = errors.New("chat: malformed isComposing document")
)

// ReasonOf maps an error of this package to the reason the widget shows.
func ReasonOf(err error) FailReason {
	switch {
	case err == nil:
		return ReasonUnknown
	case errors.Is(err, ErrTooLong):
		return ReasonTooLong
	case errors.Is(err, ErrRateLimited):
		return ReasonRateLimited
	case errors.Is(err, ErrEmpty):
		return ReasonEmpty
	case errors.Is(err, ErrEnded), errors.Is(err, ErrUnknownToken):
		return ReasonEnded
	case errors.Is(err, ErrAgentBusy):
		return ReasonBusy
	case errors.Is(err, ErrBadContact):
		return ReasonBadContact
	case errors.Is(err, ErrMoved):
		return ReasonMoved
	}
	return ReasonError
}
