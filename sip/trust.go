package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
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
