package clientaddr

import (
	"net"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// proxyHeaderTimeout bounds how long a trusted peer may take to send its
// PROXY header.
const proxyHeaderTimeout = 5 * time.Second

// Listener wraps ln to read a PROXY protocol v1 or v2 header on connections
// from trusted proxies: their RemoteAddr becomes the client the header
// names (a trusted proxy may also connect without one, e.g. for health
// checks). Connections from anyone else are passed on untouched, so a
// PROXY header from them is no HTTP request and is refused as such.
func (r *Resolver) Listener(ln net.Listener) net.Listener {
	return &proxyproto.Listener{
		Listener:          ln,
		ReadHeaderTimeout: proxyHeaderTimeout,
		ConnPolicy: func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			if peer, ok := parseHostPort(o.Upstream.String()); ok && r.Trusted(peer) {
				return proxyproto.USE, nil
			}
			return proxyproto.SKIP, nil
		},
	}
}
