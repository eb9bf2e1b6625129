//go:build integration

package e2e

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// listAgents is the number of agents of the resource list measurements.
const listAgents = 200

// listRounds is the number of presence changes timed per gateway.
const listRounds = 20

// TestResourceListOnKamailio runs the gateway twice against Kamailio with
// its rls module and a resource list holding 200 agents, watching those
// 200 plus one agent the list does not hold: once with per-agent
// subscriptions (the default) and once with sip.resource_list. With the
// list, Kamailio sees one SUBSCRIBE per event package for the 200 agents
// (and the outsider's own two); without, two per agent. Presence changes
// reach a visitor either way; the time from the PUBLISH and from the
// gateway applying the NOTIFY to the visitor's Info is measured and logged.
func TestResourceListOnKamailio(t *testing.T) {
	if err := testbed.CheckBinaries(false); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := ctxT(t, 10*time.Minute)
	users := []testbed.User{{Name: "frontdesk", Password: gwPassword}, {Name: "outsider", Password: "outsider-pw"}}
	var members []string
	for i := range listAgents {
		name := fmt.Sprintf("agent%03d", i)
		members = append(members, name)
		users = append(users, testbed.User{Name: name, Password: name + "-pw"})
	}
	tb, err := testbed.Start(ctx, testbed.Options{Dir: t.TempDir(), Users: users, Log: log,
		ResourceLists: []testbed.ResourceList{{Name: "agents", Owner: "frontdesk", Members: members}}})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	for _, u := range users[1:] {
		if err := tb.PublishPresence(ctx, u.Name, u.Password, testbed.StatusOnline); err != nil {
			t.Fatal(err)
		}
	}
	watched := append([]string{"outsider"}, members...)
	t.Setenv("FD_E2E_PASSWORD", gwPassword)

	run := func(t *testing.T, sipExtra string) (subscribes map[string]int, lat listLatency) {
		cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
		writeConfig(t, cfgPath, scriptedGatewayConfig(tb.Addr(), sipExtra, watched...))
		gw := startGateway(t, cfgPath, "--sip-trace") // the trace is never cut short, unlike other log lines
		gw.waitHealth("every agent's presence and dialog state", 60*time.Second, func(code int, h map[string]any) bool {
			s := h["sip"].(map[string]any)
			return code == 200 && s["active"] == 2.0*float64(len(watched))
		})
		v := gw.visit(e2eOrigin)
		_, infos := v.start(e2eWidget)
		var notYet []string
		for _, id := range watched {
			if infos[id]["presence"] != "online" {
				notYet = append(notYet, id)
			}
		}
		waitPresence(t, v, 30*time.Second, "online", notYet...)

		lat = timeFlips(t, tb, gw, v, users)
		source := gatewaySIPAddr(t, gw)
		seen, err := tb.InitialSubscribes()
		if err != nil {
			t.Fatal(err)
		}
		subscribes = map[string]int{}
		for _, s := range seen {
			if s.Source == source {
				subscribes[s.Event]++
			}
		}
		return subscribes, lat
	}

	var without, with map[string]int
	var latWithout, latWith listLatency
	// The list first, on a fresh Kamailio. Busy, its rls module drops
	// members' states (marks them sent without sending them); the gateway
	// refreshes the list 5 s after its full state for those, and the
	// states come again (sip.UA, members without state).
	t.Run("resource list", func(t *testing.T) {
		with, latWith = run(t, "  resource_list: agents\n")
		// The list's two, and the outsider's own two.
		if with["presence"] != 2 || with["dialog"] != 2 {
			t.Errorf("Kamailio saw %v initial SUBSCRIBEs, want 2 per event (the list and the agent it does not hold)", with)
		}
		// Presence changes reach visitors within a second of the gateway
		// hearing them, and of the PUBLISH but for Kamailio's batching
		// (rls waitn_time 1 s in the test bed).
		if latWith.fromNotify.max > time.Second {
			t.Errorf("NOTIFY to Info up to %v with the list, want within 1 s", latWith.fromNotify.max)
		}
		if latWith.fromPublish.max > 2*time.Second {
			t.Errorf("PUBLISH to Info up to %v with the list, want within 2 s (1 s of batching at the PBX)", latWith.fromPublish.max)
		}
	})
	t.Run("per-agent subscriptions", func(t *testing.T) {
		without, latWithout = run(t, "")
		if without["presence"] < len(watched) || without["dialog"] < len(watched) {
			t.Errorf("Kamailio saw %v initial SUBSCRIBEs, want at least %d per event", without, len(watched))
		}
	})
	t.Logf("%d agents (+1 outside the list): initial SUBSCRIBEs seen by Kamailio without a list %v, with the list %v", listAgents, without, with)
	t.Logf("without a list: PUBLISH->Info %s; NOTIFY->Info %s", latWithout.fromPublish, latWithout.fromNotify)
	t.Logf("with the list:  PUBLISH->Info %s; NOTIFY->Info %s", latWith.fromPublish, latWith.fromNotify)
}

