package widget

import (
	"errors"
	"strings"
	"testing"
)

// internals are what an Error text must never show: Go's and the JSON
// parser's wording, type and package names.
var internals = []string{"Go value", "Go struct", "widget.", "json:", "struct", "cannot unmarshal",
	"invalid character", "unexpected end", "interface", "[]string", "%!", "<nil>"}

func checkHumanText(t *testing.T, what, text string) {
	t.Helper()
	if text == "" || len(text) > 120 {
		t.Errorf("%s: text %q is empty or long", what, text)
	}
	for _, s := range internals {
		if strings.Contains(text, s) {
			t.Errorf("%s: text %q shows %q", what, text, s)
		}
	}
}

func TestErrorTextsAreHumanSentences(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"mt":1}`, `field "mt" has the wrong type`},
		{`{"mt":"Start","uuid":5}`, `field "uuid" has the wrong type`},
		{`{"mt":"Start","uuid":"x","lang":"de"}`, `field "lang" has the wrong type`},
		{`{"mt":"CreateCall","dest":"a","video":"yes"}`, `field "video" has the wrong type`},
		{`{"mt":"ChatTyping","active":1}`, `field "active" has the wrong type`},
		{`[]`, `a message must be a JSON object`},
		{`"Start"`, `a message must be a JSON object`},
		{`{"mt":"Ping"} {}`, `not valid JSON`},
		{`{"mt":`, `not valid JSON`},
		{"\x00", `not valid JSON`},
		{`{"mt":"widget.inbound"}`, `unknown message type`},
		{`{"mt":"Start"}`, `Start needs a uuid`},
		{`{}`, `the message has no mt`},
		{`{"mt":"Dtmf","digit":"55"}`, `Dtmf digit must be one of 0-9 * # A-D`},
		{`{"mt":"Channels","cmd":"SELECT","sdp":"v=0"}`, `Channels cmd must be PROPOSAL`},
	} {
		_, code, err := decodeInbound([]byte(tc.in))
		if code == CodeUnknown {
			t.Errorf("%s: accepted", tc.in)
			continue
		}
		got := newErrorMsg(code, err).Text
		if got != tc.want {
			t.Errorf("%s: text %q, want %q", tc.in, got, tc.want)
		}
		checkHumanText(t, tc.in, got)
	}
}

// TestEveryCodeHasASentence: an error raised without a visitor text falls
// back to its code's sentence, never to the Go error.
func TestEveryCodeHasASentence(t *testing.T) {
	goErr := errors.New(`decode message: json: cannot unmarshal number into Go struct field inbound.mt of type string`)
	for _, c := range errorCodes {
		if _, ok := codeTexts[c]; !ok {
			t.Errorf("code %s has no text", c)
		}
		checkHumanText(t, string(c), newErrorMsg(c, goErr).Text)
	}
}

func TestErrorTextOverTheWire(t *testing.T) {
	f := newFixture(t, testYAML)
	c := f.dial(testOrigin)
	c.send(`{"mt":"Start","uuid":["fadc5da4cae94bfc9434d9957ea08ccb"]}`)
	m := c.expect("Error")
	if m["code"] != "bad-json" || m["text"] != `field "uuid" has the wrong type` {
		t.Errorf("got %v", m)
	}
	c.expectClosed()
}
