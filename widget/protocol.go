package widget

import (
	"encoding/json"
	"strings"

	"github.com/frontdesk-gw/frontdesk/config"
)

// Message types ("mt") of the Widget-API. The concept's names are normative;
// docs/protocol.md documents each with an example.
const (
	// Visitor to gateway.
	mtStart      = "Start"
	mtGetPicture = "GetPicture"
	mtPing       = "Ping"
	mtCreateCall = "CreateCall"
	mtChannels   = "Channels"
	mtClearCall  = "ClearCall"
	mtCallResume = "CallResume"
	mtDtmf       = "Dtmf"
	mtChatOpen   = "ChatOpen"
	mtChatSend   = "ChatSend"
	mtChatTyping = "ChatTyping"
	mtChatClose  = "ChatClose"
	mtChatResume = "ChatResume"
	mtChatAck    = "ChatAck"
	mtLeaveMsg   = "LeaveMessage"
	mtWait       = "Wait"
	mtWaitCancel = "WaitCancel"
	// After a contact (aftercontact.go).
	mtRate           = "Rate"
	mtSendTranscript = "SendTranscript"

	// Gateway to visitor.
	mtSession   = "Session"
	mtInfo      = "Info"
	mtRemove    = "Remove"
	mtPicture   = "Picture"
	mtIceConfig = "IceConfig"
	mtError     = "Error"
	mtPong      = "Pong"
	mtCallInfo  = "CallInfo"
	// mtChatTyping is used both ways.
	mtChatOpened   = "ChatOpened"
	mtChatDelivery = "ChatDelivery"
	mtChatMessage  = "ChatMessage"
	mtChatEnded    = "ChatEnded"
	mtMessageLeft  = "MessageLeft"
	mtWaitInfo     = "WaitInfo"
	mtWaitEnded    = "WaitEnded"
	// After a contact.
	mtRated          = "Rated"
	mtTranscriptSent = "TranscriptSent"
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
	CodeMediumNotAllowed ErrorCode = "medium-not-allowed"
	CodeAgentUnavailable ErrorCode = "agent-unavailable"
	CodeCallInProgress   ErrorCode = "call-in-progress"
	CodeNoCall           ErrorCode = "no-call"
	CodeTooManyCalls     ErrorCode = "too-many-calls"
	CodeChatInProgress   ErrorCode = "chat-in-progress"
	CodeAgentBusy        ErrorCode = "agent-busy"
	CodeNoChat           ErrorCode = "no-chat"
	CodeChatExpired      ErrorCode = "chat-expired"
	CodeNoFallback       ErrorCode = "no-fallback"
	// CodeRetryLater refuses a call, chat or left message started too
	// often (limits.calls, chats, messages_left); Error.RetryAfter says
	// when to try again.
	CodeRetryLater    ErrorCode = "retry-later"
	CodeDTMFQueueFull ErrorCode = "dtmf-queue-full"
	// Waiting in line (Wait): the widget lets nobody wait, the line is
	// full, the session waits already.
	CodeNoQueue        ErrorCode = "no-queue"
	CodeQueueFull      ErrorCode = "queue-full"
	CodeAlreadyWaiting ErrorCode = "already-waiting"
	// CodeBadForm refuses a call or chat whose form answers the widget's
	// form does not take: a required one missing, an email that is none.
	CodeBadForm ErrorCode = "bad-form"
)

// errorCodes lists every code, for docs and tests.
var errorCodes = []ErrorCode{
	CodeBadJSON, CodeUnknownMessage, CodeTooLarge, CodeRateLimited, CodeNotStarted,
	CodeAlreadyStarted, CodeUnknownWidget, CodeOriginNotAllowed, CodeUnknownAgent,
	CodeWidgetRemoved, CodeOverloaded, CodeTimeout, CodeShuttingDown,
	CodeMediumNotAllowed, CodeAgentUnavailable, CodeCallInProgress, CodeNoCall, CodeTooManyCalls,
	CodeChatInProgress, CodeAgentBusy, CodeNoChat, CodeChatExpired, CodeNoFallback,
	CodeRetryLater, CodeDTMFQueueFull, CodeBadForm, CodeNoQueue, CodeQueueFull, CodeAlreadyWaiting,
}

