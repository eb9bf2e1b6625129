//go:build integration

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// registrarWindow is the fixed window over which REGISTERs are counted.
const registrarWindow = 12 * time.Second

// TestRegistrarAnswers runs the gateway at default settings against
// registrars that answer differently and counts the REGISTERs (with a
// Contact; binding queries aside) it sent over a fixed window: a 423 is
// met once and its Min-Expires kept for the refreshes, a shorter expiry on
// our Contact is kept to (whatever the Expires header says), among several
// Contacts ours counts, and a 403 stops the gateway asking, with the reason
// on /healthz.
func TestRegistrarAnswers(t *testing.T) {
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	asked := func(req *sip.Request) string { return req.GetHeader("Expires").Value() }
	tests := []struct {
		name     string
		register func(req *sip.Request) *sip.Response
		// want REGISTERs in the window, and what /healthz says
		min, max   int
		registered bool
		check      func(t *testing.T, regs []testbed.Received, pbx *testbed.ScriptedPBX)
	}{
		{
			name: "423 Min-Expires",
			register: func(req *sip.Request) *sip.Response {
				if e := asked(req); e != "0" && e != "900" {
					return testbed.Reply(req, 423, "Interval Too Brief", "Min-Expires", "900")
				}
				return testbed.GrantRegister(req, 4) // refreshed every 2 s
			},
			min: 5, max: 8, registered: true,
			check: func(t *testing.T, regs []testbed.Received, _ *testbed.ScriptedPBX) {
				for i, r := range regs {
					if want := map[bool]string{true: "600", false: "900"}[i == 0]; r.Expires != want {
						t.Errorf("REGISTER %d asked for %s, want %s (600 once, then Min-Expires 900 kept)", i, r.Expires, want)
					}
				}
			},
		},
		{
			name: "shorter expiry on our Contact",
			register: func(req *sip.Request) *sip.Response {
				res := testbed.GrantRegister(req, 6)
				res.ReplaceHeader(sip.NewHeader("Expires", "3600"))
				return res
			},
			min: 4, max: 6, registered: true, // at 0, then every 3 s
		},
		{
			name: "several Contacts",
			register: func(req *sip.Request) *sip.Response {
				return testbed.GrantRegister(req, 8, "<sip:frontdesk@192.0.2.10:5060>;expires=2", "<sip:frontdesk@192.0.2.11:5062;transport=tcp>;expires=7200")
			},
			min: 3, max: 4, registered: true, // at 0, then every 4 s
		},
		{
			name:     "403 Forbidden",
			register: func(req *sip.Request) *sip.Response { return testbed.Reply(req, 403, "Forbidden") },
			min:      1, max: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pbx := startScripted(t, testbed.ScriptedOptions{Register: tt.register})
			cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
			writeConfig(t, cfgPath, scriptedGatewayConfig(pbx.Addr(), "", "alice"))
			start := time.Now()
			gw := startGateway(t, cfgPath, "--log-level", "info")
			time.Sleep(time.Until(start.Add(registrarWindow)))
			var regs []testbed.Received
			for _, r := range pbx.Requests() {
				if r.Method == "REGISTER" && r.Contact && r.Expires != "0" {
					regs = append(regs, r)
				}
			}
			t.Logf("%d REGISTERs in %v", len(regs), registrarWindow)
			if len(regs) < tt.min || len(regs) > tt.max {
				t.Errorf("%d REGISTERs in %v, want %d-%d", len(regs), registrarWindow, tt.min, tt.max)
			}
			if tt.check != nil {
				tt.check(t, regs, pbx)
			}
			code, h := gw.health()
			s := h["sip"].(map[string]any)
			if tt.registered {
				if code != 200 || s["registration"] != "registered" {
					t.Errorf("/healthz %d %v, want registered", code, s)
				}
				return
			}
			if e, _ := s["error"].(string); code != 503 || s["registration"] != "failed" || !strings.Contains(e, "403") || !strings.Contains(e, "refused by the PBX") {
				t.Errorf("/healthz %d %v, want failed with the 403 and that it is not asked again soon", code, s)
			}
		})
	}
}
