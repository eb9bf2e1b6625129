package widget

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeInbound: any input is either rejected with a code or yields a
// message whose type is known and whose required fields are present, and
// decoding is deterministic.
func FuzzDecodeInbound(f *testing.F) {
	for _, s := range []string{
		`{"mt":"Start","uuid":"fadc5da4cae94bfc9434d9957ea08ccb","lang":["de"]}`,
		`{"mt":"GetPicture","id":"a"}`,
		`{"mt":"Ping"}`,
		`{"mt":"Start"}`,
		`{"mt":"Nope"}`,
		`{"mt":1}`,
		`[]`,
		`{"mt":"Ping"} {}`,
		"\x00",
		`{"mt":"Start","uuid":5}`,
		`{"mt":"Start","uuid":"x","lang":[1]}`,
		`{"mt":"widget.inbound"}`,
		`{"mt":"ChatSend","id":"Go value struct json:"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, code, err := decodeInbound(data)
		m2, code2, _ := decodeInbound(data)
		if code != code2 || m.MT != m2.MT || m.UUID != m2.UUID || m.ID != m2.ID {
			t.Fatalf("not deterministic: %v/%v vs %v/%v", m, code, m2, code2)
		}
		if (code == CodeUnknown) != (err == nil) {
			t.Fatalf("code %q with err %v", code, err)
		}
		if code != CodeUnknown {
			checkHumanText(t, string(code), newErrorMsg(code, err).Text)
			return
		}
		switch m.MT {
		case mtStart:
			if m.UUID == "" || len(m.Lang) > 16 {
				t.Fatalf("accepted Start %+v", m)
			}
		case mtGetPicture:
			if m.ID == "" {
				t.Fatalf("accepted GetPicture without id")
			}
		case mtPing, mtCreateCall, mtChannels, mtClearCall, mtCallResume, mtDtmf, mtChatOpen, mtChatSend,
			mtChatTyping, mtChatClose, mtChatResume, mtChatAck, mtLeaveMsg:
		default:
			t.Fatalf("accepted unknown type %q", m.MT)
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
	})
}
