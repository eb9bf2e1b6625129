package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/frontdesk-gw/frontdesk/config"
)

// Header names the header a trusted proxy names the client in.
type Header string

const (
	HeaderUnknown       Header = ""
	HeaderXForwardedFor Header = "x-forwarded-for"
	HeaderForwarded     Header = "forwarded"
)

// ParseHeader reads a config value; "" is X-Forwarded-For.
func ParseHeader(s string) (Header, error) {
	switch h := Header(strings.ToLower(s)); h {
	case HeaderUnknown:
		return HeaderXForwardedFor, nil
	case HeaderXForwardedFor, HeaderForwarded:
		return h, nil
	}
	return HeaderUnknown, fmt.Errorf("%q is not x-forwarded-for or forwarded", s)
}

func (h Header) String() string { return string(h) }

// maxHops bounds the addresses read from one request's header.
const maxHops = 32

// Resolver finds client addresses; the zero value trusts nobody.
type Resolver struct {
	trusted []netip.Prefix
	header  Header
}

// New returns a resolver that trusts the proxies (IPs or CIDRs) and reads
// header from them.
func New(proxies []string, header Header) (*Resolver, error) {
	r := &Resolver{header: header}
	if r.header == HeaderUnknown {
		r.header = HeaderXForwardedFor
	}
	for _, p := range proxies {
		prefix, err := config.ParseAddrOrPrefix(p)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy: %w", err)
		}
		r.trusted = append(r.trusted, prefix)
	}
	return r, nil
}

// Trusted reports whether a is a trusted proxy.
func (r *Resolver) Trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the client address of req as a canonical string
// (IPv4 without the ::ffff: prefix). req.RemoteAddr is the peer, or the
// client named by a PROXY header when Listener read one.
func (r *Resolver) ClientIP(req *http.Request) string {
	peer, ok := parseHostPort(req.RemoteAddr)
	if !ok {
		return req.RemoteAddr
	}
	if len(r.trusted) == 0 || !r.Trusted(peer) {
		return peer.String()
	}
	var hops []netip.Addr
	switch r.header {
	case HeaderForwarded:
		hops = forwardedFor(req.Header.Values("Forwarded"))
	default:
		hops = xForwardedFor(req.Header.Values("X-Forwarded-For"))
	}
	return r.pick(peer, hops).String()
}

// pick walks hops from the right, starting at the trusted peer: the client
// is the first address that is not a trusted proxy. When every hop is
// trusted the left-most is the client. A broken list (a hop that is no
// address) was cut at the break, so nothing beyond it is believed.
func (r *Resolver) pick(peer netip.Addr, hops []netip.Addr) netip.Addr {
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		client = hops[i]
		if !r.Trusted(client) {
			return client
		}
	}
	return client
}

// parseHostPort reads "ip:port", "[v6]:port" or a bare IP.
func parseHostPort(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	host := s
	if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
