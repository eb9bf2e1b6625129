package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/testca"
)

// TestSIPCertificateOnHealth: the gateway's SIP certificate
// (sip.tls_cert) shows on /healthz, and one near its end is a warning
// that names it.
func TestSIPCertificateOnHealth(t *testing.T) {
	ca, err := testca.New("health test CA")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Issue(testca.Leaf{Names: []string{"gw.example.com"}, ClientAuth: true, NotAfter: time.Now().Add(5*24*time.Hour + time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"sip-cert.pem": c.CertPEM, "sip-key.pem": c.KeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	yaml := strings.Replace(validConfig, "  password_file: secret.txt\n",
		"  password: x\n  transport: tls\n  tls_cert: sip-cert.pem\n  tls_key: sip-key.pem\n", 1)
	cfg, _, err := config.Parse("t.yaml", []byte(yaml), dir)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := testGatewayFrom(t, cfg).health()
	if h.SIP.TLS == nil || h.SIP.TLS.Subject != "CN=gw.example.com" || !h.SIP.TLS.NotAfter.Equal(c.NotAfter.Truncate(time.Second)) {
		t.Fatalf("/healthz sip.tls = %+v, want the certificate of gw.example.com", h.SIP.TLS)
	}
	found := false
	for _, w := range h.Warnings {
		found = found || strings.HasPrefix(w, "sip.tls_cert: the TLS certificate expires on") && strings.Contains(w, "(in 5 days)")
	}
	if !found {
		t.Errorf("warnings %q, want the SIP certificate's expiry", h.Warnings)
	}
}
