//go:build integration

package e2e

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// TestRecoversFromPBXRestartManyAgents restarts Kamailio under a gateway
// that watches 200 agents (400 subscriptions) at default settings: the
// registration and every subscription must be back, and presence of every
// agent at a visitor, within recoveryLimit of the PBX being back, with the
// subscriptions spread out rather than sent in one burst.
func TestRecoversFromPBXRestartManyAgents(t *testing.T) {
	if err := testbed.CheckBinaries(false); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	const n = 200
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := ctxT(t, 5*time.Minute)
	users := []testbed.User{{Name: "frontdesk", Password: gwPassword}}
	var agents strings.Builder
	for i := range n {
		name := fmt.Sprintf("agent%03d", i)
		users = append(users, testbed.User{Name: name, Password: name + "-pw"})
		fmt.Fprintf(&agents, "      - {id: %s, sip: %s}\n", name, name)
	}
	tb, err := testbed.Start(ctx, testbed.Options{Dir: t.TempDir(), Users: users, Log: log})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	publishAll := func(status string) time.Duration {
		t.Helper()
		start := time.Now()
		for _, u := range users[1:] {
			if err := tb.PublishPresence(ctx, u.Name, u.Password, status); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(start)
	}
	publishAll(testbed.StatusOnline)

	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, fmt.Sprintf(`sip:
  registrar: %s
  domain: frontdesk.test
  username: frontdesk
  password_env: FD_E2E_PASSWORD
  listen: 127.0.0.1:0
  trusted_sources: [127.0.0.1]
calls:
  webrtc_ips: [127.0.0.1] # media with visitors stays on loopback
http:
  listen: 127.0.0.1:0
  allowed_origins: [%q]
widgets:
  - id: %s
    type: cards
    agents:
%s`, tb.Addr(), e2eOrigin, e2eWidget, agents.String()))
	gw := startGateway(t, cfgPath, "--log-level", "info")
	gw.waitHealth("registered with every subscription", 60*time.Second, func(code int, h map[string]any) bool {
		s := h["sip"].(map[string]any)
		return code == 200 && s["active"] == 2.0*n
	})
	v := gw.visit(e2eOrigin)
	_, infos := v.start(e2eWidget)
	var notYet []string
	for _, u := range users[1:] {
		if infos[u.Name]["presence"] != "online" {
			notYet = append(notYet, u.Name)
		}
	}
	waitPresence(t, v, 30*time.Second, "online", notYet...)

	if err := tb.RestartPBX(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	published := publishAll(testbed.StatusBusy)
	regBack := waitRegistered(t, tb, back, recoveryLimit)
	waitPresence(t, v, recoveryLimit-time.Since(back), "busy", names(users[1:])...)
	t.Logf("PBX restart with %d agents at default settings: registered again %v, presence of all agents at the visitor %v after the PBX was back (publishing took %v)",
		n, regBack.Round(100*time.Millisecond), time.Since(back).Round(100*time.Millisecond), published.Round(100*time.Millisecond))
	gw.waitHealth("every subscription active again", recoveryLimit-time.Since(back), func(code int, h map[string]any) bool {
		s := h["sip"].(map[string]any)
		return code == 200 && s["active"] == 2.0*n
	})
}
