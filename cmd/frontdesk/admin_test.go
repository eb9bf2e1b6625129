package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdesk-gw/frontdesk/internal/testca"
)

// TestCheckReadsTheAdminCertificateAndCAs: check fails on an admin key
// pair or a client CA file that would stop serve from starting.
func TestCheckReadsTheAdminCertificateAndCAs(t *testing.T) {
	ca, err := testca.New("test CA")
	if err != nil {
		t.Fatal(err)
	}
	good, err := ca.Issue(testca.Leaf{Names: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := validConfig + "admin:\n  tls_cert: admin-cert.pem\n  tls_key: admin-key.pem\n  client_ca: clients.pem\n"
	path := writeConfigDir(t, cfg)
	dir := filepath.Dir(path)
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("admin-cert.pem", good.CertPEM)
	write("admin-key.pem", good.KeyPEM)
	write("clients.pem", []byte("not a certificate\n"))
	if code, _, errOut := runCmd(t, "check", "--config", path); code != 1 || !strings.Contains(errOut, "admin.client_ca:") || !strings.Contains(errOut, "holds no PEM certificate") {
		t.Errorf("bad client CA: exit %d, %q", code, errOut)
	}
	write("clients.pem", ca.PEM)
	write("admin-key.pem", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	if code, _, errOut := runCmd(t, "check", "--config", path); code != 1 || !strings.Contains(errOut, "admin.tls_cert:") {
		t.Errorf("bad admin key: exit %d, %q", code, errOut)
	}
	write("admin-key.pem", good.KeyPEM)
	if code, out, errOut := runCmd(t, "check", "--config", path); code != 0 {
		t.Errorf("good admin TLS: exit %d, %q %q", code, out, errOut)
	}
}

// TestDoctorUsage: doctor refuses a bad --test-agent before it sends
// anything, and is listed in the usage.
func TestDoctorUsage(t *testing.T) {
	path := writeConfigDir(t, validConfig)
	if code, _, errOut := runCmd(t, "doctor", "--config", path, "--test-agent", "tel:+4930123"); code != 2 || !strings.Contains(errOut, `--test-agent "tel:+4930123"`) {
		t.Errorf("bad --test-agent: exit %d, %q", code, errOut)
	}
	if _, out, _ := runCmd(t, "--help"); !strings.Contains(out, "frontdesk doctor") {
		t.Error("usage does not list doctor")
	}
}
