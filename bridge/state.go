package bridge

import "fmt"

// State is what a visitor sees of a connection (Widget-API CallInfo state).
type State string

const (
	StateUnknown   State = ""
	StateAlerting  State = "alerting"
	StateEarly     State = "early"
	StateConnected State = "connected"
	StateHeld      State = "held"
	// StateTransferring: the agent transferred the call; the new party's
	// phone rings (transfer.go).
	StateTransferring State = "transferring"
	StateTerminated   State = "terminated"
)

// Reason says why a connection ended, in the Widget-API's words.
type Reason string

const (
	ReasonUnknown       Reason = ""
	ReasonBusy          Reason = "busy"
	ReasonDeclined      Reason = "declined"
	ReasonNoAnswer      Reason = "no-answer"
	ReasonUnavailable   Reason = "unavailable"
	ReasonNoCommonCodec Reason = "no-common-codec"
	ReasonFailed        Reason = "failed"
	ReasonByAgent       Reason = "ended-by-agent"
	ReasonByVisitor     Reason = "ended-by-visitor"
	ReasonMediaTimeout  Reason = "media-timeout"
	ReasonMediaFailed   Reason = "media-failed"
	ReasonTooManyCalls  Reason = "too-many-calls"
	ReasonShuttingDown  Reason = "shutting-down"
	// ReasonTransferFailed: the agent hung up after transferring the call,
	// and the transfer target did not take it.
	ReasonTransferFailed Reason = "transfer-failed"
)

var states = []State{StateAlerting, StateEarly, StateConnected, StateHeld, StateTransferring, StateTerminated}

// Reasons lists every reason, for documentation checks.
var Reasons = []Reason{ReasonBusy, ReasonDeclined, ReasonNoAnswer, ReasonUnavailable, ReasonNoCommonCodec,
	ReasonFailed, ReasonByAgent, ReasonByVisitor, ReasonMediaTimeout, ReasonMediaFailed, ReasonTooManyCalls,
	ReasonShuttingDown, ReasonTransferFailed}

func (s State) String() string  { return string(s) }
func (r Reason) String() string { return string(r) }

// ParseState parses a State.
func ParseState(s string) (State, error) {
	for _, v := range states {
		if string(v) == s {
			return v, nil
		}
	}
	return StateUnknown, fmt.Errorf("unknown call state %q", s)
}

// ParseReason parses a Reason.
func ParseReason(s string) (Reason, error) {
	for _, v := range Reasons {
		if string(v) == s {
			return v, nil
		}
	}
	return ReasonUnknown, fmt.Errorf("unknown call end reason %q", s)
}
