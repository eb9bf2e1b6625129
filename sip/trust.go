package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// trustList holds the source prefixes allowed to send requests.
type trustList struct {
	prefixes []netip.Prefix
}

func (t *trustList) allows(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// buildTrust parses TrustedSources (IPs or CIDRs); when there are none it
// resolves the registrar's and outbound proxy's hosts.
func buildTrust(ctx context.Context, s settings, r *net.Resolver) (*trustList, error) {
	t := &trustList{}
	for _, v := range s.cfg.TrustedSources {
		v = strings.TrimSpace(v)
		if p, err := netip.ParsePrefix(v); err == nil {
			t.prefixes = append(t.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("trusted source %q: not an IP or CIDR", v)
		}
		a = a.Unmap()
		t.prefixes = append(t.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(t.prefixes) > 0 {
		return t, nil
	}
	hosts := []string{s.registrar.Host}
	if s.proxy != nil {
		hosts = append(hosts, s.proxy.Host)
	}
	for _, h := range hosts {
		ips, err := r.LookupNetIP(ctx, "ip", h)
		if err != nil {
			return nil, fmt.Errorf("resolve %s for trusted sources: %w", h, err)
		}
		for _, a := range ips {
			a = a.Unmap()
			t.prefixes = append(t.prefixes, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return t, nil
}

// rateGate lets one event through per interval and counts the rest.
type rateGate struct {
	interval   time.Duration
	last       atomic.Int64 // unix nanoseconds
	suppressed atomic.Int64
}

// allow reports whether to log now and how many were suppressed since.
func (g *rateGate) allow(now time.Time) (bool, int64) {
	last := g.last.Load()
	if now.UnixNano()-last < int64(g.interval) || !g.last.CompareAndSwap(last, now.UnixNano()) {
		g.suppressed.Add(1)
		return false, 0
	}
	return true, g.suppressed.Swap(0)
}
