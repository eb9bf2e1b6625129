package clientaddr

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientIPTrustRules(t *testing.T) {
	xff, err := New([]string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32"}, HeaderXForwardedFor)
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := New([]string{"10.0.0.0/8", "192.0.2.1"}, HeaderForwarded)
	if err != nil {
		t.Fatal(err)
	}
	nobody, err := New(nil, HeaderXForwardedFor)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		r      *Resolver
		peer   string
		header map[string][]string
		want   string
	}{
		{name: "no proxy", r: xff, peer: "198.51.100.7:4000", want: "198.51.100.7"},
		{name: "spoofed header from an untrusted peer is ignored", r: xff, peer: "198.51.100.7:4000",
			header: map[string][]string{"X-Forwarded-For": {"203.0.113.9"}}, want: "198.51.100.7"},
		{name: "nobody trusted: headers ignored even from a proxy address", r: nobody, peer: "10.1.1.1:4000",
			header: map[string][]string{"X-Forwarded-For": {"203.0.113.9"}}, want: "10.1.1.1"},
		{name: "trusted proxy names the client", r: xff, peer: "10.1.1.1:4000",
			header: map[string][]string{"X-Forwarded-For": {"203.0.113.9"}}, want: "203.0.113.9"},
		{name: "visitor's own entries left of the client are not believed", r: xff, peer: "10.1.1.1:4000",
			header: map[string][]string{"X-Forwarded-For": {"1.1.1.1, 2.2.2.2", "203.0.113.9"}}, want: "203.0.113.9"},
		{name: "chain of trusted proxies", r: xff, peer: "10.1.1.1:4000",
			header: map[string][]string{"X-Forwarded-For": {"203.0.113.9, 192.0.2.1, 10.2.2.2"}}, want: "203.0.113.9"},
		{name: "visitor spoofs a trusted address to the left", r: xff, peer: "10.1.1.1:4000",
			header: map[string][]string{"X-Forwarded-For": {"10.9.9.9, 203.0.113.9"}}, want: "203.0.113.9"},
		{name: "all trusted: the left-most", r: xff, peer: "10.1.1.1:4000",
			header: map[string][]string{"X-Forwarded-For": {"10.3.3.3, 10.2.2.2"}}, want: "10.3.3.3"},
		{name: "garbage breaks the chain at the last readable hop", r: xff, peer: "10.1.1.1:4000",
			header: map[string][]string{"X-Forwarded-For": {"203.0.113.9, bogus, 10.2.2.2"}}, want: "10.2.2.2"},
		{name: "empty header", r: xff, peer: "10.1.1.1:4000",
			header: map[string][]string{"X-Forwarded-For": {""}}, want: "10.1.1.1"},
		{name: "IPv6 with port", r: xff, peer: "[2001:db8::1]:443",
			header: map[string][]string{"X-Forwarded-For": {"[2001:db8:ffff::9]:5000, 203.0.113.9:1234"}}, want: "203.0.113.9"},
		{name: "IPv4-mapped peer", r: xff, peer: "[::ffff:10.1.1.1]:443",
			header: map[string][]string{"X-Forwarded-For": {"::ffff:203.0.113.9"}}, want: "203.0.113.9"},
		{name: "Forwarded not read when X-Forwarded-For is named", r: xff, peer: "10.1.1.1:4000",
			header: map[string][]string{"Forwarded": {"for=203.0.113.9"}}, want: "10.1.1.1"},
		{name: "X-Forwarded-For not read when Forwarded is named", r: fwd, peer: "10.1.1.1:4000",
			header: map[string][]string{"X-Forwarded-For": {"203.0.113.9"}}, want: "10.1.1.1"},
		{name: "Forwarded", r: fwd, peer: "10.1.1.1:4000",
			header: map[string][]string{"Forwarded": {`for=1.1.1.1;proto=https, for="203.0.113.9:4711";by=10.1.1.1`}}, want: "203.0.113.9"},
		{name: "Forwarded IPv6 quoted", r: fwd, peer: "10.1.1.1:4000",
			header: map[string][]string{"Forwarded": {`For="[2001:db8:cafe::17]:4711"`}}, want: "2001:db8:cafe::17"},
		{name: "Forwarded over two lines", r: fwd, peer: "10.1.1.1:4000",
			header: map[string][]string{"Forwarded": {"for=203.0.113.9", "for=10.2.2.2"}}, want: "203.0.113.9"},
		{name: "Forwarded unknown breaks the chain", r: fwd, peer: "10.1.1.1:4000",
			header: map[string][]string{"Forwarded": {"for=203.0.113.9, for=unknown"}}, want: "10.1.1.1"},
		{name: "Forwarded with a quoted comma", r: fwd, peer: "10.1.1.1:4000",
			header: map[string][]string{"Forwarded": {`for=203.0.113.9;ext="a,b"`}}, want: "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/ws", nil)
			req.RemoteAddr = tc.peer
			for k, vs := range tc.header {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			if got := tc.r.ClientIP(req); got != tc.want {
				t.Errorf("ClientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHopsBounded(t *testing.T) {
	many := strings.Repeat("10.0.0.1, ", 1000) + "203.0.113.9"
	if hops := xForwardedFor([]string{many}); len(hops) != maxHops || hops[len(hops)-1] != netip.MustParseAddr("203.0.113.9") {
		t.Errorf("%d hops kept, last %v", len(hops), hops[len(hops)-1])
	}
}

func TestNewRefusesBadProxies(t *testing.T) {
	if _, err := New([]string{"proxy.example.com"}, HeaderXForwardedFor); err == nil {
		t.Error("a host name was accepted as a trusted proxy")
	}
	if _, err := ParseHeader("x-real-ip"); err == nil {
		t.Error("x-real-ip accepted")
	}
}

// FuzzClientIP: whatever the headers say, the result is an IP address, and
// from an untrusted peer it is the peer.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"203.0.113.9", "1.1.1.1, 10.0.0.1", `for="[2001:db8::1]:80";proto=http, for=10.0.0.2`, `for="\"`, ",,,", "[::1", "for=unknown"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	r, err := New([]string{"10.0.0.0/8"}, HeaderXForwardedFor)
	if err != nil {
		f.Fatal(err)
	}
	rf, err := New([]string{"10.0.0.0/8"}, HeaderForwarded)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string, trustedPeer bool) {
		peer := "198.51.100.7"
		if trustedPeer {
			peer = "10.1.1.1"
		}
		for _, res := range []*Resolver{r, rf} {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = peer + ":1234"
			req.Header.Set("X-Forwarded-For", header)
			req.Header.Set("Forwarded", header)
			got := res.ClientIP(req)
			a, err := netip.ParseAddr(got)
			if err != nil {
				t.Fatalf("ClientIP %q is no address", got)
			}
			if !trustedPeer && got != peer {
				t.Fatalf("untrusted peer: ClientIP %q, want %q", got, peer)
			}
			if a.Is4In6() {
				t.Fatalf("ClientIP %q keeps the IPv4-mapped form", got)
			}
		}
	})
}
