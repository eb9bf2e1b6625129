package sip

import (
	"sync"

	"github.com/emiago/sipgo/sip"
)

// maxUDPMessage is the largest SIP message the UA sends over UDP.
//
// sipgo refuses UDP messages over 1300 bytes (RFC 3261 18.1.1 would switch
// such a request to TCP). A video INVITE with SDES keys, several H.264
// profiles or a digest answer passes that, and many PBXs listen on UDP only;
// they take larger datagrams, which the IP layer fragments. So the UA sends
// up to this size over UDP; operators who prefer TCP set sip.transport: tcp.
const maxUDPMessage = 8 << 10

var raiseUDPLimit sync.Once

// allowLargeUDP lifts sipgo's limit. sipgo keeps it in a package variable,
// so it is set once for the process, before the first transport exists.
func allowLargeUDP() {
	raiseUDPLimit.Do(func() {
		if sip.UDPMTUSize < maxUDPMessage+200 {
			sip.UDPMTUSize = maxUDPMessage + 200
		}
	})
}
