package widget

import (
	"encoding/json"
	"fmt"

	"github.com/frontdesk-gw/frontdesk/config"
)

// Message types ("mt") of the Widget-API. The concept's names are normative;
// docs/protocol.md documents each with an example.
const (
	// Visitor to gateway.
	mtStart      = "Start"
	mtGetPicture = "GetPicture"
	mtPing       = "Ping"

	// Gateway to visitor.
	mtSession   = "Session"
	mtInfo      = "Info"
	mtRemove    = "Remove"
	mtPicture   = "Picture"
	mtIceConfig = "IceConfig"
	mtError     = "Error"
	mtPong      = "Pong"
)

// ErrorCode is the machine-readable reason in an Error message.
type ErrorCode string

const (
	CodeUnknown          ErrorCode = ""
	CodeBadJSON          ErrorCode = "bad-json"
	CodeUnknownMessage   ErrorCode = "unknown-message"
	CodeTooLarge         ErrorCode = "too-large"
	CodeRateLimited      ErrorCode = "rate-limited"
	CodeNotStarted       ErrorCode = "not-started"
	CodeAlreadyStarted   ErrorCode = "already-started"
	CodeUnknownWidget    ErrorCode = "unknown-widget"
	CodeOriginNotAllowed ErrorCode = "origin-not-allowed"
	CodeUnknownAgent     ErrorCode = "unknown-agent"
	CodeWidgetRemoved    ErrorCode = "widget-removed"
	CodeOverloaded       ErrorCode = "overloaded"
	CodeTimeout          ErrorCode = "timeout"
	CodeShuttingDown     ErrorCode = "shutting-down"
)

// errorCodes lists every code, for docs and tests.
var errorCodes = []ErrorCode{
	CodeBadJSON, CodeUnknownMessage, CodeTooLarge, CodeRateLimited, CodeNotStarted,
	CodeAlreadyStarted, CodeUnknownWidget, CodeOriginNotAllowed, CodeUnknownAgent,
	CodeWidgetRemoved, CodeOverloaded, CodeTimeout, CodeShuttingDown,
}

// fatal reports whether the gateway closes the websocket after this error.
func (c ErrorCode) fatal() bool {
	switch c {
	case CodeUnknownMessage, CodeUnknownAgent:
		return false
	}
	return true
}

// inbound is any message a visitor sends. Only the fields of its type are set.
type inbound struct {
	MT   string `json:"mt"`
	UUID string `json:"uuid,omitempty"` // Start
	// Lang lists the visitor's preferred languages, best first (Start,
	// optional): navigator.languages.
	Lang []string `json:"lang,omitempty"`
	ID   string   `json:"id,omitempty"` // GetPicture
}

// decodeInbound parses one visitor message. It rejects trailing data and
// unknown message types.
func decodeInbound(data []byte) (inbound, ErrorCode, error) {
	var m inbound
	// Unmarshal, unlike a Decoder, rejects anything after the object.
	if err := json.Unmarshal(data, &m); err != nil {
		return inbound{}, CodeBadJSON, fmt.Errorf("decode message: %w", err)
	}
	switch m.MT {
	case mtStart:
		if m.UUID == "" {
			return m, CodeBadJSON, fmt.Errorf("Start without uuid")
		}
		if len(m.Lang) > 16 {
			m.Lang = m.Lang[:16]
		}
	case mtGetPicture:
		if m.ID == "" {
			return m, CodeBadJSON, fmt.Errorf("GetPicture without id")
		}
	case mtPing:
	case "":
		return m, CodeBadJSON, fmt.Errorf("message without mt")
	default:
		return m, CodeUnknownMessage, fmt.Errorf("unknown message type %q", truncate(m.MT, 40))
	}
	return m, CodeUnknown, nil
}

// sessionMsg is the gateway's answer to Start, and is sent again when the
// widget's settings change.
type sessionMsg struct {
	MT            string            `json:"mt"`
	ID            string            `json:"id"`
	Type          config.WidgetType `json:"type"`
	Name          string            `json:"name"`
	Lang          string            `json:"lang"`
	Strings       map[string]string `json:"strings"`
	Style         config.Style      `json:"style"`
	Company       config.Contact    `json:"company"`
	AlwaysShow    bool              `json:"alwaysShow"`
	EqualPriority bool              `json:"equalPriority"`
	CallerName    string            `json:"callerName,omitempty"`
	Teasers       []string          `json:"teasers,omitempty"`
}

// infoMsg describes one agent; sent for each agent after Session and again
// whenever the agent's availability or settings change.
type infoMsg struct {
	MT          string          `json:"mt"`
	ID          string          `json:"id"`
	DN          string          `json:"dn"`
	Department  string          `json:"department"`
	PhoneNumber string          `json:"phonenumber"`
	Email       string          `json:"email"`
	Company     config.Contact  `json:"company"`
	Presence    string          `json:"presence"`
	Media       []config.Medium `json:"media"`
	Order       int             `json:"order"`
	Link        *config.Link    `json:"link,omitempty"`
	// Picture is a short version tag of the agent's picture, "" when it has
	// none: the widget asks GetPicture only when it has a tag it has not
	// fetched yet.
	Picture string `json:"picture"`
}

type removeMsg struct {
	MT string `json:"mt"`
	ID string `json:"id"`
}

type pictureMsg struct {
	MT  string `json:"mt"`
	ID  string `json:"id"`
	URL string `json:"url"`
}

// iceServer follows the browser's RTCIceServer dictionary.
type iceServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

type iceConfigMsg struct {
	MT string `json:"mt"`
	// STUN and TURN are the concept's fields: the first server of each kind.
	STUN string `json:"stun,omitempty"`
	TURN string `json:"turn,omitempty"`
	// ICEServers is the full list, ready for RTCPeerConnection.
	ICEServers []iceServer `json:"iceServers"`
}

type errorMsg struct {
	MT   string    `json:"mt"`
	Code ErrorCode `json:"code"`
	Text string    `json:"text"`
}

type pongMsg struct {
	MT string `json:"mt"`
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
