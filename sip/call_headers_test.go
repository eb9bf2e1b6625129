package sip

import (
	"errors"
	"strings"
	"testing"
)

// TestCallHeadersOnTheWire: the allowed headers of a CallRequest reach the
// INVITE as given, with canonical names.
func TestCallHeadersOnTheWire(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	f.setScript(func(c *uasCall) { c.respond(486, "") })
	u, _ := startCallUA(t, f, nil)
	ev := newLegEvents()
	hs := []Header{
		{Name: "subject", Value: "Example shop: Returns"},
		{Name: "Call-Info", Value: "<https://shop.example.com/kettles>;purpose=info"},
		{Name: "ALERT-INFO", Value: "<urn:alert:service:normal>"},
	}
	if _, err := u.Call(t.Context(), CallRequest{Target: "sip:agent@example.test", DisplayName: "Ann", SDP: []byte(offerSDP), Headers: hs}, ev); err != nil {
		t.Fatal(err)
	}
	inv := f.nextCall().req
	ev.waitEnded(t)
	for name, want := range map[string]string{
		"Subject": "Example shop: Returns", "Call-Info": "<https://shop.example.com/kettles>;purpose=info", "Alert-Info": "<urn:alert:service:normal>",
	} {
		if h := inv.GetHeader(name); h == nil || h.Value() != want {
			t.Errorf("INVITE %s: %v, want %q", name, h, want)
		}
		if !strings.Contains(inv.String(), "\r\n"+name+": "+want+"\r\n") {
			t.Errorf("INVITE on the wire lacks the line %s: %s", name, want)
		}
	}
}

// TestCallHeadersRefused: anything but the allow-list, or a value that
// could break the header, is refused before anything is sent.
func TestCallHeadersRefused(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	f.setScript(func(c *uasCall) { c.respond(486, "") })
	u, _ := startCallUA(t, f, nil)
	for _, tc := range []struct {
		name string
		hs   []Header
	}{
		{"Contact", []Header{{Name: "Contact", Value: "<sip:evil@example.com>"}}},
		{"Via", []Header{{Name: "Via", Value: "SIP/2.0/UDP 192.0.2.1"}}},
		{"X- header", []Header{{Name: "X-Page", Value: "https://shop.example.com/"}}},
		{"name with a colon", []Header{{Name: "Subject: x\r\nContact", Value: "y"}}},
		{"twice", []Header{{Name: "Subject", Value: "a"}, {Name: "subject", Value: "b"}}},
		{"CRLF", []Header{{Name: "Subject", Value: "Returns\r\nContact: <sip:evil@example.com>"}}},
		{"LF", []Header{{Name: "Subject", Value: "Returns\nX: 1"}}},
		{"NUL", []Header{{Name: "Subject", Value: "Ret\x00urns"}}},
		{"C1 control", []Header{{Name: "Subject", Value: "Ret\u0085urns"}}},
		{"line separator", []Header{{Name: "Subject", Value: "Ret\u2028urns"}}},
		{"not UTF-8", []Header{{Name: "Subject", Value: "Ret\xffurns"}}},
		{"empty", []Header{{Name: "Subject", Value: ""}}},
		{"padded", []Header{{Name: "Subject", Value: " Returns"}}},
		{"too long", []Header{{Name: "Subject", Value: strings.Repeat("a", maxCallHeaderValue+1)}}},
	} {
		_, err := u.Call(t.Context(), CallRequest{Target: "sip:agent@example.test", SDP: []byte(offerSDP), Headers: tc.hs}, newLegEvents())
		if !errors.Is(err, ErrBadHeader) {
			t.Errorf("%s: Call returned %v, want ErrBadHeader", tc.name, err)
		}
	}
	// The first INVITE the PBX sees is that of the next good call.
	ev := newLegEvents()
	call(t, u, ev, "After the refusals")
	if inv := f.nextCall().req; inv.From().DisplayName != "After the refusals" {
		t.Errorf("a refused call reached the PBX: %s", inv.String())
	}
	ev.waitEnded(t)
}
