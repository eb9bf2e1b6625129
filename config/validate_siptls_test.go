package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/frontdesk-gw/frontdesk/internal/testca"
)

// TestSIPTLS: the sip section's TLS keys (tls_ca, tls_cert, tls_key,
// tls_insecure), sips: registrars and the SDES-only-over-TLS rule give
// file:line errors and warnings, defaults and resolved paths.
func TestSIPTLS(t *testing.T) {
	dir := t.TempDir()
	ca, err := testca.New("config test CA")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.Issue(testca.Leaf{Names: []string{"gw.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := ca.Issue(testca.Leaf{Names: []string{"other.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"ca.pem": ca.PEM, "cert.pem": pair.CertPEM, "key.pem": pair.KeyPEM, "other-key.pem": other.KeyPEM,
		"junk.pem": []byte("not a certificate\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const pair12 = "  tls_cert: cert.pem\n  tls_key: key.pem\n"
	// The sip section's first four lines are sipYAML's; extra lines start at 5.
	tests := []struct {
		name          string
		sip, calls    string
		wantErrs      []string
		wantWarns     []string
		wantTransport string
	}{
		{name: "tls with a private CA and a client certificate", sip: "  transport: tls\n  tls_ca: ca.pem\n" + pair12, wantTransport: "tls"},
		{name: "tls without a certificate: nothing listens", sip: "  transport: TLS\n", wantTransport: "tls",
			wantWarns: []string{"t.yaml:5: sip.transport: tls without tls_cert and tls_key: the gateway does not listen for TLS, so the PBX must send its requests (NOTIFY, MESSAGE, BYE) over the connection the gateway opened; see README, SIP over TLS"}},
		{name: "a sips: registrar means tls", sip: "  registrar: sips:pbx.example.com\n" + pair12, wantTransport: "tls"},
		{name: "a sips: outbound proxy means tls", sip: "  outbound_proxy: sips:proxy.example.com:5061\n" + pair12, wantTransport: "tls"},
		{name: "sips: over udp", sip: "  registrar: sips:pbx.example.com\n  transport: udp\n",
			wantErrs: []string{"t.yaml:6: sip.transport: udp with a sips: registrar or outbound proxy: sips: needs tls"}},
		{name: "insecure", sip: "  transport: tls\n  tls_insecure: true\n" + pair12, wantTransport: "tls",
			wantWarns: []string{"t.yaml:6: sip.tls_insecure: the PBX's certificate is not verified: anyone on the path can read and change the SIP traffic; for tests only"}},
		{name: "tls keys without tls", sip: "  tls_ca: ca.pem\n  tls_insecure: true\n" + pair12, wantTransport: "udp",
			wantWarns: []string{
				"t.yaml:5: sip.tls_ca: has no effect unless sip.transport is tls",
				"t.yaml:6: sip.tls_insecure: has no effect unless sip.transport is tls",
				"t.yaml:7: sip.tls_cert: has no effect unless sip.transport is tls",
			}},
		{name: "cert without key", sip: "  transport: tls\n  tls_cert: cert.pem\n",
			wantErrs: []string{"t.yaml:6: sip.tls_cert: tls_cert and tls_key must be set together"}},
		{name: "missing files", sip: "  transport: tls\n  tls_ca: none.pem\n  tls_cert: gone.pem\n  tls_key: key.pem\n",
			wantErrs: []string{
				`t.yaml:6: sip.tls_ca: cannot use "none.pem": no such file or directory`,
				`t.yaml:7: sip.tls_cert: cannot use "gone.pem": no such file or directory`,
			}},
		{name: "a CA file without certificates", sip: "  transport: tls\n  tls_ca: junk.pem\n" + pair12,
			wantErrs: []string{"t.yaml:6: sip.tls_ca: " + filepath.Join(dir, "junk.pem") + " holds no PEM certificate"}},
		{name: "the key of another certificate", sip: "  transport: tls\n  tls_cert: cert.pem\n  tls_key: other-key.pem\n",
			wantErrs: []string{"t.yaml:7: sip.tls_key: cannot use the key pair: tls: private key does not match public key"}},
		{name: "sdes over tls", sip: "  transport: tls\n" + pair12, calls: "calls:\n  srtp: sdes\n", wantTransport: "tls"},
		{name: "sdes over udp refused", calls: "calls:\n  srtp: sdes\n",
			wantErrs: []string{"t.yaml:6: calls.srtp: sdes puts the SRTP keys in the SDP, which sip.transport udp carries in clear text: set sip.transport to tls"}},
		{name: "sdes over tcp refused", sip: "  transport: tcp\n", calls: "calls:\n  srtp: sdes\n",
			wantErrs: []string{"t.yaml:7: calls.srtp: sdes puts the SRTP keys in the SDP, which sip.transport tcp carries in clear text: set sip.transport to tls"}},
		{name: "sdes to an unverified PBX", sip: "  transport: tls\n  tls_insecure: true\n" + pair12, calls: "calls:\n  srtp: sdes\n", wantTransport: "tls",
			wantWarns: []string{
				"t.yaml:6: sip.tls_insecure: the PBX's certificate is not verified: anyone on the path can read and change the SIP traffic; for tests only",
				"t.yaml:10: calls.srtp: sdes keys go to a PBX whose certificate is not verified (sip.tls_insecure)",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A later registrar key overrides sipYAML's: yaml.v3 refuses
			// duplicates, so replace it instead.
			data := sipYAML() + tc.sip + tc.calls
			if strings.Contains(tc.sip, "  registrar:") {
				data = strings.Replace(data, "  registrar: pbx.test\n", "", 1)
				data = strings.Replace(data, "  username: gw\n", "  username: gw\n  # registrar below\n", 1)
			}
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
				if !strings.Contains(w.Msg, "inline password") {
					got = append(got, w.String())
				}
			}
			if !slices.Equal(got, tc.wantWarns) {
				t.Errorf("warnings\n%q\nwant\n%q\n%s", got, tc.wantWarns, numbered(data))
			}
			if c.SIP.Transport != tc.wantTransport {
				t.Errorf("transport %q, want %q", c.SIP.Transport, tc.wantTransport)
			}
			if c.SIP.TLSCert != "" && (c.SIP.TLSCert != filepath.Join(dir, "cert.pem") || c.SIP.TLSKey != filepath.Join(dir, "key.pem")) {
				t.Errorf("tls_cert %q, tls_key %q: not resolved against %s", c.SIP.TLSCert, c.SIP.TLSKey, dir)
			}
			if c.SIP.TLSCA != "" && c.SIP.TLSCA != filepath.Join(dir, "ca.pem") {
				t.Errorf("tls_ca %q: not resolved against %s", c.SIP.TLSCA, dir)
			}
		})
	}
}
