package widget

import "errors"

// chatState is a session's chat.
type chatState struct{}

// handleChat serves the chat messages of the Widget-API.
func (s *session) handleChat(m inbound) (ErrorCode, error) {
	return CodeMediumNotAllowed, errors.New("chat is not enabled on this gateway")
}

// endFeatures ends the session's call and detaches its chat when the session
// ends.
func (s *session) endFeatures(code ErrorCode) {}
