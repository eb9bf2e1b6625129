package bridge

import (
	"fmt"
	"net/netip"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
)

// maxCandidates bounds the distinct remote ICE candidates taken from one
// browser offer: the gateway sends connectivity checks to each of them.
// A browser offers a handful (host, server-reflexive and relay addresses
// per network); 16 leave room for a multi-homed machine, and keep an offer
// from turning the gateway into a prober of many addresses.
const maxCandidates = 16

// specialUse are networks, beyond what netip classifies (loopback,
// private, link-local, multicast, unspecified), that are no browser's
// public address (RFC 6890 and its updates).
var specialUse = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (carrier NAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use IPv4/IPv6 translation
}

// Prefixes that embed an IPv4 address, which is then checked as well.
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052, the IPv4 in the last 32 bits
	sixTo4 = netip.MustParsePrefix("2002::/16")    // RFC 3056, the IPv4 in bits 16-47
)

// candidatePolicy says which addresses a browser's candidates may name.
type candidatePolicy struct {
	allowed []netip.Prefix // calls.candidate_networks
}

func newCandidatePolicy(networks []string) (*candidatePolicy, error) {
	p := &candidatePolicy{}
	for _, n := range networks {
		pfx, err := config.ParseAddrOrPrefix(n)
		if err != nil {
			return nil, err
		}
		p.allowed = append(p.allowed, pfx)
	}
	return p, nil
}

// SetCandidateNetworks replaces calls.candidate_networks for calls placed
// from now on (a config reload).
func (e *Engine) SetCandidateNetworks(networks []string) error {
	p, err := newCandidatePolicy(networks)
	if err != nil {
		return fmt.Errorf("calls.candidate_networks: %w", err)
	}
	e.candidates.Store(p)
	return nil
}

// allows reports whether the gateway may send connectivity checks to a:
// public addresses always, special-use ones only inside an allowed network.
func (p *candidatePolicy) allows(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.allowed {
		if n.Contains(a) {
			return true
		}
	}
	if a.IsUnspecified() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsMulticast() {
		return false
	}
	for _, n := range specialUse {
		if n.Contains(a) {
			return false
		}
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return p.allows(netip.AddrFrom4([4]byte(b[12:16])))
		case sixTo4.Contains(a):
			return p.allows(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	return true
}

// filter removes from the offer the candidates the gateway will not probe:
// those naming no IP address (mDNS names, which the gateway does not
// resolve, and host names), those the policy refuses, and any beyond the
// first maxCandidates distinct ones (a candidate repeated in bundled
// m-lines counts once). It returns how many candidate lines it dropped.
func (p *candidatePolicy) filter(sd *sdp.SessionDescription) int {
	dropped := 0
	kept := map[string]bool{}
	keep := func(attrs []sdp.Attribute) []sdp.Attribute {
		out := attrs[:0]
		for _, a := range attrs {
			if !a.IsICECandidate() {
				out = append(out, a)
				continue
			}
			if kept[a.Value] || (len(kept) < maxCandidates && p.takes(a.Value)) {
				kept[a.Value] = true
				out = append(out, a)
				continue
			}
			dropped++
		}
		return out
	}
	sd.Attributes = keep(sd.Attributes)
	for _, m := range sd.MediaDescriptions {
		m.Attributes = keep(m.Attributes)
	}
	return dropped
}

// takes reports whether one a=candidate value is usable and allowed.
func (p *candidatePolicy) takes(value string) bool {
	c, err := ice.UnmarshalCandidate(value)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(c.Address())
	return err == nil && p.allows(a)
}
