package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestHTTPSOnly: tls_min_version, redirect_listen and acme_webroot are
// checked with file:line problems, and get their defaults.
func TestHTTPSOnly(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"cert.pem", "key.pem", "not-a-dir"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "acme"), 0o700); err != nil {
		t.Fatal(err)
	}
	// http: is on line 5, its keys from line 6.
	const tlsOn = "  tls_cert: cert.pem\n  tls_key: key.pem\n"
	tests := []struct {
		name      string
		http      string
		wantErrs  []string
		wantWarns []string
	}{
		{name: "defaults", http: "  listen: :8443\n" + tlsOn},
		{name: "tls 1.3", http: "  listen: :8443\n" + tlsOn + "  tls_min_version: \"1.3\"\n"},
		{name: "redirect with tls", http: "  listen: :443\n" + tlsOn + "  redirect_listen: :80\n  acme_webroot: acme\n"},
		{name: "redirect to an https proxy", http: "  listen: 127.0.0.1:8080\n  public_url: https://contact.example.com\n  redirect_listen: :80\n"},
		{name: "port 0: public_url derived at start", http: "  listen: 127.0.0.1:0\n" + tlsOn + "  redirect_listen: 127.0.0.1:0\n"},
		{
			name:     "bad version",
			http:     "  listen: :8443\n" + tlsOn + "  tls_min_version: \"1.1\"\n",
			wantErrs: []string{`t.yaml:9: http.tls_min_version: "1.1" is not one of 1.2, 1.3`},
		},
		{
			name:      "version without tls",
			http:      "  listen: :8080\n  tls_min_version: \"1.3\"\n",
			wantWarns: []string{"t.yaml:7: http.tls_min_version: has no effect without tls_cert and tls_key"},
		},
		{
			name:     "redirect to plain http",
			http:     "  listen: :8080\n  redirect_listen: :80\n",
			wantErrs: []string{"t.yaml:7: http.redirect_listen: redirects to public_url, which must be https"},
		},
		{
			name:     "redirect to an http public_url",
			http:     "  listen: :8443\n" + tlsOn + "  public_url: http://contact.example.com\n  redirect_listen: :80\n",
			wantErrs: []string{"t.yaml:10: http.redirect_listen: redirects to public_url, which must be https"},
		},
		{
			name:     "redirect on the https port",
			http:     "  listen: :443\n" + tlsOn + "  redirect_listen: 0.0.0.0:443\n",
			wantErrs: []string{`t.yaml:9: http.redirect_listen: "0.0.0.0:443" is http.listen too: the redirect needs a port of its own`},
		},
		{
			name:     "redirect not an address",
			http:     "  listen: :443\n" + tlsOn + "  redirect_listen: eighty\n",
			wantErrs: []string{`t.yaml:9: http.redirect_listen: "eighty" is not an address such as :80`},
		},
		{
			name:     "webroot without redirect",
			http:     "  listen: :443\n" + tlsOn + "  acme_webroot: acme\n",
			wantErrs: []string{"t.yaml:9: http.acme_webroot: needs redirect_listen: the challenges are served there"},
		},
		{
			name:     "webroot missing or a file",
			http:     "  listen: :443\n" + tlsOn + "  redirect_listen: :80\n  acme_webroot: nowhere\n",
			wantErrs: []string{`t.yaml:10: http.acme_webroot: cannot use "nowhere": no such file or directory`},
		},
		{
			name:     "webroot a file",
			http:     "  listen: :443\n" + tlsOn + "  redirect_listen: :80\n  acme_webroot: not-a-dir\n",
			wantErrs: []string{`t.yaml:10: http.acme_webroot: "not-a-dir" is not a directory`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := sipYAML() + "http:\n" + tc.http
			c, warns, err := Parse("t.yaml", []byte(data), dir)
			if tc.wantErrs != nil {
				if err == nil {
					t.Fatalf("no error, want %q\n%s", tc.wantErrs, numbered(data))
				}
				if got := problemStrings(t, err); !slices.Equal(got, tc.wantErrs) {
					t.Errorf("errors\n%q\nwant\n%q\n%s", got, tc.wantErrs, numbered(data))
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse:\n%v\n%s", err, numbered(data))
			}
			var got []string
			for _, w := range warns {
				if w.Msg != "sip.password: inline password: prefer password_env or password_file" {
					got = append(got, w.String())
				}
			}
			if !slices.Equal(got, tc.wantWarns) {
				t.Errorf("warnings %q, want %q", got, tc.wantWarns)
			}
			if c.HTTP.TLSMinVersion == "" {
				t.Error("tls_min_version has no default")
			}
			if c.HTTP.ACMEWebroot != "" && c.HTTP.ACMEWebroot != filepath.Join(dir, "acme") {
				t.Errorf("acme_webroot %q, want it resolved against %s", c.HTTP.ACMEWebroot, dir)
			}
		})
	}
}

// TestPBXMediaIPBehindNAT: with sip.public_address set (the PBX reaches
// the gateway through a NAT), SDP toward the PBX names that address, or
// calls.public_ip when it is a host name; without it, nothing is derived.
func TestPBXMediaIPBehindNAT(t *testing.T) {
	tests := []struct {
		name, sip, calls string
		want             string
		wantWarn         bool
	}{
		{name: "direct", want: ""},
		{name: "public IP", sip: "  public_address: 203.0.113.10:5060\n", calls: "calls:\n  public_ip: 203.0.113.10\n", want: "203.0.113.10"},
		{name: "public address alone", sip: "  public_address: 203.0.113.11\n", want: "203.0.113.11"},
		{name: "host name and public_ip", sip: "  public_address: gw.example.com:5060\n", calls: "calls:\n  public_ip: 203.0.113.12\n", want: "203.0.113.12"},
		{name: "host name alone", sip: "  public_address: gw.example.com:5060\n", want: "", wantWarn: true},
		{name: "public_ip alone: browsers only", calls: "calls:\n  public_ip: 203.0.113.13\n", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, warns := mustParse(t, sipYAML(strings.TrimSuffix(tc.sip, "\n"))+tc.calls, "")
			if c.Calls.PBXMediaIP != tc.want {
				t.Errorf("PBXMediaIP %q, want %q", c.Calls.PBXMediaIP, tc.want)
			}
			warned := false
			for _, w := range warns {
				warned = warned || strings.Contains(w.Msg, "SDP toward the PBX names the local RTP address")
			}
			if warned != tc.wantWarn {
				t.Errorf("warned %v, want %v: %v", warned, tc.wantWarn, warns)
			}
		})
	}
}
