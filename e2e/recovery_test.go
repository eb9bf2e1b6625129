//go:build integration

package e2e

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// TestRecoversFromPBXRestart restarts Kamailio under a running gateway: the
// PBX forgets the registration, the subscriptions and the publications. The
// gateway must notice (a refresh answered 481), register and subscribe again,
// and presence must reach open sessions again. It also starts the gateway
// while the PBX refuses its password, then fixes the password in the config.
func TestRecoversFromPBXRestart(t *testing.T) {
	if err := testbed.CheckBinaries(false); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := ctxT(t, 4*time.Minute)
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir: t.TempDir(),
		Users: []testbed.User{
			{Name: "frontdesk", Password: gwPassword},
			{Name: "erin", Password: "erin-pw"},
		},
		Log: log,
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	if err := tb.PublishPresence(ctx, "erin", "erin-pw", "online"); err != nil {
		t.Fatal(err)
	}

	cfg := fmt.Sprintf(`sip:
  registrar: %s
  domain: frontdesk.test
  username: frontdesk
  password_file: pw.txt
  listen: 127.0.0.1:0
  register_expiry: 60s
  subscribe_expiry: 60s
  trusted_sources: [127.0.0.1]
calls:
  webrtc_ips: [127.0.0.1] # media with visitors stays on loopback
  candidate_networks: [127.0.0.0/8] # and visitors' ICE candidates on this host are probed
http:
  listen: 127.0.0.1:0
  allowed_origins: [%q]
widgets:
  - id: %s
    type: sidebar
    agents: [{id: erin, sip: erin}]
`, tb.Addr(), e2eOrigin, e2eWidget)
	dir := t.TempDir()
	pwPath := filepath.Join(dir, "pw.txt")
	if err := os.WriteFile(pwPath, []byte("wrong-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "frontdesk.yaml")
	writeConfig(t, cfgPath, cfg)
	gw := startGateway(t, cfgPath)

	// A wrong password: registration fails, is reported, and retried.
	h := gw.waitHealth("registration failure reported", 15*time.Second, func(code int, h map[string]any) bool {
		s := h["sip"].(map[string]any)
		return code == 503 && s["registration"] == "failed"
	})
	if e, _ := h["sip"].(map[string]any)["error"].(string); !strings.Contains(e, "401") && !strings.Contains(e, "403") {
		t.Errorf("registration error %q does not say why", e)
	}
	// The admin fixes the password file and touches the config: the
	// gateway re-registers.
	if err := os.WriteFile(pwPath, []byte(gwPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, cfgPath, cfg+"# password fixed\n")
	gw.waitHealth("registered after the password fix", 20*time.Second, func(code int, h map[string]any) bool {
		s := h["sip"].(map[string]any)
		return code == 200 && s["registration"] == "registered" && s["active"] == 2.0
	})

	v := gw.visit(e2eOrigin)
	_, infos := v.start(e2eWidget)
	if infos["erin"]["presence"] != "online" {
		v.waitFor("erin online", updateLimit, infoOf("erin", "online"))
	}

	began := time.Now()
	if err := tb.RestartPBX(ctx); err != nil {
		t.Fatal(err)
	}
	if code, err := tb.Ping(ctx, "frontdesk"); err != nil || code == 200 {
		t.Fatalf("after the restart the PBX should not know the gateway: %d, %v", code, err)
	}
	if err := tb.PublishPresence(ctx, "erin", "erin-pw", "busy"); err != nil {
		t.Fatal(err)
	}
	// Subscriptions are refreshed at half their 60 s lifetime: the refresh
	// gets 481, the gateway subscribes and registers again.
	_, took := v.waitFor("erin busy after the PBX restart", 75*time.Second, infoOf("erin", "busy"))
	t.Logf("presence flowed again %v after the restart (%v after the new PUBLISH)", time.Since(began).Round(time.Second), took.Round(time.Second))
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, err := tb.Ping(ctx, "frontdesk")
		if err == nil && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not registered again after the restart: %d, %v", code, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	gw.waitHealth("healthy after the restart", 10*time.Second, func(code int, h map[string]any) bool {
		s := h["sip"].(map[string]any)
		return code == 200 && s["active"] == 2.0
	})
}
