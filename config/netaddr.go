package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseAddrOrPrefix reads an IP address or a CIDR ("192.0.2.7",
// "10.0.0.0/8", "2001:db8::/32"); an address is a prefix of its full
// length.
func ParseAddrOrPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