// listLatency are the timings of presence changes.
type listLatency struct{ fromPublish, fromNotify durations }

type durations struct{ p50, p90, max time.Duration }

func (d durations) String() string {
	return fmt.Sprintf("p50 %v p90 %v max %v", d.p50.Round(time.Millisecond), d.p90.Round(time.Millisecond), d.max.Round(time.Millisecond))
}

func summarize(ds []time.Duration) durations {
	if len(ds) == 0 {
		return durations{}
	}
	slices.Sort(ds)
	return durations{p50: ds[len(ds)/2], p90: ds[len(ds)*9/10], max: ds[len(ds)-1]}
}

// timeFlips changes the presence of listRounds agents, one at a time, and
// times each from the PUBLISH, and from the gateway receiving the NOTIFY
// that carried it (its SIP trace), to the visitor's Info.
func timeFlips(t *testing.T, tb *testbed.Testbed, gw *gatewayProc, v *visitor, users []testbed.User) listLatency {
	t.Helper()
	var fromPub, fromNote []time.Duration
	for r := range listRounds {
		u := users[2+(r*37)%listAgents] // spread over the list
		uri := "sip:" + u.Name + "@frontdesk.test"
		start := time.Now()
		if err := tb.PublishPresence(t.Context(), u.Name, u.Password, testbed.StatusBusy); err != nil {
			t.Fatal(err)
		}
		_, _ = v.waitFor("busy "+u.Name, 10*time.Second, infoOf(u.Name, "busy"))
		got := time.Now()
		fromPub = append(fromPub, got.Sub(start))
		received := time.Time{}
		for _, l := range gw.logLines() {
			msg, _ := l["sip"].(string)
			if l["msg"] != "sip trace" || l["dir"] != "in" || !strings.HasPrefix(msg, "NOTIFY ") ||
				!strings.Contains(msg, `entity="`+uri+`"`) || !strings.Contains(msg, "busy") {
				continue
			}
			if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(l["time"])); err == nil && at.After(start) && received.IsZero() {
				received = at
			}
		}
		if received.IsZero() {
			t.Fatalf("no NOTIFY with %s busy in the gateway's SIP trace", u.Name)
		}
		fromNote = append(fromNote, got.Sub(received))
		if err := tb.PublishPresence(t.Context(), u.Name, u.Password, testbed.StatusOnline); err != nil {
			t.Fatal(err)
		}
		_, _ = v.waitFor("online "+u.Name, 10*time.Second, infoOf(u.Name, "online"))
	}
	return listLatency{fromPublish: summarize(fromPub), fromNotify: summarize(fromNote)}
}

// gatewaySIPAddr is where the gateway sends SIP from (its "sip listening"
// address).
func gatewaySIPAddr(t *testing.T, gw *gatewayProc) string {
	t.Helper()
	for _, l := range gw.logLines() {
		if l["msg"] == "sip listening" {
			return strings.TrimSpace(fmt.Sprint(l["addr"]))
		}
	}
	t.Fatal("no sip listening line in the gateway log")
	return ""
}
