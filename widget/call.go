package widget

import "errors"

// callState is a session's call.
type callState struct{}

// handleCall serves the call messages of the Widget-API.
func (s *session) handleCall(m inbound) (ErrorCode, error) {
	return CodeMediumNotAllowed, errors.New("calls are not enabled on this gateway")
}
