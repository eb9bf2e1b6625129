package bridge

import "testing"

func TestStateAndReasonEnums(t *testing.T) {
	for _, s := range states {
		got, err := ParseState(s.String())
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s, got, err)
		}
	}
	for _, r := range Reasons {
		got, err := ParseReason(r.String())
		if err != nil || got != r {
			t.Errorf("ParseReason(%q) = %q, %v", r, got, err)
		}
	}
	if _, err := ParseState("ringing"); err == nil {
		t.Error("ParseState accepted an unknown state")
	}
	if _, err := ParseReason(""); err == nil {
		t.Error("ParseReason accepted the empty reason")
	}
}

func TestIsHold(t *testing.T) {
	const head = "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
	tests := []struct {
		name string
		sdp  string
		want bool
	}{
		{name: "sendrecv", sdp: head + "c=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n", want: false},
		{name: "no direction", sdp: head + "c=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n", want: false},
		{name: "sendonly", sdp: head + "c=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n", want: true},
		{name: "inactive", sdp: head + "c=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=inactive\r\n", want: true},
		{name: "session sendonly", sdp: head + "c=IN IP4 192.0.2.1\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n", want: true},
		{name: "media overrides session", sdp: head + "c=IN IP4 192.0.2.1\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n", want: false},
		{name: "zero address", sdp: head + "c=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\n", want: true},
		{name: "recvonly is not hold of the far end", sdp: head + "c=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=recvonly\r\n", want: false},
		{name: "garbage", sdp: "hello", want: false},
	}
	for _, tt := range tests {
		if got := isHold([]byte(tt.sdp)); got != tt.want {
			t.Errorf("%s: isHold = %v, want %v", tt.name, got, tt.want)
		}
	}
}
