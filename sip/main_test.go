package sip

import (
	"testing"

	"go.uber.org/goleak"
)

// sipgo closes the UDP sockets its clients open per destination (the fake
// PBXs of these tests send from such sockets) after the UserAgent is closed,
// and their reader goroutines may still be winding down when a loaded
// machine gets here. The UA's own goroutines are checked as everywhere.
func TestMain(m *testing.M) {
	allowLargeMessages() // as New does, but before the fake PBXs' transports exist
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"))
}
