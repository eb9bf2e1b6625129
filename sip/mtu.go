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

var raiseLimits sync.Once

// allowLargeMessages lifts sipgo's limits: sending up to maxUDPMessage
// over UDP, reading whole 64 KiB datagrams (sipgo reads 32 KiB), and
// messages up to maxListNotifyBody plus headers over TCP and TLS, which
// resource list NOTIFYs of a few hundred agents need. Only trusted sources
// get to send over TCP (inbound.go). sipgo keeps these in package
// variables, so they are set once for the process, before the first
// transport exists.
func allowLargeMessages() {
	raiseLimits.Do(func() {
		if sip.UDPMTUSize < maxUDPMessage+200 {
			sip.UDPMTUSize = maxUDPMessage + 200
		}
		sip.TransportBufferReadSize = 65535
		if sip.ParseMaxMessageLength < maxListNotifyBody+16<<10 {
			sip.ParseMaxMessageLength = maxListNotifyBody + 16<<10
		}
	})
}
