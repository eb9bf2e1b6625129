//go:build integration

package e2e

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// recoveryLimit is how soon after the PBX is back the registration and
// every subscription must be back, at default settings.
const recoveryLimit = 30 * time.Second

// recoveryAgents publish presence from Go (no phones needed).
var recoveryAgents = []testbed.User{
	{Name: "erin", Password: "erin-pw"},
	{Name: "finn", Password: "finn-pw"},
	{Name: "gail", Password: "gail-pw"},
}

// TestRecoversFromPBXRestart restarts Kamailio under a running gateway with
// the default register_expiry, subscribe_expiry (600 s) and
// keepalive_interval (10 s). A restarted Kamailio forgets the registration,
// the subscriptions and the publications, and answers OPTIONS as if nothing
// happened: the gateway must notice by itself (its binding query finds its
// contact gone), register and subscribe again, and presence must reach open
// sessions within recoveryLimit of the PBX being back. Then the PBX stays
// away for a while: /healthz must say so, and all must come back once it
// returns. It also starts the gateway while the PBX refuses its password,
// then fixes the password in the config, and checks that a change of
// sip.listen in the file shows as a warning on /healthz.
func TestRecoversFromPBXRestart(t *testing.T) {
	if err := testbed.CheckBinaries(false); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := ctxT(t, 5*time.Minute)
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir:   t.TempDir(),
		Users: append([]testbed.User{{Name: "frontdesk", Password: gwPassword}}, recoveryAgents...),
		Log:   log,
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	publishAll := func(status string) {
		t.Helper()
		for _, a := range recoveryAgents {
			if err := tb.PublishPresence(ctx, a.Name, a.Password, status); err != nil {
				t.Fatal(err)
			}
		}
	}
	publishAll(testbed.StatusOnline)

	var agents strings.Builder
	for _, a := range recoveryAgents {
		fmt.Fprintf(&agents, "      - {id: %s, sip: %s}\n", a.Name, a.Name)
	}
	cfg := fmt.Sprintf(`sip:
  registrar: %s
  domain: frontdesk.test
  username: frontdesk
  password_file: pw.txt
  listen: 127.0.0.1:0
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
    agents:
%s`, tb.Addr(), e2eOrigin, e2eWidget, agents.String())
	wantSubs := 2.0 * float64(len(recoveryAgents)) // presence and dialog each
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
		return code == 200 && s["registration"] == "registered" && s["active"] == wantSubs
	})

	v := gw.visit(e2eOrigin)
	_, infos := v.start(e2eWidget)
	var notYet []string
	for _, a := range recoveryAgents {
		if infos[a.Name]["presence"] != "online" {
			notYet = append(notYet, a.Name)
		}
	}
	waitPresence(t, v, updateLimit, "online", notYet...)

	t.Run("restart between two keepalives", func(t *testing.T) {
		if err := tb.RestartPBX(ctx); err != nil {
			t.Fatal(err)
		}
		back := time.Now() // Kamailio answers OPTIONS again
		publishAll(testbed.StatusBusy)
		regBack := waitRegistered(t, tb, back, recoveryLimit)
		waitPresence(t, v, recoveryLimit-time.Since(back), "busy", names(recoveryAgents)...)
		t.Logf("PBX restart at default settings: registered again %v and presence of all %d agents at visitors %v after the PBX was back",
			regBack.Round(100*time.Millisecond), len(recoveryAgents), time.Since(back).Round(100*time.Millisecond))
		gw.waitHealth("healthy after the restart", 10*time.Second, func(code int, h map[string]any) bool {
			s := h["sip"].(map[string]any)
			return code == 200 && s["active"] == wantSubs
		})
		if n, ok := flowMetric(httpGet(t, gw.adminURL+"/metrics"), "frontdesk_sip_pbx_lost_total"); !ok || n < 1 {
			t.Errorf("frontdesk_sip_pbx_lost_total = %v (present %v), want the restart counted", n, ok)
		}
	})

	t.Run("PBX away, then back", func(t *testing.T) {
		if err := tb.StopPBX(); err != nil {
			t.Fatal(err)
		}
		gone := time.Now()
		h := gw.waitHealth("PBX loss shown", recoveryLimit, func(code int, h map[string]any) bool {
			s := h["sip"].(map[string]any)
			return code == 503 && s["registration"] == "failed"
		})
		t.Logf("PBX gone: /healthz says so after %v: %v", time.Since(gone).Round(100*time.Millisecond), h["sip"])
		if a := h["sip"].(map[string]any)["active"]; a != 0.0 {
			t.Errorf("%v subscriptions reported active while the PBX is gone", a)
		}
		if e, _ := h["sip"].(map[string]any)["error"].(string); !strings.Contains(e, "not answering") {
			t.Errorf("registration error %q does not say the PBX is not answering", e)
		}
		// Agents that cannot be reached are not offered.
		waitPresence(t, v, 5*time.Second, "offline", names(recoveryAgents)...)

		if err := tb.StartPBX(ctx); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		publishAll(testbed.StatusOnline)
		regBack := waitRegistered(t, tb, back, recoveryLimit)
		waitPresence(t, v, recoveryLimit-time.Since(back), "online", names(recoveryAgents)...)
		t.Logf("PBX away %v: registered again %v and presence of all agents at visitors %v after the PBX was back",
			back.Sub(gone).Round(100*time.Millisecond), regBack.Round(100*time.Millisecond), time.Since(back).Round(100*time.Millisecond))
		gw.waitHealth("healthy after the PBX came back", 10*time.Second, func(code int, h map[string]any) bool {
			s := h["sip"].(map[string]any)
			return code == 200 && s["active"] == wantSubs
		})
	})

	t.Run("listen address changed in the file", func(t *testing.T) {
		writeConfig(t, cfgPath, strings.Replace(cfg, "listen: 127.0.0.1:0\n  trusted", "listen: 127.0.0.1:1\n  trusted", 1))
		h := gw.waitHealth("restart warning", 10*time.Second, func(code int, h map[string]any) bool {
			ws, _ := h["warnings"].([]any)
			for _, w := range ws {
				if s, _ := w.(string); strings.Contains(s, "restart required") && strings.Contains(s, "sip.listen") {
					return true
				}
			}
			return false
		})
		if h["status"] != "ok" {
			t.Errorf("a restart warning made the gateway unhealthy: %v", h)
		}
	})
}

