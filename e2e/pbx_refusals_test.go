//go:build integration

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// refusalWindow is the fixed window over which the tests count what the
// gateway sent.
const refusalWindow = 20 * time.Second

// scriptedGatewayConfig is a gateway config registering to a scripted PBX
// at addr, with the given extra sip keys (lines indented by two spaces)
// and a cards widget of agents: a SIP user (also its id), or a whole
// agent in YAML flow style ("{id: x, sip: x, source: dialog}").
func scriptedGatewayConfig(addr, sipExtra string, agents ...string) string {
	var b strings.Builder
	for _, a := range agents {
		if strings.HasPrefix(a, "{") {
			fmt.Fprintf(&b, "      - %s\n", a)
			continue
		}
		fmt.Fprintf(&b, "      - {id: %s, sip: %s}\n", a, a)
	}
	return fmt.Sprintf(`sip:
  registrar: %s
  domain: frontdesk.test
  username: frontdesk
  password_env: FD_E2E_PASSWORD
  listen: 127.0.0.1:0
  trusted_sources: [127.0.0.1]
%scalls:
  webrtc_ips: [127.0.0.1]
http:
  listen: 127.0.0.1:0
  allowed_origins: [%q]
widgets:
  - id: %s
    type: cards
    agents:
%s`, addr, sipExtra, e2eOrigin, e2eWidget, b.String())
}

