package sip

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestParseSubState(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    subState
		wantErr bool
	}{
		{in: "active;expires=600", want: subState{state: SubActive, expires: 600 * time.Second}},
		{in: "Pending", want: subState{state: SubPending}},
		{in: "terminated;reason=noresource", want: subState{state: SubTerminated, reason: "noresource"}},
		{in: "terminated; reason=Probation ;retry-after=30", want: subState{state: SubTerminated, reason: "probation", retryAfter: 30 * time.Second}},
		{in: "", wantErr: true},
		{in: "sleeping", wantErr: true},
	} {
		got, err := parseSubState(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("parseSubState(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestMediaType(t *testing.T) {
	for in, want := range map[string]string{
		"application/pidf+xml":                       "application/pidf+xml",
		"Application/Dialog-Info+XML; charset=UTF-8": "application/dialog-info+xml",
		"": "",
	} {
		if got := mediaType(in); got != want {
			t.Errorf("mediaType(%q) = %q, want %q", in, got, want)
		}
	}
}

// A real terminated NOTIFY: Content-Type set but no body.
func TestCorpusTerminatedNotify(t *testing.T) {
	raw, err := os.ReadFile("testdata/notify/escaux-asterisk-chansip-terminated-timeout-ctype-without-body.txt")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := sip.ParseMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	st, err := parseSubState(firstValue(req, "Subscription-State"))
	if err != nil || st.state != SubTerminated || st.reason != "timeout" {
		t.Errorf("state %+v %v", st, err)
	}
	if ct := mediaType(firstValue(req, "Content-Type")); ct != "application/epresence+json" || len(req.Body()) != 0 {
		t.Errorf("content type %q body %d bytes", ct, len(req.Body()))
	}
	if key, ok := notifyKey(req); !ok || key.localTag != "6vd6h5hbf8" || key.callID != "9qaqhhdfavpjlj0np4fj" {
		t.Errorf("dialog key %+v %v", key, ok)
	}
}

func TestParseHostURI(t *testing.T) {
	for in, want := range map[string]string{
		"pbx.example.com":                        "sip:pbx.example.com",
		"10.0.0.1:5070":                          "sip:10.0.0.1:5070",
		"sip:pbx.example.com:5080;transport=tcp": "sip:pbx.example.com:5080",
		"sips:pbx.example.com":                   "sips:pbx.example.com",
	} {
		got, err := parseHostURI(in)
		if err != nil || got.String() != want {
			t.Errorf("parseHostURI(%q) = %s, %v; want %s", in, got.String(), err, want)
		}
	}
	if _, err := parseHostURI("user@host"); err == nil {
		t.Error("user@host accepted as a host")
	}
}

// A real NOTIFY header block (its 631-byte deflated body is not part of the
// vector): what the UA reads from it to match and judge a NOTIFY.
func TestCorpusConferenceNotifyHeaders(t *testing.T) {
	raw, err := os.ReadFile("testdata/notify/flexisip-conference-notify-deflate-headers-only.txt")
	if err != nil {
		t.Fatal(err)
	}
	// Without the body the declared Content-Length cannot be met; read the
	// headers with an honest length.
	raw = []byte(strings.Replace(string(raw), "Content-Length: 631", "Content-Length: 0", 1))
	msg, err := sip.ParseMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	if key, ok := notifyKey(req); !ok || key.callID != "Y-f~ZmLO70" || key.localTag != "x3OWQUqIh" {
		t.Errorf("dialog key %+v %v", key, ok)
	}
	if st, err := parseSubState(firstValue(req, "Subscription-State")); err != nil || st.state != SubActive || st.expires != 600*time.Second {
		t.Errorf("state %+v %v", st, err)
	}
	if ev := eventPackage(firstValue(req, "Event")); ev != "conference" {
		t.Errorf("event %q", ev)
	}
	if ct := mediaType(firstValue(req, "Content-Type")); ct != "application/conference-info+xml" {
		t.Errorf("content type %q", ct)
	}
}
