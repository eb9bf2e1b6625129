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

// TestCallBombingLimited: visitors try to ring one agent's phone more often
// than limits.calls allows — one session over and over, then fresh sessions
// from the same address, then visitors from other addresses. Every call
// beyond a limit is refused with retry-later before anything reaches the
// PBX; the agent's phone (sipp, answering 486 Busy) sees exactly the
// allowed INVITEs, and the gateway's SIP trace shows no more.
func TestCallBombingLimited(t *testing.T) {
	if err := testbed.CheckBinaries(false); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	const perSession, perIP, perAgent = 2, 3, 4
	ctx := ctxT(t, 3*time.Minute)
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir:   t.TempDir(),
		Users: []testbed.User{{Name: "frontdesk", Password: gwPassword}, {Name: "busy", Password: "busy-pw"}},
		Log:   slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfg := fmt.Sprintf(`sip:
  registrar: %s
  domain: frontdesk.test
  username: frontdesk
  password_env: FD_E2E_PASSWORD
  listen: 127.0.0.1:0
  trusted_sources: [127.0.0.1]
http:
  listen: 127.0.0.1:0
  allowed_origins: [%q]
calls:
  webrtc_ips: [127.0.0.1] # media with visitors stays on loopback
  candidate_networks: [127.0.0.0/8] # and visitors' ICE candidates on this host are probed
limits:
  calls: {per_session: %d/min, per_ip: %d/min, per_agent: %d/min}
widgets:
  - id: %s
    type: cards
    agents:
      - {id: busy, sip: busy, mode: always, media: [voice]}
`, tb.Addr(), e2eOrigin, perSession, perIP, perAgent, callWidget)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, cfg)
	gw := startGateway(t, cfgPath, "--sip-trace")
	gw.waitHealth("registered", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })
	e := &callEnv{tb: tb, gw: gw, ctx: ctx}

	// The agent's phone answers every call it gets with 486 Busy Here, for
	// exactly as many calls as the limits allow.
	agent := e.sippAgentRun(t, "busy", "call-busy.xml", false, sippRun{calls: perAgent, timeout: 60 * time.Second})

	allowed, refused := 0, map[string]int{}
	try := func(p *phone) {
		t.Helper()
		p.dial("busy", false)
		m := p.nextMessage("the call's fate", callWait)
		switch {
		case m["mt"] == "CallInfo" && m["state"] == "terminated" && m["reason"] == "busy":
			allowed++
		case m["mt"] == "CallInfo" && m["state"] == "alerting":
			p.expectEnd("busy", callWait)
			allowed++
		case m["mt"] == "Error" && m["code"] == "retry-later":
			wait, _ := m["retryAfter"].(float64)
			text, _ := m["text"].(string)
			if wait < 1 || wait > 60 || !strings.HasPrefix(text, "too many calls ") || !strings.HasSuffix(text, fmt.Sprintf("try again in %d s", int(wait))) {
				t.Errorf("refusal %v: want retryAfter within the minute and the wait in the text", m)
			}
			scope, _, _ := strings.Cut(strings.TrimPrefix(text, "too many calls "), ";")
			refused[scope]++
			// The offer sent after the refused CreateCall finds no call.
			p.expectError("no-call", callWait)
		default:
			t.Fatalf("unexpected answer to a call: %v", m)
		}
	}

	// One session rings again and again.
	bomber := e.phone(t, phoneOptions{})
	for range 4 {
		try(bomber)
	}
	// Fresh sessions from the same address.
	for range 2 {
		try(e.phone(t, phoneOptions{}))
	}
	// Visitors of their own (their own loopback addresses): the agent's
	// limit still holds.
	for _, source := range []string{"127.0.0.2", "127.0.0.3"} {
		v := gw.visitFrom(e2eOrigin, source)
		v.start(callWidget)
		try(newPhone(t, v, phoneOptions{}))
	}

	if allowed != perAgent {
		t.Errorf("%d calls placed, want %d", allowed, perAgent)
	}
	want := map[string]int{"from this session": 2, "from this address": 1, "to this contact": 1}
	if fmt.Sprint(refused) != fmt.Sprint(want) {
		t.Errorf("refusals by scope: %v, want %v", refused, want)
	}
	agent.done(t) // sipp saw its perAgent calls, each with its ACK
	if n := e.invites("busy"); n != perAgent {
		t.Errorf("the gateway sent INVITEs for %d calls, want %d", n, perAgent)
	}
	e.noCallsLeft(t)
}
