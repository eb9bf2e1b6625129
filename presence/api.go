package presence

// Availability is what a visitor sees of an agent.
type Availability string

const (
	AvailabilityUnknown Availability = ""
	// Available: the agent can be reached now ("online" in the Widget-API).
	Available Availability = "online"
	// Busy: the agent is present but on the phone or otherwise busy.
	Busy Availability = "busy"
	// Offline: the agent is not reachable.
	Offline Availability = "offline"
)

// Basic is the PIDF basic status.
type Basic int

const (
	BasicUnknown Basic = iota
	BasicOpen
	BasicClosed
)

// Status is the parsed meaning of one presence document.
type Status struct {
	Basic Basic
	// Busy is set by RPID activities on-the-phone, busy, meeting, or XPIDF
	// inuse/onthephone and similar.
	Busy bool
	// Away is set by RPID away, vacation, and similar activities.
	Away bool
	// Note is the first note text, for logs.
	Note string
}

// DialogState is a dialog's state per RFC 4235.
type DialogState string

const (
	DialogUnknown    DialogState = ""
	DialogTrying     DialogState = "trying"
	DialogProceeding DialogState = "proceeding"
	DialogEarly      DialogState = "early"
	DialogConfirmed  DialogState = "confirmed"
	DialogTerminated DialogState = "terminated"
)

// Dialog is one dialog of a dialog-info document.
type Dialog struct {
	ID        string
	State     DialogState
	Direction string
}

// DialogInfo is a parsed dialog-info document.
type DialogInfo struct {
	Version int
	// Full is true for state="full" (replace all known dialogs), false for
	// "partial" (merge by dialog id).
	Full    bool
	Entity  string
	Dialogs []Dialog
}
