package main

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/testca"
	"github.com/frontdesk-gw/frontdesk/internal/tlscert"
)

// TestRedirectToHTTPS: every request is sent to the same path and query at
// the public URL, whatever Host it names; ACME challenges are served from
// the webroot, and only well-formed tokens.
func TestRedirectToHTTPS(t *testing.T) {
	webroot := t.TempDir()
	challenges := filepath.Join(webroot, ".well-known", "acme-challenge")
	if err := os.MkdirAll(challenges, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(challenges, "tok-EN_1"), []byte("tok-EN_1.keyauth"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(webroot, "secret"), []byte("not for visitors"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := redirectHandler("https://contact.example.com/", webroot)
	tests := []struct {
		method, target, host string
		wantCode             int
		wantLocation         string
		wantBody             string
	}{
		{method: "GET", target: "/preview/abc?x=1", host: "evil.example", wantCode: 308, wantLocation: "https://contact.example.com/preview/abc?x=1"},
		{method: "POST", target: "/ws", wantCode: 308, wantLocation: "https://contact.example.com/ws"},
		{method: "GET", target: "//evil.example/x", wantCode: 308, wantLocation: "https://contact.example.com//evil.example/x"},
		{method: "GET", target: "http://other.example/frontdesk.js", wantCode: 308, wantLocation: "https://contact.example.com/frontdesk.js"},
		{method: "GET", target: "/.well-known/acme-challenge/tok-EN_1", wantCode: 200, wantBody: "tok-EN_1.keyauth"},
		{method: "GET", target: "/.well-known/acme-challenge/missing", wantCode: 404},
		{method: "GET", target: "/.well-known/acme-challenge/..%2f..%2fsecret", wantCode: 404},
		{method: "GET", target: "/.well-known/acme-challenge/", wantCode: 404},
		{method: "PUT", target: "/.well-known/acme-challenge/tok-EN_1", wantCode: 405},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.host != "" {
				req.Host = tc.host
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d", rec.Code, tc.wantCode)
			}
			if loc := rec.Header().Get("Location"); loc != tc.wantLocation {
				t.Errorf("Location %q, want %q", loc, tc.wantLocation)
			}
			if tc.wantBody != "" && rec.Body.String() != tc.wantBody {
				t.Errorf("body %q, want %q", rec.Body.String(), tc.wantBody)
			}
		})
	}
	// Without a webroot, challenges are redirected like everything else.
	rec := httptest.NewRecorder()
	redirectHandler("https://contact.example.com", "").ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/acme-challenge/tok-EN_1", nil))
	if rec.Code != 308 {
		t.Errorf("challenge without webroot: %d, want 308", rec.Code)
	}
}

// TestCertWarnings: a refused renewal and a certificate near its end are
// warnings for the operator.
func TestCertWarnings(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		st   tlscert.Status
		want []string
	}{
		{name: "fine", st: tlscert.Status{NotAfter: now.Add(60 * 24 * time.Hour)}},
		{name: "ends soon", st: tlscert.Status{NotAfter: now.Add(5*24*time.Hour + time.Hour)},
			want: []string{"the TLS certificate expires on 2030-01-06T01:00:00Z (in 5 days); renew it"}},
		{name: "ends today", st: tlscert.Status{NotAfter: now.Add(3*time.Hour + time.Minute)},
			want: []string{"the TLS certificate expires on 2030-01-01T03:01:00Z (in 3 hours); renew it"}},
		{name: "ended", st: tlscert.Status{NotAfter: now.Add(-time.Minute)},
			want: []string{"the TLS certificate expired on 2029-12-31T23:59:00Z"}},
		{name: "refused renewal", st: tlscert.Status{NotAfter: now.Add(60 * 24 * time.Hour), Err: errors.New("tls: private key does not match public key")},
			want: []string{"the TLS certificate files changed but cannot be used; the previous certificate serves: tls: private key does not match public key"}},
	}
	for _, tc := range tests {
		if got := certWarnings(tc.st, now); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestCheckReadsTheCertificate: check fails on a key pair that would stop
// serve from starting, and shows the certificate on /healthz and /metrics
// when it is good.
func TestCheckReadsTheCertificate(t *testing.T) {
	ca, err := testca.New("test CA")
	if err != nil {
		t.Fatal(err)
	}
	good, err := ca.Issue(testca.Leaf{Names: []string{"gw.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := ca.Issue(testca.Leaf{Names: []string{"gw.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(validConfig, "http:\n", "http:\n  tls_cert: cert.pem\n  tls_key: key.pem\n", 1)
	path := writeConfigDir(t, cfg)
	dir := filepath.Dir(path)
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("cert.pem", good.CertPEM)
	write("key.pem", other.KeyPEM)
	code, _, errOut := runCmd(t, "check", "--config", path)
	if code != 1 || !strings.Contains(errOut, "http.tls_cert: load TLS key pair") || !strings.Contains(errOut, "private key does not match") {
		t.Errorf("mismatched key: exit %d, %q", code, errOut)
	}
	write("key.pem", good.KeyPEM)
	if code, out, errOut := runCmd(t, "check", "--config", path); code != 0 {
		t.Errorf("good pair: exit %d, %q %q", code, out, errOut)
	}

	c, _, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	g := testGatewayFrom(t, c)
	admin := g.adminRoutes()
	if _, body := get(t, admin, "/healthz"); !strings.Contains(body, `"subject": "CN=gw.example.com"`) {
		t.Errorf("/healthz lacks the certificate: %s", body)
	}
	_, body := get(t, admin, "/metrics")
	want := fmt.Sprintf("frontdesk_tls_certificate_expiry_timestamp_seconds %g", float64(good.NotAfter.Unix()))
	for _, w := range []string{want, "frontdesk_tls_certificate_reload_failures_total 0", "frontdesk_tls_certificate_rejected 0",
		"frontdesk_ready 0", `frontdesk_build_info{goversion="go`} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %q", w)
		}
	}
}
