//go:build integration

package e2e

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

const (
	e2eWidget   = "3f2504e04f8941d39a0c0305e82c3301"
	e2eOrigin   = "https://shop.example.com"
	gwPassword  = "gw-secret-1"
	boolUser    = "daytime"
	boolPass    = "daytime-secret"
	updateLimit = 5 * time.Second // generous bound; the measured time is logged
)

// e2eConfig is the gateway config for the test bed at addr. The marker
// comments let the test edit it like an admin would.
func e2eConfig(addr string) string {
	return "# frontdesk end-to-end test config\n" + gatewayHead(addr, e2eOrigin) + fmt.Sprintf(`widgets:
  - id: %s
    type: cards
    name: Team
    agents:
      - {id: alice, sip: alice, name: Alice, department: Sales}
      - {id: bob, sip: bob, name: Bob, department: Support}
      - {id: carol, sip: carol, name: Carol}
      - {id: hotline, sip: hotline, name: Hotline, mode: boolean, boolean: "sip:%s@frontdesk.test"}
      - {id: queue, sip: queue, name: Queue, mode: always}
      - {id: holiday, sip: holiday, name: Holiday, mode: inactive}
`, e2eWidget, boolUser)
}

func startTestbed(t *testing.T) *testbed.Testbed {
	t.Helper()
	if err := testbed.CheckBinaries(true); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tb, err := testbed.Start(ctxT(t, 60*time.Second), testbed.Options{
		Dir: t.TempDir(),
		Users: []testbed.User{
			{Name: "frontdesk", Password: gwPassword},
			{Name: boolUser, Password: boolPass},
		},
		Agents: []testbed.AgentSpec{
			{Name: "alice", Password: "alice-pw", Presence: "online"},
			{Name: "bob", Password: "bob-pw", Presence: "online"},
			{Name: "carol", Password: "carol-pw", Presence: "offline"},
		},
		Log: log,
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() {
		if err := tb.Close(); err != nil {
			t.Logf("close test bed: %v", err)
		}
	})
	return tb
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	// Write a temp file and rename it over the config, as many editors do.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestPresenceEndToEnd runs the gateway against Kamailio and baresip agents
// and checks what a visitor's websocket sees: registration, initial
// availability per mode, presence and dialog changes, a boolean flip, live
// config edits, and an invalid edit that keeps the last good config.
func TestPresenceEndToEnd(t *testing.T) {
	tb := startTestbed(t)
	ctx := ctxT(t, 5*time.Minute)
	if err := tb.PublishBoolean(ctx, boolUser, boolPass, true); err != nil {
		t.Fatalf("publish boolean: %v", err)
	}

	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "frontdesk.yaml")
	base := e2eConfig(tb.Addr())
	writeConfig(t, cfgPath, base)
	gw := startGateway(t, cfgPath, "--sip-trace")

	gw.waitHealth("registered with all subscriptions active", 20*time.Second, func(code int, h map[string]any) bool {
		s := h["sip"].(map[string]any)
		// alice, bob, carol: presence + dialog; the boolean: presence.
		return code == 200 && s["registration"] == "registered" && s["subscriptions"] == 7.0 && s["active"] == 7.0
	})

	t.Run("sip trace", func(t *testing.T) {
		var register, notify bool
		for _, m := range gw.logLines() {
			if m["msg"] != "sip trace" {
				continue
			}
			text, _ := m["sip"].(string)
			register = register || (m["dir"] == "out" && strings.HasPrefix(text, "REGISTER sip:"))
			notify = notify || (m["dir"] == "in" && strings.HasPrefix(text, "NOTIFY sip:"))
			if strings.Contains(text, gwPassword) {
				t.Fatalf("the trace shows the SIP password: %s", text)
			}
		}
		if !register || !notify {
			t.Errorf("trace lacks REGISTER out (%v) or NOTIFY in (%v)", register, notify)
		}
	})

	v := gw.visit(e2eOrigin)
	session, infos := v.start(e2eWidget)
	if session["name"] != "Team" || session["type"] != "cards" {
		t.Errorf("session = %v", session)
	}
	initial := map[string]string{
		"alice": "online", "bob": "online", "carol": "offline",
		"hotline": "online", "queue": "online", "holiday": "offline",
	}
	for id, want := range initial {
		got := infos[id]
		if got == nil {
			t.Errorf("no Info for %s", id)
			continue
		}
		if got["presence"] != want {
			// Presence may still be arriving: wait for it once.
			v.waitFor("initial presence of "+id, updateLimit, infoOf(id, want))
		}
	}

	t.Run("presence change", func(t *testing.T) {
		if err := tb.Agent("alice").SetPresence(ctx, "busy"); err != nil {
			t.Fatal(err)
		}
		_, took := v.waitFor("alice busy", updateLimit, infoOf("alice", "busy"))
		t.Logf("presence change reached the visitor in %v", took)
		if err := tb.Agent("alice").SetPresence(ctx, "online"); err != nil {
			t.Fatal(err)
		}
		v.waitFor("alice online again", updateLimit, infoOf("alice", "online"))
	})

	t.Run("busy from dialog state", func(t *testing.T) {
		if err := tb.Agent("alice").Dial(ctx, tb.Agent("bob").URI()); err != nil {
			t.Fatal(err)
		}
		_, took := v.waitFor("bob busy while ringing", updateLimit, infoOf("bob", "busy"))
		t.Logf("dialog state reached the visitor in %v", took)
		if err := tb.Agent("alice").Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		v.waitFor("bob online after hangup", updateLimit, infoOf("bob", "online"))
	})

	t.Run("boolean object", func(t *testing.T) {
		if err := tb.PublishBoolean(ctx, boolUser, boolPass, false); err != nil {
			t.Fatal(err)
		}
		v.waitFor("hotline off", updateLimit, infoOf("hotline", "offline"))
		if err := tb.PublishBoolean(ctx, boolUser, boolPass, true); err != nil {
			t.Fatal(err)
		}
		v.waitFor("hotline on", updateLimit, infoOf("hotline", "online"))
	})

	t.Run("config edit reaches open sessions", func(t *testing.T) {
		edited := strings.Replace(base, "name: Team", "name: Our team", 1)
		edited = strings.Replace(edited, "department: Support", "department: Helpdesk", 1)
		edited = strings.Replace(edited, "      - {id: carol, sip: carol, name: Carol}\n", "", 1)
		edited = strings.Replace(edited, "      - {id: queue,", "      - {id: dave, sip: dave, name: Dave, mode: always}\n      - {id: queue,", 1)
		writeConfig(t, cfgPath, edited)
		if m, _ := v.waitFor("new Session", updateLimit, func(m map[string]any) bool { return m["mt"] == "Session" }); m["name"] != "Our team" {
			t.Errorf("session name = %v", m["name"])
		}
		seen := map[string]bool{}
		for len(seen) < 3 {
			m := v.next(updateLimit)
			switch {
			case m["mt"] == "Info" && m["id"] == "bob":
				if m["department"] != "Helpdesk" {
					t.Errorf("bob = %v", m)
				}
				seen["bob"] = true
			case m["mt"] == "Info" && m["id"] == "dave":
				seen["dave"] = true
			case m["mt"] == "Remove" && m["id"] == "carol":
				seen["carol"] = true
			case m["mt"] == "Info" && m["id"] == "alice":
				t.Errorf("unchanged agent resent: %v", m)
			}
		}
		// carol's two subscriptions are gone, the others stay.
		gw.waitHealth("subscriptions reconciled", 10*time.Second, func(code int, h map[string]any) bool {
			s := h["sip"].(map[string]any)
			return s["subscriptions"] == 5.0 && s["active"] == 5.0
		})
		base = edited
	})

	t.Run("invalid edit keeps the last good config", func(t *testing.T) {
		broken := strings.Replace(base, "mode: inactive}", "mode: inactve}", 1)
		writeConfig(t, cfgPath, broken)
		// A typo must not make a load balancer drop a working instance:
		// ready, with the error as a warning.
		h := gw.waitHealth("reload error reported", 10*time.Second, func(code int, h map[string]any) bool {
			return h["config"].(map[string]any)["reload_error"] != nil
		})
		reloadErr := h["config"].(map[string]any)["reload_error"].(string)
		line := lineOf(base, "id: holiday")
		if want := fmt.Sprintf("frontdesk.yaml:%d:", line); !strings.Contains(reloadErr, want) {
			t.Errorf("reload error %q does not name %s", reloadErr, want)
		}
		if code, _ := gw.health(); code != 200 || h["status"] != "ok" || !strings.Contains(fmt.Sprint(h["warnings"]), fmt.Sprintf("frontdesk.yaml:%d:", line)) {
			t.Errorf("/healthz with a broken file: %d %v, want 200, status ok and the error as a warning", code, h)
		}
		resp, err := http.Get(gw.adminURL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "ok\n") || !strings.Contains(string(body), "warning: the config file has errors") {
			t.Errorf("/readyz with a broken file: %d %q, want 200 with a warning", resp.StatusCode, body)
		}
		if n := metricValue(t, gw.metrics(t), "frontdesk_config_rejected"); n != 1 {
			t.Errorf("frontdesk_config_rejected %v with a broken file, want 1", n)
		}
		v.quiet("no changes from an invalid file", 500*time.Millisecond, func(m map[string]any) bool {
			return m["mt"] == "Session" || m["mt"] == "Remove"
		})
		// The old config keeps serving presence.
		if err := tb.Agent("alice").SetPresence(ctx, "busy"); err != nil {
			t.Fatal(err)
		}
		v.waitFor("alice busy under the old config", updateLimit, infoOf("alice", "busy"))

		out, err := exec.Command(frontdeskBin, "check", "--config", cfgPath).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("check on a broken file: err %v, want exit 1; output %s", err, out)
		}
		if !regexp.MustCompile(`frontdesk\.yaml:\d+: .*inactve`).Match(out) {
			t.Errorf("check output lacks file:line: %s", out)
		}

		writeConfig(t, cfgPath, base)
		gw.waitHealth("reload error cleared", 10*time.Second, func(code int, h map[string]any) bool {
			return code == 200 && h["config"].(map[string]any)["reload_error"] == nil
		})
		if n := metricValue(t, gw.metrics(t), "frontdesk_config_rejected"); n != 0 {
			t.Errorf("frontdesk_config_rejected %v after the fix, want 0", n)
		}
	})

	t.Run("foreign origin refused", func(t *testing.T) {
		other := gw.visit("https://evil.example.net")
		other.send(`{"mt":"Start","uuid":"` + e2eWidget + `"}`)
		if m := other.next(5 * time.Second); m["mt"] != "Error" || m["code"] != "origin-not-allowed" {
			t.Errorf("got %v", m)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		// Operators' endpoints are not on the visitor port.
		for _, path := range []string{"/metrics", "/healthz", "/readyz", "/livez"} {
			resp, err := http.Get(gw.httpURL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("visitor port %s: %d, want 404", path, resp.StatusCode)
			}
		}
		body := gw.metrics(t)
		for _, want := range []string{"frontdesk_sip_registered 1", "frontdesk_widget_sessions ", "frontdesk_config_reload_failures_total 1"} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	})

	gw.stop(syscall.SIGTERM)
	if code := gw.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("frontdesk exited %d after SIGTERM, want 0", code)
	}
}

func lineOf(text, substr string) int {
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			return i + 1
		}
	}
	return -1
}
