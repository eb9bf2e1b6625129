package sip

import (
	"net"

	"github.com/emiago/sipgo/sip"
)

// Tracing hooks into this UA's own transport and send paths, not sipgo's
// process-wide sip.SIPDebug switch, so two UAs (or tests) never share it.
// Incoming bytes are logged by the transport read filter (readFilter in
// inbound.go) as read, after the trust check (on TCP a
// read may hold part of a message or several). Outgoing messages are logged
// by the UA when it sends them; transaction-layer retransmissions of the same
// message are not logged again. Digest credentials carry a hash, never the
// password, so messages are logged whole.

// TraceLogMessage is the log message of every SIP trace record.
const TraceLogMessage = "sip trace"

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// traceOut logs one message the UA sends.
func (u *UA) traceOut(m sip.Message, remote string) {
	if !u.opts.Trace {
		return
	}
	u.log.Info(TraceLogMessage, "dir", "out", "transport", m.Transport(), "remote", remote, "sip", m.String())
}
