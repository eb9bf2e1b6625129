package sip

import (
	"context"
	"strings"
	"testing"
)

// A video INVITE with SDES keys easily passes 1300 bytes; over UDP it must
// still go out (the PBX reassembles the datagram).
func TestLargeInviteOverUDP(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	f.setScript(func(c *uasCall) { c.respond(486, "") })
	u, _ := startCallUA(t, f, nil)
	ev := newLegEvents()
	big := offerSDP + strings.Repeat("a=x-padding:0123456789abcdef0123456789abcdef\r\n", 60)
	if len(big) < 2500 {
		t.Fatalf("offer of %d bytes is not large", len(big))
	}
	if _, err := u.Call(context.Background(), CallRequest{Target: "sip:agent@example.test", DisplayName: "V", SDP: []byte(big)}, ev); err != nil {
		t.Fatalf("Call with a %d-byte offer: %v", len(big), err)
	}
	if got := f.nextCall().req; string(got.Body()) != big {
		t.Fatalf("the PBX got a %d-byte body, want %d", len(got.Body()), len(big))
	}
}
