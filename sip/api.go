package sip

import (
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/tlscert"
)

// Event is a SIP event package the UA subscribes to.
type Event string

const (
	EventPresence Event = "presence"
	EventDialog   Event = "dialog"
)

// Target is one subscription: a monitored URI and an event package.
type Target struct {
	URI   string // sip:user@domain, without parameters
	Event Event
}

// SubState is the subscription state of a NOTIFY (RFC 6665).
type SubState string

const (
	SubUnknown    SubState = ""
	SubPending    SubState = "pending"
	SubActive     SubState = "active"
	SubTerminated SubState = "terminated"
)

// Notification is what one NOTIFY said about a Target.
type Notification struct {
	Target      Target
	State       SubState
	ContentType string // media type without parameters, lower case
	Body        []byte // may be empty
}

// RegState is the registration state.
type RegState string

const (
	RegUnknown      RegState = ""
	RegRegistering  RegState = "registering"
	RegRegistered   RegState = "registered"
	RegFailed       RegState = "failed"
	RegUnregistered RegState = "unregistered"
)

// Handler receives what the UA hears. Calls come from the UA's goroutines and
// must not block for long. For one Target, Notify and SubscriptionLost are
// never called concurrently and come in the order the PBX sent them
// (NOTIFYs in CSeq order).
type Handler interface {
	// Registration reports a change of registration state; err explains a
	// failure.
	Registration(state RegState, err error)
	// Notify delivers one NOTIFY for a subscription the UA holds.
	Notify(n Notification)
	// SubscriptionLost reports that a subscription is not active any more
	// (terminated, refused, timed out); the UA keeps retrying with backoff.
	// The state it reported so far is no longer current. It is also called,
	// with ErrSubscriptionRemoved, for a Target SetSubscriptions dropped:
	// that one is not retried.
	SubscriptionLost(t Target, err error)
}

// Status is a snapshot for /healthz and metrics.
type Status struct {
	Registration  RegState
	LastError     string
	RegisteredAt  time.Time
	Expires       time.Time
	Subscriptions int // wanted
	Active        int // with an active or pending dialog, or from a working resource list
	// Warning says what an operator should know that does not stop the UA,
	// e.g. "restart required: sip.listen changed; …" after Reconfigure
	// returned ErrRestartRequired. "" when there is nothing.
	Warning string

	NotifiesReceived int64 // NOTIFYs delivered to the Handler
	RegisterFailures int64 // failed REGISTER attempts
	// PBXLost counts the times the PBX was found unreachable or to have
	// forgotten the registration (each followed by recovery).
	PBXLost int64
	// Rejected counts incoming SIP dropped or refused, by reason (every one
	// of RejectReasons() is present).
	Rejected map[string]int64
	// SubscribeFailures counts failed subscription attempts by reason
	// (every one of SubscribeFailureReasons() is present).
	SubscribeFailures map[string]int64
	// Degraded lists the subscriptions failing now, sorted by URI and
	// event; a failing resource list is listed under its own URI.
	Degraded []Degraded
	// Lists are the resource list subscriptions (sip.resource_list), by
	// event package.
	Lists []ListStatus
	// TLSCert is the gateway's own certificate (sip.tls_cert: subject,
	// expiry, renewals, a renewal refused); nil without one.
	TLSCert *tlscert.Status
}

// Degraded is a wanted subscription that is failing: why, since when, and
// when the UA asks again.
type Degraded struct {
	Target Target
	// Reason is one of SubscribeFailureReasons().
	Reason string
	// Error is what went wrong, e.g. "SUBSCRIBE: 489 Bad Event".
	Error string
	// Refused: by the PBX's policy or for lack of the package; asked again
	// only every sip.refused_retry.
	Refused bool
	// Since is the first failure in a row, Retry the next attempt.
	Since, Retry time.Time
}
