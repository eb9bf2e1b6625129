package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/frontdesk-gw/frontdesk/config"
)

func testGateway(t *testing.T) *gateway {
	t.Helper()
	cfg, _, err := config.Parse("t.yaml", []byte(strings.Replace(validConfig, "password_file: secret.txt", "password: x", 1)), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g, err := newGateway(cfg, gatewayOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.web.Close()
		if g.media != nil {
			_ = g.media.Close()
		}
	})
	return g
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

// TestAdminEndpointsOnlyOnTheAdminListener: the visitor port answers 404
// for the operators' endpoints; the admin handler serves them, with
// liveness apart from readiness.
func TestAdminEndpointsOnlyOnTheAdminListener(t *testing.T) {
	g := testGateway(t)
	visitor, admin := g.web.Handler(), g.adminRoutes()
	for _, path := range []string{"/metrics", "/healthz", "/readyz", "/livez"} {
		if code, _ := get(t, visitor, path); code != http.StatusNotFound {
			t.Errorf("visitor port %s: %d, want 404", path, code)
		}
	}
	if code, body := get(t, admin, "/livez"); code != 200 || body != "ok\n" {
		t.Errorf("/livez: %d %q", code, body)
	}
	// Not registered (the UA never ran): alive, but not ready.
	if code, body := get(t, admin, "/readyz"); code != 503 || !strings.HasPrefix(body, "degraded\nnot registered") {
		t.Errorf("/readyz unregistered: %d %q", code, body)
	}
	if code, body := get(t, admin, "/healthz"); code != 503 || !strings.Contains(body, `"status": "degraded"`) {
		t.Errorf("/healthz unregistered: %d %q", code, body)
	}
	if code, body := get(t, admin, "/metrics"); code != 200 || !strings.Contains(body, "frontdesk_sip_registered 0") {
		t.Errorf("/metrics: %d", code)
	}
	drain := make(chan struct{})
	close(drain)
	g.drain = drain
	if code, body := get(t, admin, "/readyz"); code != 503 || !strings.HasPrefix(body, "draining\n") {
		t.Errorf("/readyz draining: %d %q", code, body)
	}
}
