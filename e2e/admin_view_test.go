//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

const (
	adminToken  = "e2e-admin-token-0123456789"
	adminWidget = "9a8b7c6d5e4f40318293a4b5c6d7e8f9"
)

// adminViewConfig is a gateway on the test bed with the admin view behind
// a token: agents of every mode, one whose name is markup.
func adminViewConfig(pbx string) string {
	return "# frontdesk admin view test config\n" + gatewayHead(pbx, e2eOrigin) + fmt.Sprintf(`admin:
  token_env: FD_E2E_ADMIN_TOKEN
widgets:
  - id: %s
    type: cards
    name: Team
    agents:
      - {id: alice, sip: alice, name: Alice}
      - {id: bob, sip: bob, name: Bob}
      - {id: carol, sip: carol, name: "Carol <img src=x data-injected=1>"}
      - {id: hotline, sip: hotline, name: Hotline, mode: boolean, boolean: "sip:%s@frontdesk.test"}
      - {id: queue, sip: queue, name: Queue, mode: always}
`, adminWidget, boolUser)
}

// TestAdminView drives the admin view in Chromium against the test bed:
// a wrong token is refused, the right one logs in; every agent shows its
// availability and why; a presence change appears; the trace filtered on
// one agent shows that agent's NOTIFY and SUBSCRIBE and nobody else's,
// without digest responses; nothing breaks the page's CSP and axe finds
// nothing serious. The visitor port does not serve the view.
func TestAdminView(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium unavailable (run testbed/install.sh): %v", err)
	}
	tb := startTestbed(t)
	ctx := ctxT(t, 4*time.Minute)
	if err := tb.PublishBoolean(ctx, boolUser, boolPass, true); err != nil {
		t.Fatalf("publish boolean: %v", err)
	}
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	t.Setenv("FD_E2E_ADMIN_TOKEN", adminToken)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	cfg := adminViewConfig(tb.Addr())
	writeConfig(t, cfgPath, cfg)
	gw := startGateway(t, cfgPath)
	gw.waitHealth("registered with all subscriptions active", 20*time.Second, func(code int, h map[string]any) bool {
		s := h["sip"].(map[string]any)
		return code == 200 && s["subscriptions"] == 7.0 && s["active"] == 7.0
	})

	t.Run("not on the visitor port", func(t *testing.T) {
		for _, p := range []string{"/admin/", "/admin/login", "/admin/api/state", "/admin/api/trace"} {
			if code, _ := httpGetCode(t, gw.httpURL+p); code != http.StatusNotFound {
				t.Errorf("visitor port %s: %d, want 404", p, code)
			}
		}
		// The probes stay open on the admin listener; the view does not.
		if code, _ := httpGetCode(t, gw.adminURL+"/readyz"); code != 200 {
			t.Errorf("/readyz without a token: %d", code)
		}
		if code, _ := httpGetCode(t, gw.adminURL+"/admin/api/state"); code != http.StatusUnauthorized {
			t.Errorf("/admin/api/state without a token: %d, want 401", code)
		}
		req, _ := http.NewRequest("GET", gw.adminURL+"/admin/api/state", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken+"-wrong")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("a wrong bearer token: %d, want 401", res.StatusCode)
		}
	})

	env := &browserEnv{t: t}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), chromiumOptions(t.TempDir(), chromedp.WindowSize(1400, 900))...)
	t.Cleanup(cancel)
	env.alloc = alloc
	env.startBrowser()
	tab := env.newTab(t)

	t.Run("wrong token refused, right one logs in", func(t *testing.T) {
		tab.t = t
		tab.run("open the admin view", 20*time.Second, chromedp.Navigate(gw.adminURL+"/admin/"))
		tab.waitJS("sent to the login page", `location.pathname === '/admin/login' && !!document.getElementById('token')`, browserWait)
		tab.login("not-the-token-at-all")
		tab.waitJS("wrong token said", `location.pathname === '/admin/login' && (document.getElementById('login-error') || {}).textContent === 'That token is not right.'`, browserWait)
		var cookie string
		tab.eval(`document.cookie`, &cookie)
		if cookie != "" {
			t.Errorf("cookies readable by the page after a refusal: %q", cookie)
		}
		tab.login(adminToken)
		tab.waitJS("the admin view", `location.pathname === '/admin/' && !!document.querySelector('tr[data-agent]')`, browserWait)
		tab.eval(`document.cookie`, &cookie)
		if cookie != "" {
			t.Errorf("the session cookie is readable by scripts: %q", cookie)
		}
		var access string
		tab.eval(`document.getElementById('access').textContent`, &access)
		if !strings.Contains(access, "token") || !strings.Contains(access, "session") {
			t.Errorf("access line %q", access)
		}
	})

	row := func(id string) string {
		return fmt.Sprintf(`document.querySelector('tr[data-agent="%s/%s"]')`, adminWidget, id)
	}
	ruleOf := func(id string) string {
		var s string
		tab.eval(row(id)+`.querySelector('.rule').textContent`, &s)
		return s
	}

	t.Run("agents, availability and why", func(t *testing.T) {
		tab.t = t
		want := map[string]string{"alice": "online", "bob": "online", "carol": "offline", "hotline": "online", "queue": "online"}
		for id, avail := range want {
			tab.waitJS(id+" "+avail, row(id)+` && `+row(id)+`.getAttribute('data-availability') === '`+avail+`'`, browserWait)
		}
		for id, rule := range map[string]string{
			"alice":   "presence open, no active dialog, not busy or away: available",
			"carol":   "no presence document known",
			"hotline": "mode boolean: sip:daytime@frontdesk.test is open (true): available",
			"queue":   "mode always: always available",
		} {
			if got := ruleOf(id); !strings.HasPrefix(got, rule) {
				t.Errorf("%s: why %q, want %q", id, got, rule)
			}
		}
		var presence string
		tab.eval(row("alice")+`.querySelector('.presence').textContent`, &presence)
		if !strings.HasPrefix(presence, "open") || !regexp.MustCompile(`active, last NOTIFY \d\d:\d\d:\d\d \(\d+ NOTIFYs?\)`).MatchString(presence) {
			t.Errorf("alice's presence cell %q", presence)
		}
		var dialog string
		tab.eval(row("alice")+`.querySelector('.dialog').textContent`, &dialog)
		if !strings.HasPrefix(dialog, "idle") || !strings.Contains(dialog, "last NOTIFY") {
			t.Errorf("alice's dialog cell %q", dialog)
		}
		// The last presence document is there, as text.
		var body string
		tab.eval(row("alice")+`.querySelector('.presence details pre').textContent`, &body)
		if !strings.Contains(body, "<basic>open</basic>") {
			t.Errorf("alice's last NOTIFY body %q", body)
		}
		// A name that is markup stays text.
		var name string
		var injected bool
		tab.eval(row("carol")+`.querySelector('th').textContent`, &name)
		tab.eval(`!!document.querySelector('[data-injected]')`, &injected)
		if !strings.HasPrefix(name, "Carol <img src=x data-injected=1>") || injected {
			t.Errorf("carol's name %q, element injected %v", name, injected)
		}
		var gateway string
		tab.eval(`document.getElementById('gateway').textContent`, &gateway)
		if !strings.Contains(gateway, "registered since") || !strings.Contains(gateway, "7 active of 7") {
			t.Errorf("gateway section %q", gateway)
		}
	})

	t.Run("a presence change appears", func(t *testing.T) {
		tab.t = t
		if err := tb.Agent("bob").SetPresence(ctx, "busy"); err != nil {
			t.Fatal(err)
		}
		took := tab.waitJS("bob busy", row("bob")+`.getAttribute('data-availability') === 'busy'`, browserWait)
		if got := ruleOf("bob"); got != "presence open, RPID says busy (on the phone, busy, in a meeting): busy" {
			t.Errorf("bob's why %q", got)
		}
		t.Logf("bob's change shown after %v", took.Round(time.Millisecond))
	})

	t.Run("trace filtered by agent", func(t *testing.T) {
		tab.t = t
		tab.eval(fmt.Sprintf(`(() => { const s = document.getElementById('trace-filter'); s.value = '%s/alice'; return s.value; })()`, adminWidget), nil)
		tab.clickPage("#trace-toggle")
		tab.waitJS("trace running", `document.getElementById('trace-status').textContent.startsWith('Running: messages naming sip:alice@frontdesk.test')`, browserWait)
		// bob changes first: his NOTIFY must not show in alice's trace.
		if err := tb.Agent("bob").SetPresence(ctx, "online"); err != nil {
			t.Fatal(err)
		}
		tab.waitJS("bob online again", row("bob")+`.getAttribute('data-availability') === 'online'`, browserWait)
		if err := tb.Agent("alice").SetPresence(ctx, "away"); err != nil {
			t.Fatal(err)
		}
		tab.waitJS("alice's NOTIFY in the trace", `Array.from(document.querySelectorAll('#trace li[data-dir=in] pre')).some((p) => p.textContent.startsWith('NOTIFY ') && p.textContent.includes('<sip:alice@frontdesk.test>') && p.textContent.includes('away'))`, browserWait)
		tab.waitJS("alice offline (away)", row("alice")+`.getAttribute('data-availability') === 'offline'`, browserWait)
		// Taking alice out of the widget unsubscribes her: in-dialog
		// SUBSCRIBEs to alice (Expires: 0); back in, new ones.
		writeConfig(t, cfgPath, strings.Replace(cfg, "      - {id: alice, sip: alice, name: Alice}\n", "", 1))
		t.Cleanup(func() {
			if t.Failed() {
				var heads []string
				tab.eval(`Array.from(document.querySelectorAll('#trace li')).map((li) => li.getAttribute('data-dir') + ' ' + li.querySelector('pre').textContent.split('\n').slice(0, 12).join(' | '))`, &heads)
				t.Logf("trace entries:\n%s", strings.Join(heads, "\n"))
			}
		})
		tab.waitJS("alice's unsubscribe in the trace", `Array.from(document.querySelectorAll('#trace li[data-dir=out] pre')).some((p) => /^SUBSCRIBE /.test(p.textContent) && /\nTo: <sip:alice@frontdesk.test>/.test(p.textContent) && /\nExpires: 0\r?\n/.test(p.textContent))`, browserWait)
		writeConfig(t, cfgPath, cfg)
		tab.waitJS("alice's new SUBSCRIBE in the trace", `Array.from(document.querySelectorAll('#trace li[data-dir=out] pre')).some((p) => p.textContent.startsWith('SUBSCRIBE sip:alice@frontdesk.test') && /\nExpires: 120\r?\n/.test(p.textContent))`, browserWait)
		var texts []string
		tab.eval(`Array.from(document.querySelectorAll('#trace li pre')).map((p) => p.textContent)`, &texts)
		digest := regexp.MustCompile(`response="[0-9a-f]{32}"`)
		authorized := 0
		for _, text := range texts {
			if strings.Contains(text, "sip:bob@") {
				t.Errorf("bob in alice's trace:\n%s", text)
			}
			if !strings.Contains(strings.ToLower(text), "sip:alice@frontdesk.test") {
				t.Errorf("an entry that does not name alice:\n%s", text)
			}
			if digest.MatchString(text) {
				t.Errorf("a digest response shown:\n%s", text)
			}
			if strings.Contains(text, `response="(hidden)"`) {
				authorized++
			}
		}
		if authorized == 0 {
			t.Errorf("no authorized SUBSCRIBE among %d entries: the digest check checked nothing", len(texts))
		}
		t.Logf("%d trace entries for alice, %d with hidden digest responses", len(texts), authorized)
		tab.clickPage("#trace-toggle")
		gw.waitHealth("alice subscribed again", 10*time.Second, func(code int, h map[string]any) bool {
			return h["sip"].(map[string]any)["active"] == 7.0
		})
	})

	t.Run("strict CSP kept and axe clean", func(t *testing.T) {
		tab.t = t
		tab.noViolations()
		src, err := os.ReadFile(filepath.Join("node_modules", "axe-core", "axe.min.js"))
		if err != nil {
			t.Fatalf("axe-core missing (run npm ci --prefix e2e): %v", err)
		}
		tab.run("inject axe", 20*time.Second, chromedp.Evaluate[chromedp.Void](string(src)))
		tab.axePage("admin view with a trace")
		tab.clickPage("#logout button")
		tab.waitJS("logged out", `location.pathname === '/admin/login'`, browserWait)
		tab.run("inject axe", 20*time.Second, chromedp.Evaluate[chromedp.Void](string(src)))
		tab.axePage("login page")
		tab.noViolations()
	})
}

