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

const (
	huntCards   = "6b0a1c2d3e4f4a5b8c9d0e1f2a3b4c5d" // cards with the group "line"
	huntSidebar = "6b1a1c2d3e4f4a5b8c9d0e1f2a3b4c5e" // sidebar: contact us rings every agent
)

// huntAgents are the sipp phones of the hunt tests, one per case.
var huntAgents = []string{"hbusy", "hdecline", "hring", "hearly", "hbusy2", "hecho"}

func huntConfig(pbx string) string {
	return fmt.Sprintf(`sip:
  registrar: %s
  domain: frontdesk.test
  username: frontdesk
  password_env: FD_E2E_PASSWORD
  listen: 127.0.0.1:0
  trusted_sources: [127.0.0.1]
%shttp:
  listen: 127.0.0.1:0
  allowed_origins: [%q]
calls:
  webrtc_ips: [127.0.0.1]
  candidate_networks: [127.0.0.0/8]
  ring_timeout: 10s
  rtp_timeout: 10s
widgets:
  - id: %s
    type: cards
    groups:
      - {id: line, name: Support line, members: [hbusy, hdecline, hring, hearly], ring_time: 7s}
    agents:
      - {id: hbusy, sip: hbusy, mode: always, media: [voice]}
      - {id: hdecline, sip: hdecline, mode: always, media: [voice]}
      - {id: hring, sip: hring, mode: always, media: [voice]}
      - {id: hearly, sip: hearly, mode: always, media: [voice]}
  - id: %s
    type: sidebar
    agents:
      - {id: hbusy2, sip: hbusy2, mode: always, media: [voice]}
      - {id: hecho, sip: hecho, mode: always, media: [voice]}
`, pbx, loopbackLimits, e2eOrigin, huntCards, huntSidebar)
}

// TestHuntGroupSipp calls a hunt group through the gateway and Kamailio to
// sipp phones: the first member is busy, the second declines, the third
// rings until its ring time is over (CANCEL), the fourth sends early media
// and answers. The visitor's one offer serves every attempt, the answer
// arrives only with the member who answered, and audio flows both ways.
// Then a sidebar's contact us: busy, then answered.
func TestHuntGroupSipp(t *testing.T) {
	if err := testbed.CheckBinaries(false); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	ctx := ctxT(t, 5*time.Minute)
	users := []testbed.User{{Name: "frontdesk", Password: gwPassword}}
	for _, a := range huntAgents {
		users = append(users, testbed.User{Name: a, Password: a + "-pw"})
	}
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir: t.TempDir(), Users: users,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, huntConfig(tb.Addr()))
	gw := startGateway(t, cfgPath, "--sip-trace")
	gw.waitHealth("registered", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 && h["calls_enabled"] == true })
	e := &callEnv{tb: tb, gw: gw, ctx: ctx}
	visitor := func(widget string) *phone {
		v := gw.visit(e2eOrigin)
		v.t = t
		t.Cleanup(func() { v.conn.Close() })
		session, _ := v.start(widget)
		if widget == huntSidebar && session["contactUs"] != "*" {
			t.Fatalf("sidebar Session contactUs %v, want *", session["contactUs"])
		}
		return newPhone(t, v, phoneOptions{})
	}

	t.Run("busy, declined, no answer, answered with early media", func(t *testing.T) {
		phones := []*agentPhone{
			e.sippAgent(t, "hbusy", "call-busy.xml", false),
			e.sippAgent(t, "hdecline", "call-decline.xml", false),
			e.sippAgent(t, "hring", "call-ring.xml", false),
			e.sippAgent(t, "hearly", "call-early.xml", true),
		}
		p := visitor(huntCards)
		start := time.Now()
		p.dial("line", false)
		var got []string
		for {
			m := p.nextMessage("group call", 30*time.Second)
			if m["mt"] == "Error" {
				t.Fatalf("group call refused: %v", m)
			}
			state, _ := m["state"].(string)
			if state == "trying" {
				state += " " + fmt.Sprint(m["dest"])
				t.Logf("%v: %s", time.Since(start).Round(100*time.Millisecond), state)
			}
			if state == "terminated" {
				t.Fatalf("group call ended: %v (after %v)", m, got)
			}
			if state == "early" {
				t.Fatalf("early media reached the browser of a group call: %v", m)
			}
			if sdp, _ := m["sdp"].(string); sdp != "" && state != "connected" {
				t.Fatalf("an SDP answer before the member answered: %v", m)
			}
			if state == "connected" {
				p.queue = append([]map[string]any{m}, p.queue...)
				p.expect("connected", callWait) // applies the answer
				break
			}
			if state != "alerting" || got[len(got)-1] != "alerting" {
				got = append(got, state)
			}
		}
		want := "trying hbusy|trying hdecline|trying hring|alerting|trying hearly|alerting"
		if strings.Join(got, "|") != want {
			t.Errorf("call messages %q, want %q", strings.Join(got, "|"), want)
		}
		if !p.answerSet {
			t.Fatal("connected without the SDP answer")
		}
		p.waitMedia()
		p.waitCount("our audio back from the member who answered", &p.echoed, 50, 5*time.Second)
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		for _, a := range phones {
			a.done(t) // busy and decline answered, ring saw CANCEL, early saw BYE
		}
		e.noCallsLeft(t)
		for _, user := range []string{"hbusy", "hdecline", "hring", "hearly"} {
			if n := e.invites(user); n != 1 {
				t.Errorf("%s got INVITEs for %d calls, want 1", user, n)
			}
		}
	})

	t.Run("contact us: busy, then answered", func(t *testing.T) {
		phones := []*agentPhone{
			e.sippAgent(t, "hbusy2", "call-busy.xml", false),
			e.sippAgent(t, "hecho", "call-answer.xml", true),
		}
		p := visitor(huntSidebar)
		p.dial("*", false)
		if m := p.expect("trying", callWait); m["dest"] != "hbusy2" {
			t.Errorf("first tried %v, want hbusy2", m["dest"])
		}
		for {
			m := p.nextMessage("contact us", callWait)
			if m["state"] == "trying" {
				if m["dest"] != "hecho" {
					t.Fatalf("then tried %v, want hecho", m["dest"])
				}
				break
			}
			if m["state"] == "terminated" || m["mt"] == "Error" {
				t.Fatalf("contact us ended: %v", m)
			}
		}
		p.expectAnswered()
		p.waitMedia()
		p.waitCount("audio", &p.echoed, 25, 5*time.Second)
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		for _, a := range phones {
			a.done(t)
		}
		e.noCallsLeft(t)
	})
}