// fatal reports whether the gateway closes the websocket after this error.
func (c ErrorCode) fatal() bool {
	switch c {
	case CodeUnknownMessage, CodeUnknownAgent, CodeMediumNotAllowed, CodeAgentUnavailable,
		CodeCallInProgress, CodeNoCall, CodeTooManyCalls, CodeChatInProgress, CodeAgentBusy,
		CodeNoChat, CodeChatExpired, CodeNoFallback, CodeRetryLater, CodeDTMFQueueFull, CodeBadForm,
		CodeNoQueue, CodeQueueFull, CodeAlreadyWaiting:
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
	ID   string   `json:"id,omitempty"` // GetPicture; ChatSend and LeaveMessage: the widget's id
	// Calls and chat.
	Dest  string `json:"dest,omitempty"` // CreateCall, ChatOpen: an agent id
	DN    string `json:"dn,omitempty"`   // CreateCall, ChatOpen: the visitor's name
	Video bool   `json:"video,omitempty"`
	Cmd   string `json:"cmd,omitempty"` // Channels: PROPOSAL
	SDP   string `json:"sdp,omitempty"`
	Digit string `json:"digit,omitempty"`
	Text  string `json:"text,omitempty"`
	// Active is a pointer so a missing field can be told from false.
	Active *bool  `json:"active,omitempty"`
	Token  string `json:"token,omitempty"`
	// Seq is the last chat event number the widget has shown (ChatAck;
	// ChatResume, optional: 0 when none).
	Seq     uint64 `json:"seq,omitempty"`
	Name    string `json:"name,omitempty"`    // LeaveMessage
	Contact string `json:"contact,omitempty"` // LeaveMessage
	// The form's answers and the page the visitor is on (CreateCall,
	// ChatOpen; LeaveMessage: topic and page), checked in context.go.
	Email string `json:"email,omitempty"`
	Topic string `json:"topic,omitempty"`
	Page  string `json:"page,omitempty"`
	// Rate: 1 to 5 and an optional comment; SendTranscript: the visitor's
	// consent (and Email).
	Score   int    `json:"score,omitempty"`
	Comment string `json:"comment,omitempty"`
	Consent bool   `json:"consent,omitempty"`
	// Medium is what the visitor waits for (Wait): voice, video or chat.
	Medium string `json:"medium,omitempty"`
}

// Bounds of what a visitor sends; docs/protocol.md lists them.
const (
	maxSDP      = 32 << 10 // a browser's SDP offer, bytes
	maxLangs    = 16       // Start's lang entries kept
	maxClientID = 64       // the widget's id of a ChatSend or LeaveMessage, bytes
	maxToken    = 128      // a chat or call resume token, bytes
	dtmfDigits  = "0123456789*#ABCD"
	// maxSeq is the largest chat event number a widget may name: what a
	// JavaScript number holds exactly.
	maxSeq = 1<<53 - 1
)

// decodeInbound parses one visitor message. It rejects trailing data and
// unknown message types. Its errors are visitorErrors: their text is what
// the visitor's Error says.
func decodeInbound(data []byte) (inbound, ErrorCode, error) {
	var m inbound
	// Unmarshal, unlike a Decoder, rejects anything after the object.
	if err := json.Unmarshal(data, &m); err != nil {
		return inbound{}, CodeBadJSON, jsonProblem(err)
	}
	switch m.MT {
	case mtStart:
		if m.UUID == "" {
			return m, CodeBadJSON, refusal("Start needs a uuid")
		}
		if len(m.Lang) > maxLangs {
			m.Lang = m.Lang[:maxLangs]
		}
	case mtGetPicture:
		if m.ID == "" {
			return m, CodeBadJSON, refusal("GetPicture needs an id")
		}
	case mtPing, mtClearCall, mtChatClose, mtWaitCancel:
	case mtCallResume:
		if len(m.Token) > maxToken {
			return m, CodeBadJSON, refusal("CallResume token must be at most %d bytes", maxToken)
		}
		if m.Token != "" && (m.SDP == "" || len(m.SDP) > maxSDP) {
			return m, CodeBadJSON, refusal("CallResume with a token needs an sdp of at most %d bytes", maxSDP)
		}
	case mtCreateCall, mtChatOpen:
		if m.Dest == "" {
			return m, CodeBadJSON, refusal("%s needs a dest", m.MT)
		}
	case mtChannels:
		if m.Cmd != "PROPOSAL" {
			return m, CodeBadJSON, refusal("Channels cmd must be PROPOSAL")
		}
		if m.SDP == "" || len(m.SDP) > maxSDP {
			return m, CodeBadJSON, refusal("Channels needs an sdp of at most %d bytes", maxSDP)
		}
	case mtDtmf:
		if len(m.Digit) != 1 || !strings.Contains(dtmfDigits, m.Digit) {
			return m, CodeBadJSON, refusal("Dtmf digit must be one of 0-9 * # A-D")
		}
	case mtChatSend:
		if m.ID == "" || len(m.ID) > maxClientID {
			return m, CodeBadJSON, refusal("ChatSend needs an id of at most %d bytes", maxClientID)
		}
	case mtChatTyping:
		if m.Active == nil {
			return m, CodeBadJSON, refusal("ChatTyping needs active")
		}
	case mtChatResume:
		if m.Token == "" || len(m.Token) > maxToken {
			return m, CodeBadJSON, refusal("ChatResume needs a token of at most %d bytes", maxToken)
		}
		if m.Seq > maxSeq {
			return m, CodeBadJSON, refusal("ChatResume seq must be at most %d", maxSeq)
		}
	case mtChatAck:
		if m.Seq == 0 || m.Seq > maxSeq {
			return m, CodeBadJSON, refusal("ChatAck needs a seq from 1 to %d", maxSeq)
		}
	case mtWait:
		if m.Dest == "" {
			return m, CodeBadJSON, refusal("Wait needs a dest")
		}
		switch config.Medium(m.Medium) {
		case config.MediumVoice, config.MediumVideo, config.MediumChat:
		default:
			return m, CodeBadJSON, refusal("Wait medium must be voice, video or chat")
		}
	case mtLeaveMsg:
		if m.ID == "" || len(m.ID) > maxClientID {
			return m, CodeBadJSON, refusal("LeaveMessage needs an id of at most %d bytes", maxClientID)
		}
	case mtRate:
		if m.ID == "" || len(m.ID) > maxClientID || m.Score < 1 || m.Score > 5 || len(m.Comment) > maxCommentBytes {
			return m, CodeBadJSON, refusal("Rate needs an id of at most %d bytes, a score from 1 to 5 and a comment of at most %d bytes", maxClientID, maxCommentBytes)
		}
	case mtSendTranscript:
		if m.ID == "" || len(m.ID) > maxClientID {
			return m, CodeBadJSON, refusal("SendTranscript needs an id of at most %d bytes", maxClientID)
		}
	case "":
		return m, CodeBadJSON, refusal("the message has no mt")
	default:
		return m, CodeUnknownMessage, refusal("unknown message type")
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
	// ExpectedReply is the widget's expected-reply line in the session's
	// language (else its default language), "" when not set.
	ExpectedReply string `json:"expectedReply,omitempty"`
	// LeaveMessage says the widget has a fallback for LeaveMessage.
	LeaveMessage bool `json:"leaveMessage"`
	// Form is what the widget asks before a call or chat.
	Form config.Form `json:"form"`
	// Page says how much of the page's address the widget sends with a
	// contact: "path" or "full"; absent: none.
	Page string `json:"page,omitempty"`
	// Rating: after a call or chat the widget asks for a rating (Rate).
	Rating bool `json:"rating,omitempty"`
	// Transcript: after a chat the widget offers its transcript by email
	// (SendTranscript).
	Transcript bool `json:"transcript,omitempty"`
	// Closed: the widget's hours are closed now; Opens is when they open
	// next (RFC 3339, UTC; absent when not within a year).
	Closed bool   `json:"closed,omitempty"`
	Opens  string `json:"opens,omitempty"`
	// Queue is present when visitors may wait in line for a busy agent.
	Queue *sessionQueue `json:"queue,omitempty"`
	// ContactUs is the dest the sidebar's "contact us" calls: a group's
	// id, or "*" for every agent (sidebars only).
	ContactUs string `json:"contactUs,omitempty"`
}

// sessionQueue is the widget's waiting line, as the widget shows it.
type sessionQueue struct {
	// MaxWait is how long a visitor waits at most, in seconds.
	MaxWait int `json:"maxWait"`
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
	// Closed: the agent is outside its hours (presence is offline); Opens
	// is when they open next (RFC 3339, UTC; absent when not within a year).
	Closed bool   `json:"closed,omitempty"`
	Opens  string `json:"opens,omitempty"`
	// Members are the agent ids of a hunt group (set only for groups).
	Members []string `json:"members,omitempty"`
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
	// RetryAfter is the whole seconds to wait (retry-later only).
	RetryAfter int `json:"retryAfter,omitempty"`
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

// callInfoMsg reports a call's state.
type callInfoMsg struct {
	MT    string `json:"mt"`
	State string `json:"state"`
	// Dest is the member a group call rings now (state trying).
	Dest string `json:"dest,omitempty"`
	// Party is who took a transferred call (state connected): the PBX's
	// display name or the configured agent the target is; also in the
	// CallResume answer of a transferred call.
	Party  string `json:"party,omitempty"`
	Cmd    string `json:"cmd,omitempty"`
	SDP    string `json:"sdp,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Resume is the token a new page's CallResume takes the call back
	// with (state connected; absent when the call cannot be resumed).
	Resume string `json:"resume,omitempty"`
}

type chatOpenedMsg struct {
	MT      string `json:"mt"`
	Dest    string `json:"dest"`
	Token   string `json:"token"`
	Resumed bool   `json:"resumed,omitempty"`
}

type chatDeliveryMsg struct {
	MT     string `json:"mt"`
	ID     string `json:"id"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Seq numbers the result within the chat (absent for a ChatSend refused
	// at once); the widget acknowledges it with ChatAck.
	Seq uint64 `json:"seq,omitempty"`
}

type chatMessageMsg struct {
	MT   string `json:"mt"`
	ID   string `json:"id"`
	Text string `json:"text"`
	Time string `json:"time"`
	// Seq numbers the message within the chat; the widget acknowledges it
	// with ChatAck and shows a number it has seen only once.
	Seq uint64 `json:"seq"`
}

type chatTypingMsg struct {
	MT     string `json:"mt"`
	Active bool   `json:"active"`
}

type chatEndedMsg struct {
	MT     string `json:"mt"`
	Reason string `json:"reason"`
}

type messageLeftMsg struct {
	MT     string `json:"mt"`
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// waitInfoMsg tells a waiting visitor their place in the agent's line
// (1: next), again whenever it changes.
type waitInfoMsg struct {
	MT       string `json:"mt"`
	Dest     string `json:"dest"`
	Position int    `json:"position"`
}

// waitEndedMsg ends a wait: the agent is free for this visitor (ready),
// or the wait is over without that.
type waitEndedMsg struct {
	MT     string `json:"mt"`
	Dest   string `json:"dest"`
	Reason string `json:"reason"`
	// Hold is how long (seconds) the agent is kept for the visitor (ready).
	Hold int `json:"hold,omitempty"`
	// Confirm: the visitor waited long; ask before starting (ready).
	Confirm bool `json:"confirm,omitempty"`
}

// ratedMsg answers Rate.
type ratedMsg struct {
	MT     string `json:"mt"`
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// transcriptSentMsg answers SendTranscript once the mail server took the
// mail, or did not.
type transcriptSentMsg struct {
	MT     string `json:"mt"`
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}
