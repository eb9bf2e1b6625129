package widget

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docExample is one message line of a widget-api block in docs/protocol.md.
type docExample struct {
	line int
	dir  byte // '>' widget to gateway, '<' gateway to widget
	json string
}

func readDocExamples(t *testing.T) (string, []docExample) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "docs", "protocol.md"))
	if err != nil {
		t.Fatalf("read protocol doc: %v", err)
	}
	var out []docExample
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```widget-api"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in && strings.TrimSpace(line) != "":
			if len(line) < 3 || (line[0] != '>' && line[0] != '<') || line[1] != ' ' {
				t.Errorf("protocol.md:%d: example lines start with '> ' or '< ': %q", n, line)
				continue
			}
			out = append(out, docExample{line: n, dir: line[0], json: line[2:]})
		}
	}
	return string(data), out
}

// outboundTypes maps each gateway message type to its Go type.
var outboundTypes = map[string]func() any{
	mtSession:   func() any { return &sessionMsg{} },
	mtInfo:      func() any { return &infoMsg{} },
	mtRemove:    func() any { return &removeMsg{} },
	mtPicture:   func() any { return &pictureMsg{} },
	mtIceConfig: func() any { return &iceConfigMsg{} },
	mtError:     func() any { return &errorMsg{} },
	mtPong:      func() any { return &pongMsg{} },
	mtCallInfo:  func() any { return &callInfoMsg{} },
	// ChatTyping is sent both ways; the gateway's form is chatTypingMsg.
	mtChatTyping:     func() any { return &chatTypingMsg{} },
	mtChatOpened:     func() any { return &chatOpenedMsg{} },
	mtChatDelivery:   func() any { return &chatDeliveryMsg{} },
	mtChatMessage:    func() any { return &chatMessageMsg{} },
	mtChatEnded:      func() any { return &chatEndedMsg{} },
	mtMessageLeft:    func() any { return &messageLeftMsg{} },
	mtRated:          func() any { return &ratedMsg{} },
	mtTranscriptSent: func() any { return &transcriptSentMsg{} },
	mtWaitInfo:       func() any { return &waitInfoMsg{} },
	mtWaitEnded:      func() any { return &waitEndedMsg{} },
}

// TestProtocolDocExamples keeps docs/protocol.md and the code in step: every
// example the widget sends must decode, every example the gateway sends must
// decode into its type with no unknown field, and every message type and
// error code must be documented.
func TestProtocolDocExamples(t *testing.T) {
	doc, examples := readDocExamples(t)
	if len(examples) < 10 {
		t.Fatalf("found only %d examples in protocol.md", len(examples))
	}
	seen := map[string]bool{}
	for _, ex := range examples {
		if ex.dir == '>' {
			m, code, err := decodeInbound([]byte(ex.json))
			if code != CodeUnknown {
				t.Errorf("protocol.md:%d: widget message rejected: %s: %v", ex.line, code, err)
			}
			seen[m.MT] = true
			continue
		}
		var head struct {
			MT string `json:"mt"`
		}
		if err := json.Unmarshal([]byte(ex.json), &head); err != nil {
			t.Errorf("protocol.md:%d: %v", ex.line, err)
			continue
		}
		mk, ok := outboundTypes[head.MT]
		if !ok {
			t.Errorf("protocol.md:%d: the gateway sends no %q", ex.line, head.MT)
			continue
		}
		seen[head.MT] = true
		dec := json.NewDecoder(strings.NewReader(ex.json))
		dec.DisallowUnknownFields()
		v := mk()
		if err := dec.Decode(v); err != nil {
			t.Errorf("protocol.md:%d: %s: %v", ex.line, head.MT, err)
			continue
		}
		if e, ok := v.(*errorMsg); ok {
			if !knownCode(e.Code) {
				t.Errorf("protocol.md:%d: unknown error code %q", ex.line, e.Code)
			}
			checkHumanText(t, fmt.Sprintf("protocol.md:%d", ex.line), e.Text)
		}
	}
	for _, mt := range []string{mtStart, mtGetPicture, mtPing, mtCreateCall, mtChannels, mtClearCall, mtCallResume, mtDtmf,
		mtChatOpen, mtChatSend, mtChatTyping, mtChatClose, mtChatResume, mtChatAck, mtLeaveMsg, mtRate, mtSendTranscript,
		mtWait, mtWaitCancel} {
		if !seen[mt] {
			t.Errorf("protocol.md has no example of %s", mt)
		}
	}
	for mt := range outboundTypes {
		if !seen[mt] {
			t.Errorf("protocol.md has no example of %s", mt)
		}
	}
	for _, c := range errorCodes {
		if !strings.Contains(doc, "| `"+string(c)+"` |") {
			t.Errorf("protocol.md does not document error code %s", c)
		}
	}
}

func knownCode(c ErrorCode) bool {
	for _, k := range errorCodes {
		if k == c {
			return true
		}
	}
	return false
}