func startScripted(t *testing.T, opts testbed.ScriptedOptions) *testbed.ScriptedPBX {
	t.Helper()
	p, err := testbed.StartScriptedPBX(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// TestPBXRefusalsBackOff runs the gateway at default settings against a
// PBX that has no dialog package (489), ends a subscription as rejected and
// then forbids (403) every new one, does not know an agent (404), fails
// (500) or asks to wait (503 with Retry-After), and counts the initial
// SUBSCRIBEs it got per agent and event over a fixed window: refusals are
// asked once (again only after sip.refused_retry, an hour), failures back
// off exponentially, Retry-After is honoured. Each refusal is logged once,
// /healthz lists every failing subscription with its reason and
// /metrics counts the failures by reason.
func TestPBXRefusalsBackOff(t *testing.T) {
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	rejectedOnce := make(chan string, 1)
	pbx := startScripted(t, testbed.ScriptedOptions{
		Subscribe: func(req *sip.Request) *sip.Response {
			if _, inDialog := req.To().Params.Get("tag"); inDialog {
				return nil
			}
			ev := strings.TrimSpace(strings.Split(req.GetHeader("Event").Value(), ";")[0])
			switch user := req.Recipient.User; {
			case user == "nodialog" && ev == "dialog":
				return testbed.Reply(req, 489, "Bad Event")
			case user == "rejected" && ev == "presence":
				select {
				case rejectedOnce <- req.CallID().Value(): // the first is accepted, then ended
					return nil
				default:
					return testbed.Reply(req, 403, "Forbidden")
				}
			case user == "rejected":
				return testbed.Reply(req, 403, "Forbidden")
			case user == "gone":
				return testbed.Reply(req, 404, "Not Found")
			case user == "flaky":
				return testbed.Reply(req, 500, "Server Internal Error")
			case user == "later":
				return testbed.Reply(req, 503, "Service Unavailable", "Retry-After", "120")
			}
			return nil
		},
		Body: func(req *sip.Request) (string, string) {
			if req.GetHeader("Event").Value() == "presence" {
				return "application/pidf+xml", pidfOpen(req.Recipient.User)
			}
			return "application/dialog-info+xml", dialogIdle(req.Recipient.User)
		},
	})
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, scriptedGatewayConfig(pbx.Addr(), "", "nodialog", "rejected", "gone", "flaky", "later"))
	start := time.Now()
	gw := startGateway(t, cfgPath, "--log-level", "info")

	select {
	case cid := <-rejectedOnce:
		// Wait for the dialog's first NOTIFY to be through, then end it.
		deadline := time.Now().Add(5 * time.Second)
		for pbx.Count("NOTIFY", "", "", start, time.Now().Add(time.Hour)) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if err := pbx.Notify(t.Context(), cid, "terminated;reason=rejected", "", ""); err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no presence SUBSCRIBE for rejected")
	}
	time.Sleep(time.Until(start.Add(refusalWindow)))
	end := time.Now()

	initial := func(user, event string) int {
		n := 0
		for _, r := range pbx.Requests() {
			if r.Method == "SUBSCRIBE" && !r.InDialog && r.User == user && r.Event == event && r.At.Before(end) {
				n++
			}
		}
		return n
	}
	counts := map[string]int{}
	for _, user := range []string{"nodialog", "rejected", "gone", "flaky", "later"} {
		for _, ev := range []string{"presence", "dialog"} {
			counts[user+" "+ev] = initial(user, ev)
		}
	}
	t.Logf("initial SUBSCRIBEs in %v per agent and event: %v", refusalWindow, counts)
	for key, want := range map[string]int{
		"nodialog presence": 1, "nodialog dialog": 1, "rejected presence": 1, "rejected dialog": 1,
		"gone presence": 1, "gone dialog": 1, "later presence": 1, "later dialog": 1,
	} {
		if counts[key] != want {
			t.Errorf("%s: %d SUBSCRIBEs in %v, want %d", key, counts[key], refusalWindow, want)
		}
	}
	// 500: after 0.5-1 s, 1-2 s, 2-4 s, 4-8 s, 8-16 s: 4 to 6 in 20 s.
	for _, key := range []string{"flaky presence", "flaky dialog"} {
		if n := counts[key]; n < 4 || n > 6 {
			t.Errorf("%s: %d SUBSCRIBEs in %v, want 4-6 (exponential backoff from 1 s)", key, n, refusalWindow)
		}
	}

	warned := map[string]int{}
	for _, l := range gw.logLines() {
		if l["msg"] == "sip subscription refused by the PBX; asking again only after sip.refused_retry" {
			warned[fmt.Sprint(l["uri"], " ", l["event"])]++
		}
	}
	for _, key := range []string{"nodialog dialog", "rejected presence", "rejected dialog", "gone presence", "gone dialog"} {
		user, ev, _ := strings.Cut(key, " ")
		if n := warned["sip:"+user+"@frontdesk.test "+ev]; n != 1 {
			t.Errorf("refusal of %s logged %d times, want once (all: %v)", key, n, warned)
		}
	}

	_, h := gw.health()
	reasons := map[string]string{}
	degraded, _ := h["sip"].(map[string]any)["degraded"].([]any)
	for _, d := range degraded {
		d := d.(map[string]any)
		reasons[fmt.Sprint(d["uri"], " ", d["event"])] = fmt.Sprint(d["reason"])
	}
	for key, want := range map[string]string{
		"sip:nodialog@frontdesk.test dialog":   "bad-event",
		"sip:rejected@frontdesk.test presence": "rejected",
		"sip:rejected@frontdesk.test dialog":   "forbidden",
		"sip:gone@frontdesk.test presence":     "not-found",
		"sip:flaky@frontdesk.test dialog":      "server-error",
		"sip:later@frontdesk.test presence":    "server-error",
	} {
		if reasons[key] != want {
			t.Errorf("/healthz degraded %s: %q, want %q (all: %v)", key, reasons[key], want, reasons)
		}
	}
	if _, ok := reasons["sip:nodialog@frontdesk.test presence"]; ok {
		t.Errorf("/healthz lists nodialog's working presence subscription as degraded")
	}
	m := gw.metrics(t)
	for reason, want := range map[string]float64{"bad-event": 1, "rejected": 1, "not-found": 2} {
		name := fmt.Sprintf(`frontdesk_sip_subscription_failures_total{reason=%q}`, reason)
		if got, ok := flowMetric(m, name); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
}

// TestSubscribeRateBudget: 100 agents (200 subscriptions) with
// sip.subscribe_rate 20/s reach the PBX spread out, at most 20 (and one
// for the boundary) in any second, and all of them are subscribed.
func TestSubscribeRateBudget(t *testing.T) {
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	pbx := startScripted(t, testbed.ScriptedOptions{})
	var agents []string
	for i := range 100 {
		agents = append(agents, fmt.Sprintf("agent%03d", i))
	}
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, scriptedGatewayConfig(pbx.Addr(), "  subscribe_rate: 20/s\n", agents...))
	gw := startGateway(t, cfgPath, "--log-level", "info")
	gw.waitHealth("every subscription active", 30*time.Second, func(code int, h map[string]any) bool {
		return code == 200 && h["sip"].(map[string]any)["active"] == 200.0
	})
	var at []time.Time
	for _, r := range pbx.Requests() {
		if r.Method == "SUBSCRIBE" {
			at = append(at, r.At)
		}
	}
	most := 0
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			n++
		}
		most = max(most, n)
	}
	span := at[len(at)-1].Sub(at[0])
	t.Logf("%d SUBSCRIBEs over %v, at most %d in one second", len(at), span.Round(time.Millisecond), most)
	if most > 21 {
		t.Errorf("%d SUBSCRIBEs within one second, want at most 21 with subscribe_rate 20/s", most)
	}
	if len(at) < 200 {
		t.Errorf("%d SUBSCRIBEs, want at least 200", len(at))
	}
}

