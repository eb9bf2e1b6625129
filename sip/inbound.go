package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// Reasons incoming SIP is dropped or refused, as counted in Status.Rejected
// (and /metrics frontdesk_sip_rejected_total{reason}).
const (
	// RejectUntrusted: from a source not in the trusted list. Requests get
	// 403; anything that is not SIP is dropped unanswered; TCP connections
	// are closed at once.
	RejectUntrusted = "untrusted"
	// RejectUnparsable: from a trusted source (or a peer the UA connected
	// to), but not SIP.
	RejectUnparsable = "unparsable"
	// RejectTransport: an agent MESSAGE over UDP while the gateway is set
	// to TCP or TLS, answered 403 (source addresses are easy to forge over
	// UDP).
	RejectTransport = "transport"
)

// RejectReasons lists every reason of Status.Rejected.
func RejectReasons() []string { return []string{RejectUntrusted, RejectUnparsable, RejectTransport} }

// maxLoggedBytes bounds any raw SIP text (or error quoting it) the UA or
// sipgo puts in a log line, except the SIP trace the operator asked for.
const maxLoggedBytes = 200

// rejects counts Status.Rejected by reason.
type rejects struct {
	untrusted, unparsable, transport atomic.Int64
}

func (r *rejects) add(reason string) {
	switch reason {
	case RejectUntrusted:
		r.untrusted.Add(1)
	case RejectUnparsable:
		r.unparsable.Add(1)
	case RejectTransport:
		r.transport.Add(1)
	}
}

func (r *rejects) snapshot() map[string]int64 {
	return map[string]int64{
		RejectUntrusted:  r.untrusted.Load(),
		RejectUnparsable: r.unparsable.Load(),
		RejectTransport:  r.transport.Load(),
	}
}

// trustedAddr reports whether a is a trusted source. Before Run has built
// the trust list nothing is trusted.
func (u *UA) trustedAddr(a netip.Addr) bool {
	t := u.trust.Load()
	return t != nil && t.allows(a)
}

func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip
	}
	if a == nil {
		return netip.Addr{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap.Addr()
}

// readFilter runs on every read of the UA's transports before sipgo parses
// it. A UDP datagram from an untrusted source is parsed here first: sipgo
// would log a datagram it cannot parse at error level with all its bytes,
// so from strangers that is dropped here, counted and logged at debug
// level. Well-formed requests go on and are answered 403 by route, so a
// misconfigured PBX learns why. With tracing on, what passes is traced.
func (u *UA) readFilter(p sip.TransportReadProps, data []byte) ([]byte, error) {
	if p.Transport == "UDP" && !u.trustedAddr(addrOf(p.RemoteAddr)) {
		if _, err := sip.ParseMessage(data); err != nil {
			u.rejected.add(RejectUntrusted)
			u.log.Debug("sip datagram from untrusted source dropped", "source", addrString(p.RemoteAddr),
				"bytes", len(data), "error", truncate(err.Error()))
			return nil, nil
		}
	}
	u.traceIn(p, data)
	return data, nil
}

// trustedListener closes TCP connections from untrusted sources as soon as
// they are accepted: only the PBX connects to the gateway.
type trustedListener struct {
	net.Listener
	u *UA
}

func (l trustedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.u.trustedAddr(addrOf(c.RemoteAddr())) {
			return c, nil
		}
		l.u.rejected.add(RejectUntrusted)
		l.u.log.Debug("sip connection from untrusted source closed", "source", c.RemoteAddr().String())
		_ = c.Close()
	}
}

// truncate shortens raw text for a log line.
func truncate(s string) string {
	if len(s) <= maxLoggedBytes {
		return s
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:maxLoggedBytes], len(s))
}

// sipgoLogHandler is the handler of the loggers given to sipgo. sipgo logs
// what it cannot parse at error level with the whole read (up to 64 KiB)
// and puts raw text in error messages; here every such value is cut to
// maxLoggedBytes, and parse failures are counted and logged as warnings
// (only trusted sources and peers the UA connected to reach sipgo's parser).
type sipgoLogHandler struct {
	next slog.Handler
	u    *UA
}

// sipgoParseFailure is the message sipgo logs a read it cannot parse with.
const sipgoParseFailure = "failed to parse"

func (h sipgoLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l) || l == slog.LevelError // parse failures are counted whatever the level
}

func (h sipgoLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == sipgoParseFailure {
		h.u.rejected.add(RejectUnparsable)
		r.Level = slog.LevelWarn
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(truncateAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h sipgoLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	cut := make([]slog.Attr, len(as))
	for i, a := range as {
		cut[i] = truncateAttr(a)
	}
	return sipgoLogHandler{next: h.next.WithAttrs(cut), u: h.u}
}

func (h sipgoLogHandler) WithGroup(name string) slog.Handler {
	return sipgoLogHandler{next: h.next.WithGroup(name), u: h.u}
}

func truncateAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if len(v.String()) > maxLoggedBytes {
			return slog.String(a.Key, truncate(v.String()))
		}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			if s := x.Error(); len(s) > maxLoggedBytes {
				return slog.String(a.Key, truncate(s))
			}
		case fmt.Stringer:
			if s := x.String(); len(s) > maxLoggedBytes {
				return slog.String(a.Key, truncate(s))
			}
		case []byte:
			return slog.String(a.Key, truncate(string(x)))
		}
	case slog.KindGroup:
		as := v.Group()
		cut := make([]any, len(as))
		for i, g := range as {
			cut[i] = truncateAttr(g)
		}
		return slog.Group(a.Key, cut...)
	}
	return a
}
