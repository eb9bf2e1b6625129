package sip

import (
	"net"
	"time"

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

// TraceRecord is one SIP message the UA sent or read, for a live trace.
type TraceRecord struct {
	Time      time.Time
	Out       bool   // sent by the UA (else read)
	Transport string // "UDP", "TCP" or "TLS"
	Remote    string // the peer's host:port
	// Text is the message as sent, or the bytes as read: on TCP one read
	// may hold part of a message or several.
	Text string
}

// SetTraceTap makes f receive every SIP message the UA sends and reads
// from now on, as the trace logs them (after the trust check), whatever
// Options.Trace says; nil stops it. Without a tap nothing is copied. f is
// called on the UA's transport and sending goroutines: it must not block.
func (u *UA) SetTraceTap(f func(TraceRecord)) {
	if f == nil {
		u.tap.Store(nil)
		return
	}
	u.tap.Store(&f)
}

// traceOut logs one message the UA sends, and hands it to the tap.
func (u *UA) traceOut(m sip.Message, remote string) {
	tap := u.tap.Load()
	if !u.opts.Trace && tap == nil {
		return
	}
	text := m.String()
	if u.opts.Trace {
		u.log.Info(TraceLogMessage, "dir", "out", "transport", m.Transport(), "remote", remote, "sip", text)
	}
	if tap != nil {
		(*tap)(TraceRecord{Time: time.Now(), Out: true, Transport: m.Transport(), Remote: remote, Text: text})
	}
}

// traceIn logs bytes read from a peer, and hands them to the tap.
func (u *UA) traceIn(p sip.TransportReadProps, data []byte) {
	tap := u.tap.Load()
	if !u.opts.Trace && tap == nil {
		return
	}
	text := string(data)
	if u.opts.Trace {
		u.log.Info(TraceLogMessage, "dir", "in", "transport", p.Transport,
			"remote", addrString(p.RemoteAddr), "local", addrString(p.LocalAddr), "sip", text)
	}
	if tap != nil {
		(*tap)(TraceRecord{Time: time.Now(), Transport: p.Transport, Remote: addrString(p.RemoteAddr), Text: text})
	}
}
