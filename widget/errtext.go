package widget

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// The text of an Error is read in the visitor's browser console: one short
// sentence that says what was wrong with the request, never a Go type, a
// package name or a parser's wording. Details stay in the gateway's log.

// codeTexts is the sentence of each code when nothing more precise applies.
var codeTexts = map[ErrorCode]string{
	CodeBadJSON:          "the message is not valid",
	CodeUnknownMessage:   "unknown message type",
	CodeTooLarge:         "the message is too large",
	CodeRateLimited:      "too many messages; slow down",
	CodeNotStarted:       "send Start first",
	CodeAlreadyStarted:   "Start was already sent",
	CodeUnknownWidget:    "no such widget",
	CodeOriginNotAllowed: "this page may not use this widget",
	CodeUnknownAgent:     "no such contact in this widget",
	CodeWidgetRemoved:    "the widget was removed",
	CodeOverloaded:       "the gateway is busy; try again later",
	CodeTimeout:          "no Start in time",
	CodeShuttingDown:     "the gateway is restarting; reconnect",
	CodeMediumNotAllowed: "this contact cannot be reached that way",
	CodeAgentUnavailable: "this contact is not available now",
	CodeCallInProgress:   "a call is already running",
	CodeNoCall:           "there is no call",
	CodeTooManyCalls:     "all lines are busy; try again later",
	CodeChatInProgress:   "a chat is already open",
	CodeAgentBusy:        "this contact is in another chat",
	CodeNoChat:           "there is no open chat",
	CodeChatExpired:      "the chat has ended",
	CodeNoFallback:       "this widget takes no messages",
	CodeRetryLater:       "started too often; try again later",
	CodeDTMFQueueFull:    "too many keys are waiting to be sent; this key was not sent",
	CodeNoQueue:          "this widget lets nobody wait in line",
	CodeQueueFull:        "the line for this contact is full",
	CodeAlreadyWaiting:   "this session waits in line already",
	CodeBadForm:          "the contact form's answers are not complete",
}

// visitorError is an error whose text may be shown to the visitor; err,
// when set, keeps the detail for the gateway's log.
type visitorError struct {
	text string
	err  error
}

func (e *visitorError) Error() string {
	if e.err == nil {
		return e.text
	}
	return e.text + ": " + e.err.Error()
}

func (e *visitorError) Unwrap() error { return e.err }

// refusal is a visitorError with a sentence of its own.
func refusal(format string, args ...any) error {
	return &visitorError{text: fmt.Sprintf(format, args...)}
}

// errText is the text of an Error for code caused by err.
func errText(code ErrorCode, err error) string {
	var rl *retryLaterError
	if errors.As(err, &rl) {
		return rl.Error()
	}
	var ve *visitorError
	if errors.As(err, &ve) {
		return ve.text
	}
	if t, ok := codeTexts[code]; ok {
		return t
	}
	return strings.ReplaceAll(string(code), "-", " ")
}

// jsonProblem says in visitor terms why a message did not decode.
func jsonProblem(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if f := jsonFieldName(te.Field); f != "" {
			return &visitorError{text: fmt.Sprintf("field %q has the wrong type", f), err: err}
		}
		return &visitorError{text: "a message must be a JSON object", err: err}
	}
	return &visitorError{text: "not valid JSON", err: err}
}

// jsonFieldName returns field when it is one of inbound's JSON names, so no
// text the visitor sent is echoed back.
func jsonFieldName(field string) string {
	if i := strings.IndexByte(field, '.'); i >= 0 {
		field = field[:i]
	}
	if inboundFields[field] {
		return field
	}
	return ""
}

// inboundFields holds inbound's JSON field names.
var inboundFields = func() map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeFor[inbound]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}()
