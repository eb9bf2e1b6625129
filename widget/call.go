package widget

import "errors"

// Calls places calls for visitors.
type Calls interface{}

// callState is a session's call.
type callState struct{}

// handleCall serves the call messages of the Widget-API.
func (s *session) handleCall(m inbound) (ErrorCode, error) {
	return CodeMediumNotAllowed, errors.New("calls are not enabled on this gateway")
}

// endCall ends the session's call, if any.
func (s *session) endCall(code ErrorCode) {}