// TestPBXPackageMissingFallsBack: with a PBX that has no dialog package
// (489) an agent's busy state comes from the presence document alone, a
// note such as "On the phone" included; with one that refuses presence,
// from the dialog state alone (online while idle); an agent's source
// option subscribes to one package only. /healthz says which agents run on
// one package and what that means.
func TestPBXPackageMissingFallsBack(t *testing.T) {
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	pbx := startScripted(t, testbed.ScriptedOptions{
		Subscribe: func(req *sip.Request) *sip.Response {
			if _, inDialog := req.To().Params.Get("tag"); inDialog {
				return nil
			}
			ev := req.GetHeader("Event").Value()
			switch user := req.Recipient.User; {
			case user == "nodialog" && ev == "dialog", user == "nopresence" && ev == "presence":
				return testbed.Reply(req, 489, "Bad Event")
			}
			return nil
		},
		Body: func(req *sip.Request) (string, string) {
			if req.GetHeader("Event").Value() == "presence" {
				return "application/pidf+xml", pidfOpen(req.Recipient.User)
			}
			return "application/dialog-info+xml", dialogIdle(req.Recipient.User)
		},
	})
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, scriptedGatewayConfig(pbx.Addr(), "", "nodialog", "nopresence",
		"{id: forced, sip: forced, source: presence}", "{id: dialogonly, sip: dialogonly, source: dialog}"))
	gw := startGateway(t, cfgPath, "--log-level", "info")
	gw.waitHealth("subscribed", 15*time.Second, func(code int, h map[string]any) bool {
		s := h["sip"].(map[string]any)
		return code == 200 && s["subscriptions"] == 6.0 && s["active"] == 4.0
	})
	v := gw.visit(e2eOrigin)
	_, infos := v.start(e2eWidget)
	var notYet []string
	for _, id := range []string{"nodialog", "nopresence", "forced", "dialogonly"} {
		if infos[id]["presence"] != "online" {
			notYet = append(notYet, id)
		}
	}
	waitPresence(t, v, 5*time.Second, "online", notYet...)

	notify := func(user, event, state, ctype, body string) {
		t.Helper()
		ids := pbx.Dialogs(user, event)
		if len(ids) == 0 {
			t.Fatalf("no %s subscription of %s", event, user)
		}
		if err := pbx.Notify(t.Context(), ids[len(ids)-1], state, ctype, body); err != nil {
			t.Fatal(err)
		}
	}
	// Presence only: a note is all the PBX says of a call.
	notify("nodialog", "presence", "active;expires=600", "application/pidf+xml", pidfNote("nodialog", "On the phone"))
	waitPresence(t, v, 5*time.Second, "busy", "nodialog")
	notify("nodialog", "presence", "active;expires=600", "application/pidf+xml", pidfNote("nodialog", "Ready"))
	waitPresence(t, v, 5*time.Second, "online", "nodialog")
	// Dialog only: a call makes the agent busy, its end available again.
	notify("nopresence", "dialog", "active;expires=600", "application/dialog-info+xml", dialogConfirmed("nopresence", 1))
	waitPresence(t, v, 5*time.Second, "busy", "nopresence")
	notify("nopresence", "dialog", "active;expires=600", "application/dialog-info+xml", dialogEnded("nopresence", 2))
	waitPresence(t, v, 5*time.Second, "online", "nopresence")
	// Forced sources: one package only.
	notify("forced", "presence", "active;expires=600", "application/pidf+xml", pidfNote("forced", "Talk 1002"))
	waitPresence(t, v, 5*time.Second, "busy", "forced")
	notify("dialogonly", "dialog", "active;expires=600", "application/dialog-info+xml", dialogConfirmed("dialogonly", 1))
	waitPresence(t, v, 5*time.Second, "busy", "dialogonly")
	far := time.Now().Add(time.Hour)
	if n := pbx.Count("SUBSCRIBE", "forced", "dialog", time.Time{}, far); n != 0 {
		t.Errorf("%d dialog SUBSCRIBEs for an agent with source presence", n)
	}
	if n := pbx.Count("SUBSCRIBE", "dialogonly", "presence", time.Time{}, far); n != 0 {
		t.Errorf("%d presence SUBSCRIBEs for an agent with source dialog", n)
	}

	_, h := gw.health()
	fallback := map[string]string{}
	for _, d := range h["sip"].(map[string]any)["degraded"].([]any) {
		d := d.(map[string]any)
		fallback[fmt.Sprint(d["uri"], " ", d["event"])] = fmt.Sprint(d["fallback"])
	}
	if f := fallback["sip:nodialog@frontdesk.test dialog"]; f != "presence only: busy detection limited" {
		t.Errorf("/healthz fallback of nodialog: %q", f)
	}
	if f := fallback["sip:nopresence@frontdesk.test presence"]; !strings.HasPrefix(f, "dialog only") {
		t.Errorf("/healthz fallback of nopresence: %q", f)
	}
}

// pidfNote is an open PIDF document for user with a note and no RPID.
func pidfNote(user, note string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:` + user + `@frontdesk.test"><note>` + note +
		`</note><tuple id="t1"><status><basic>open</basic></status></tuple></presence>`
}

// dialogConfirmed is a full dialog-info document with one connected call.
func dialogConfirmed(user string, version int) string {
	return fmt.Sprintf(`<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="%d" state="full" entity="sip:%s@frontdesk.test"><dialog id="d1" direction="recipient"><state>confirmed</state></dialog></dialog-info>`, version, user)
}

// dialogEnded is a partial dialog-info document ending that call.
func dialogEnded(user string, version int) string {
	return fmt.Sprintf(`<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="%d" state="partial" entity="sip:%s@frontdesk.test"><dialog id="d1" direction="recipient"><state>terminated</state></dialog></dialog-info>`, version, user)
}

// pidfOpen is an open PIDF document for user.
func pidfOpen(user string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:` + user + `@frontdesk.test"><tuple id="t1"><status><basic>open</basic></status></tuple></presence>`
}

// dialogIdle is a full dialog-info document without dialogs for user.
func dialogIdle(user string) string {
	return `<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:` + user + `@frontdesk.test"/>`
}
