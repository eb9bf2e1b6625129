package config

import (
	"slices"
	"strings"
	"testing"
)

func TestAdminListen(t *testing.T) {
	c, _ := mustParse(t, sipYAML(), "")
	if c.Admin.Listen != DefaultAdminListen {
		t.Errorf("default admin listen = %q, want %q", c.Admin.Listen, DefaultAdminListen)
	}
	c, _ = mustParse(t, sipYAML()+"http:\n  listen: 127.0.0.1:0\n", "")
	if c.Admin.Listen != "127.0.0.1:0" {
		t.Errorf("admin listen with a free http port = %q, want 127.0.0.1:0", c.Admin.Listen)
	}
	_, warns := mustParse(t, sipYAML()+"admin:\n  listen: 0.0.0.0:9480\n", "")
	if len(warns) != 2 || !strings.HasPrefix(warns[1].String(), "t.yaml:6: admin.listen: ") {
		t.Errorf("warnings for a public admin listener = %v", warns)
	}
	_, _, err := Parse("t.yaml", []byte(sipYAML()+"http:\n  listen: 127.0.0.1:8080\nadmin:\n  listen: 127.0.0.1:8080\n"), "")
	if got := problemStrings(t, err); len(got) != 1 || !strings.HasPrefix(got[0], "t.yaml:8: admin.listen:") {
		t.Errorf("admin on the http port: %q", got)
	}
}

func TestTrustedProxies(t *testing.T) {
	c, _ := mustParse(t, sipYAML()+"http:\n  trusted_proxies: [127.0.0.1, \"10.1.2.3/8\", \"::1\", \"2001:db8::/32\"]\n  proxy_protocol: true\n", "")
	if !slices.Equal(c.HTTP.TrustedProxies, []string{"127.0.0.1", "10.1.2.3/8", "::1", "2001:db8::/32"}) || !c.HTTP.ProxyProtocol {
		t.Errorf("http = %+v", c.HTTP)
	}
	_, _, err := Parse("t.yaml", []byte(sipYAML()+"http:\n  trusted_proxies:\n    - 127.0.0.1\n    - proxy.example.com\n"), "")
	if got := problemStrings(t, err); len(got) != 1 || got[0] != `t.yaml:8: http.trusted_proxies[1]: "proxy.example.com" is not an IP address or CIDR` {
		t.Errorf("bad proxy: %q", got)
	}
	_, _, err = Parse("t.yaml", []byte(sipYAML()+"http:\n  proxy_protocol: true\n"), "")
	if got := problemStrings(t, err); len(got) != 1 || !strings.HasPrefix(got[0], "t.yaml:6: http.proxy_protocol: needs trusted_proxies") {
		t.Errorf("proxy_protocol alone: %q", got)
	}
}

func TestParseAddrOrPrefix(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7/32"},
		{"::ffff:192.0.2.7", "192.0.2.7/32"},
		{"10.9.8.7/8", "10.0.0.0/8"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"example.com", ""},
		{"10.0.0.0/33", ""},
		{"", ""},
	} {
		p, err := ParseAddrOrPrefix(tc.in)
		if got := p.String(); (err != nil) != (tc.want == "") || (err == nil && got != tc.want) {
			t.Errorf("ParseAddrOrPrefix(%q) = %v, %v; want %q", tc.in, p, err, tc.want)
		}
	}
}