func names(us []testbed.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Name
	}
	return out
}

// waitPresence waits until the visitor was told presence for every id.
func waitPresence(t *testing.T, v *visitor, timeout time.Duration, presence string, ids ...string) {
	t.Helper()
	start := time.Now()
	missing := map[string]bool{}
	for _, id := range ids {
		missing[id] = true
	}
	for len(missing) > 0 {
		left := timeout - time.Since(start)
		if left <= 0 {
			t.Fatalf("presence %s not seen within %v for %v", presence, timeout, missing)
		}
		m, _ := v.waitFor(fmt.Sprintf("presence %s at %d agents (%s)", presence, len(missing), someOf(missing)), left, func(m map[string]any) bool {
			id, _ := m["id"].(string)
			return m["mt"] == "Info" && missing[id] && m["presence"] == presence
		})
		delete(missing, m["id"].(string))
	}
}

// someOf names up to five keys of set, for a failure message.
func someOf(set map[string]bool) string {
	var names []string
	for k := range set {
		names = append(names, k)
	}
	slices.Sort(names)
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}

// waitRegistered waits until Kamailio reaches the gateway's registration
// again and returns how long after since that was.
func waitRegistered(t *testing.T, tb *testbed.Testbed, since time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	deadline := since.Add(timeout)
	for {
		code, err := tb.Ping(t.Context(), "frontdesk")
		if err == nil && code == 200 {
			return time.Since(since)
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not registered again within %v: %d, %v", timeout, code, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