// login types token into the login page and sends it.
func (tb *browserTab) login(token string) {
	tb.t.Helper()
	tb.waitJS("login form", `!!document.getElementById('token')`, browserWait)
	tb.eval(`(() => { const i = document.getElementById('token'); i.value = ''; i.focus(); return document.activeElement === i; })()`, nil)
	tb.typeText(token)
	tb.press(kb.Enter)
}

// clickPage clicks the element sel of the page (not of a widget) at its
// centre, as a user would.
func (tb *browserTab) clickPage(sel string) {
	tb.t.Helper()
	tb.waitJS("visible "+sel, fmt.Sprintf(`shown(document.querySelector(%q))`, sel), browserWait)
	var box []float64
	tb.eval(fmt.Sprintf(`(() => { const n = document.querySelector(%q); n.scrollIntoView({block: 'center'}); const r = n.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`, sel), &box)
	tb.run("click "+sel, 10*time.Second, chromedp.MouseClickXY(box[0], box[1]))
}

// axePage runs axe-core (injected before) on the whole page and fails on
// serious or critical violations.
func (tb *browserTab) axePage(state string) {
	tb.t.Helper()
	type violation struct {
		ID, Impact, Help string
		Nodes            []string
	}
	var res struct {
		Violations []violation
		Passes     int
	}
	tb.eval(`axe.run(document).then((r) => ({
  Violations: r.violations.map((v) => ({ ID: v.id, Impact: v.impact || '', Help: v.help, Nodes: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)) })),
  Passes: r.passes.length }))`, &res)
	if res.Passes == 0 {
		tb.t.Errorf("axe (%s) checked nothing", state)
	}
	for _, v := range res.Violations {
		msg := fmt.Sprintf("axe (%s): %s [%s] %s: %s", state, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
		if v.Impact == "serious" || v.Impact == "critical" {
			tb.t.Error(msg)
		} else {
			tb.t.Log(msg)
		}
	}
	tb.t.Logf("axe (%s): %d violations, %d rules passed", state, len(res.Violations), res.Passes)
}

// TestAdminViewShowsRefusals: against a PBX without the dialog package the
// admin view says the package is refused, why alice is still available
// (presence alone), and lists the failing subscription with the PBX's
// answer.
func TestAdminViewShowsRefusals(t *testing.T) {
	ctx := ctxT(t, 2*time.Minute)
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir:    t.TempDir(),
		Users:  []testbed.User{{Name: "frontdesk", Password: gwPassword}},
		Agents: []testbed.AgentSpec{{Name: "alice", Password: "alice-pw", Presence: testbed.StatusOnline}},
		Faults: testbed.Faults{NoDialogEvents: true},
		Log:    slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	t.Setenv("FD_E2E_ADMIN_TOKEN", adminToken)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, gatewayHead(tb.Addr(), e2eOrigin)+fmt.Sprintf(`admin:
  token_env: FD_E2E_ADMIN_TOKEN
widgets:
  - id: %s
    type: cards
    agents:
      - {id: alice, sip: alice}
`, adminWidget))
	gw := startGateway(t, cfgPath)

	type state struct {
		Health struct {
			SIP struct {
				Degraded []struct{ URI, Event, Error, Fallback string }
			}
		}
		Widgets []struct {
			Agents []struct {
				ID, Availability, Rule string
				Dialog                 *struct {
					Refused      bool
					Subscription *struct {
						State     string
						LostError string `json:"lost_error"`
					}
				}
			}
		}
	}
	var st state
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequest("GET", gw.adminURL+"/admin/api/state", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		st = state{}
		err = json.NewDecoder(res.Body).Decode(&st)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("state: %d %v", res.StatusCode, err)
		}
		if len(st.Widgets) == 1 && len(st.Widgets[0].Agents) == 1 {
			a := st.Widgets[0].Agents[0]
			if a.Dialog != nil && a.Dialog.Refused && a.Availability == "online" && len(st.Health.SIP.Degraded) == 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refusal shown within 15s: %+v", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	a := st.Widgets[0].Agents[0]
	if a.Rule != "presence open, the PBX refuses the dialog package: presence only, busy detection limited, not busy or away: available" {
		t.Errorf("alice's why: %q", a.Rule)
	}
	if sub := a.Dialog.Subscription; sub == nil || sub.State != "lost" || !strings.Contains(sub.LostError, "489") {
		t.Errorf("alice's dialog subscription: %+v", sub)
	}
	if d := st.Health.SIP.Degraded[0]; d.URI != "sip:alice@frontdesk.test" || d.Event != "dialog" || !strings.Contains(d.Error, "489") || d.Fallback == "" {
		t.Errorf("failing subscription: %+v", d)
	}
}
