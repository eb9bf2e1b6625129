package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/frontdesk-gw/frontdesk/config"
)

func testGateway(t *testing.T) *gateway {
	t.Helper()
	cfg, _, err := config.Parse("t.yaml", []byte(strings.Replace(validConfig, "password_file: secret.txt", "password: x", 1)), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return testGatewayFrom(t, cfg)
}

// testGatewayFrom is a gateway for cfg, not running; its widget server
// and media engine are closed when the test ends.
func testGatewayFrom(t *testing.T, cfg *config.Config) *gateway {
	t.Helper()
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
	for _, path := range []string{"/metrics", "/healthz", "/readyz", "/livez", "/admin/", "/admin/api/state", "/admin/api/trace", "/admin/login"} {
		if code, _ := get(t, visitor, path); code != http.StatusNotFound {
			t.Errorf("visitor port %s: %d, want 404", path, code)
		}
	}
	// The config's admin listener is on loopback without a token: the
	// view is served there, to loopback.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9480/admin/api/state", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	admin.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"mode": "loopback only"`) {
		t.Errorf("/admin/api/state: %d %.200s", rec.Code, rec.Body.String())
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

// TestRefusedSessionsCountedNotFlooded: 2,000 websocket connections
// refused at the session limit leave a few log lines and a count of 2,000.
func TestRefusedSessionsCountedNotFlooded(t *testing.T) {
	var logBuf syncBuffer
	log, err := newLogger(&logBuf, "debug", "json")
	if err != nil {
		t.Fatal(err)
	}
	yml := strings.Replace(validConfig, "password_file: secret.txt", "password: x", 1) + "limits:\n  max_sessions_per_ip: 1\n"
	cfg, _, err := config.Parse("t.yaml", []byte(yml), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g, err := newGateway(cfg, gatewayOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.web.Handler())
	t.Cleanup(func() {
		g.web.Close()
		srv.Close()
		if g.media != nil {
			_ = g.media.Close()
		}
	})
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	held, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {"https://gw.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	before := logBuf.Len()
	const n = 2000
	for i := range n {
		conn, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err == nil {
			conn.Close()
			t.Fatalf("connection %d accepted beyond max_sessions_per_ip", i)
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("connection %d: %v, want 503", i, err)
		}
		resp.Body.Close()
	}
	logged := logBuf.Len() - before
	if logged > 32<<10 {
		t.Errorf("%d refusals logged %d bytes", n, logged)
	}
	if lines := strings.Count(logBuf.String(), `"msg":"session refused"`); lines == 0 || lines > 60 {
		t.Errorf("%d refusals logged %d lines", n, lines)
	}
	_, body := get(t, g.adminRoutes(), "/metrics")
	if want := `frontdesk_widget_sessions_refused_total{reason="max-sessions-per-ip"} 2000`; !strings.Contains(body, want) {
		t.Errorf("metrics lack %q", want)
	}
	t.Logf("%d refusals: %d log bytes", n, logged)
}

// syncBuffer is a bytes.Buffer safe for the logger's and the test's use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
