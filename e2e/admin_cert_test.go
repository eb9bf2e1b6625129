//go:build integration

package e2e

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testca"
)

// TestAdminViewByClientCertificate: with admin.tls_cert and
// admin.client_ca the admin listener speaks HTTPS; a certificate from the
// client CA opens the admin view, none or one from another CA does not,
// and probes need none.
func TestAdminViewByClientCertificate(t *testing.T) {
	dir := t.TempDir()
	server := newTLSFiles(t, dir)
	server.install(server.issue())
	clients, err := testca.New("Frontdesk operators")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "clients.pem"), clients.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ops := clientCert(t, clients, "ops-anna")
	strangers, err := testca.New("Someone else")
	if err != nil {
		t.Fatal(err)
	}
	stranger := clientCert(t, strangers, "ops-anna")

	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfgPath := filepath.Join(dir, "frontdesk.yaml")
	// No PBX answers: the admin view needs none.
	writeConfig(t, cfgPath, gatewayHead("127.0.0.1:9", e2eOrigin)+`admin:
  listen: 127.0.0.1:0
  tls_cert: cert.pem
  tls_key: key.pem
  client_ca: clients.pem
widgets: []
`)
	gw := startGateway(t, cfgPath)
	base := "https://" + strings.TrimPrefix(gw.adminURL, "http://")
	get := func(cert *tls.Certificate, path string) (int, string, error) {
		cfg := server.client()
		if cert != nil {
			// Sent whatever CAs the server names (a client picking by
			// them would send none from another CA).
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		res, err := c.Get(base + path)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		return res.StatusCode, string(body), nil
	}

	code, body, err := get(&ops, "/admin/api/state")
	if err != nil || code != 200 {
		t.Fatalf("with the operator's certificate: %d %v %.200s", code, err, body)
	}
	var st struct{ Access struct{ Mode, Via string } }
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Access.Mode != "client certificate" || st.Access.Via != "client certificate CN=ops-anna" {
		t.Errorf("access %+v %v", st.Access, err)
	}
	if code, _, err := get(nil, "/admin/api/state"); err != nil || code != http.StatusUnauthorized {
		t.Errorf("without a certificate: %d %v, want 401", code, err)
	}
	if code, body, err := get(nil, "/admin/"); err != nil || code != http.StatusForbidden || !strings.Contains(body, "client certificate") {
		t.Errorf("the page without a certificate: %d %v %q", code, err, body)
	}
	if code, _, err := get(&stranger, "/admin/api/state"); err == nil {
		t.Errorf("a certificate from another CA was accepted in the handshake (%d)", code)
	}
	for _, probe := range []string{"/livez", "/metrics"} {
		if code, _, err := get(nil, probe); err != nil || code != 200 {
			t.Errorf("%s without a certificate: %d %v", probe, code, err)
		}
	}
}

func clientCert(t *testing.T, ca *testca.CA, name string) tls.Certificate {
	t.Helper()
	issued, err := ca.Issue(testca.Leaf{Client: name})
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(issued.CertPEM, issued.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
