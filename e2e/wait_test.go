//go:build integration

package e2e

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

const waitWidget = "4a1d0e2b3c4d4e5f8a9b0c1d2e3f4a5b"

// waitConfig lets visitors wait for anna (a baresip phone that answers);
// bert is the colleague she calls.
func waitConfig(pbx string) string {
	return "# frontdesk waiting test config\n" + gatewayHead(pbx, e2eOrigin) + fmt.Sprintf(`widgets:
  - id: %s
    type: cards
    name: Team
    queue: {max_wait: 2m, max_waiting: 3, confirm_after: 10m, hold: 20s}
    agents:
      - {id: anna, sip: anna, name: Anna, media: [voice, chat]}
`, waitWidget)
}

// TestWaitForBusyAgent: anna is on the phone (baresip calls a colleague
// through Kamailio; the PBX's dialog state says she is busy). Two
// visitors wait for her and see their places; when she hangs up, the first
// gets the turn, calls her, and hears her phone's tone; the second moves
// up and gives up his turn later.
func TestWaitForBusyAgent(t *testing.T) {
	if err := testbed.CheckBinaries(true); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	ctx := ctxT(t, 4*time.Minute)
	tb, err := testbed.Start(ctxT(t, 60*time.Second), testbed.Options{
		Dir:   t.TempDir(),
		Users: []testbed.User{{Name: "frontdesk", Password: gwPassword}},
		Agents: []testbed.AgentSpec{
			{Name: "anna", Password: "anna-pw", Presence: "online", AnswerCalls: true},
			{Name: "bert", Password: "bert-pw", Presence: "online", AnswerCalls: true},
		},
		Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, waitConfig(tb.Addr()))
	gw := startGateway(t, cfgPath)
	gw.waitHealth("registered with anna's subscriptions", 20*time.Second, func(code int, h map[string]any) bool {
		s, _ := h["sip"].(map[string]any)
		return code == 200 && h["calls_enabled"] == true && s["registration"] == "registered" && s["active"] == 2.0
	})
	anna := tb.Agent("anna")

	first, second := gw.visit(e2eOrigin), gw.visit(e2eOrigin)
	for _, v := range []*visitor{first, second} {
		v.t = t
		t.Cleanup(func() { v.conn.Close() })
		if session, _ := v.start(waitWidget); session["queue"] == nil {
			t.Fatalf("Session without queue: %v", session)
		}
	}
	// Anna calls bert: busy by her dialog state.
	if err := anna.Dial(ctx, tb.Agent("bert").URI()); err != nil {
		t.Fatal(err)
	}
	for _, v := range []*visitor{first, second} {
		v.waitFor("anna busy", 10*time.Second, infoOf("anna", "busy"))
	}
	first.send(`{"mt":"Wait","dest":"anna","medium":"voice"}`)
	if m, _ := first.waitFor("first's place", 10*time.Second, isMT("WaitInfo")); m["position"] != 1.0 {
		t.Fatalf("first: %v, want position 1", m)
	}
	second.send(`{"mt":"Wait","dest":"anna","medium":"voice"}`)
	if m, _ := second.waitFor("second's place", 10*time.Second, isMT("WaitInfo")); m["position"] != 2.0 {
		t.Fatalf("second: %v, want position 2", m)
	}
	// Nobody jumps the line: a third visitor cannot call anna.
	third := gw.visit(e2eOrigin)
	third.t = t
	t.Cleanup(func() { third.conn.Close() })
	third.start(waitWidget)
	third.send(`{"mt":"CreateCall","dest":"anna","dn":"Third"}`)
	if m, _ := third.waitFor("third refused", 10*time.Second, isMT("Error")); m["code"] != "agent-unavailable" && m["code"] != "agent-busy" {
		t.Errorf("third's call while two wait: %v", m)
	}

	// Anna hangs up: the first in line gets the turn at once (a short
	// wait: no confirmation), and calls her.
	hungUp := time.Now()
	if err := anna.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	m, _ := first.waitFor("first's turn", 15*time.Second, isMT("WaitEnded"))
	if m["reason"] != "ready" || m["hold"] != 20.0 || m["confirm"] != nil {
		t.Fatalf("first: %v, want ready, held 20 s, without confirmation", m)
	}
	t.Logf("the turn came %v after anna hung up", time.Since(hungUp).Round(time.Millisecond))
	third.send(`{"mt":"CreateCall","dest":"anna","dn":"Third"}`)
	if m, _ := third.waitFor("third refused", 10*time.Second, isMT("Error")); m["code"] != "agent-busy" {
		t.Errorf("third's call during first's turn: %v, want agent-busy", m)
	}
	p := newPhone(t, first, phoneOptions{})
	p.dial("anna", false)
	p.expectAnswered()
	p.waitMedia()
	waitTone(t, p, 440) // anna's phone plays a 440 Hz tone
	if m, _ := second.waitFor("second moves up", 10*time.Second, isMT("WaitInfo")); m["position"] != 1.0 {
		t.Fatalf("second after first's call: %v, want position 1", m)
	}

	// The call ends: second's turn; he leaves the line instead.
	p.hangUp()
	p.expectEnd("ended-by-visitor", callWait)
	if m, _ := second.waitFor("second's turn", 15*time.Second, isMT("WaitEnded")); m["reason"] != "ready" {
		t.Fatalf("second: %v, want ready", m)
	}
	second.send(`{"mt":"WaitCancel"}`)
	if m, _ := second.waitFor("second left", 10*time.Second, isMT("WaitEnded")); m["reason"] != "cancelled" {
		t.Fatalf("second: %v, want cancelled", m)
	}
	// Anna is free for anyone again.
	third.waitFor("anna online", 10*time.Second, infoOf("anna", "online"))
}
