//go:build integration

package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/color"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp/kb"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// The flow tests use the widget as a visitor would, through its buttons and
// forms in Chromium and Firefox, on a site of another origin with a strict
// Content Security Policy, against real baresip agents behind Kamailio: a
// voice call with audio both ways, a chat with typing that survives a page
// reload, and a message left when nobody is available.

const (
	flowCards = "f10ca11a5b8e4f61a3c4d5e6f7a8b9c0" // cards: alice takes calls and chats
	flowSide  = "f10c4a75c6d7e8f9a0b1c2d3e4f5a6b7" // sidebar: chat with bob
	flowLeave = "f10c1ea7e0f1a2b3c4d5e6f7a8b9c0d1" // sidebar with a fallback: carol and dora
	// flowAliceHz is what alice's phone plays in calls: baresip's own sine.
	flowAliceHz = 440
	// flowWait bounds each wait for a call, a message or a state.
	flowWait = 20 * time.Second
)

// flowsConfig allows one chat and one left message per visitor session
// (the retry-later cases), and a short chat hand-over.
func flowsConfig(pbx, site string) string {
	head := gatewayHead(pbx, site)
	head = strings.Replace(head, "chats: {per_session: off,", "chats: {per_session: 1/1h,", 1)
	head = strings.Replace(head, "messages_left: {per_session: off,", "messages_left: {per_session: 1/1h,", 1)
	return "# frontdesk browser flow test config\n" + head + fmt.Sprintf(`chat:
  handover: 1s
widgets:
  - id: %s
    type: cards
    name: Sales
    agents:
      - {id: alice, sip: alice, name: Alice Adams, department: Sales, media: [voice, chat]}
  - id: %s
    type: sidebar
    name: Help
    always_show: false
    agents:
      - {id: bob, sip: bob, name: Bob Brown, department: Support, media: [chat]}
  - id: %s
    type: sidebar
    name: After hours
    always_show: false
    fallback: {sip: bob}
    agents:
      - {id: carol, sip: carol, name: Carol Clark, media: [voice, chat]}
      - {id: dora, sip: dora, name: Dora Diaz, media: [voice, chat]}
`, flowCards, flowSide, flowLeave)
}

// startFlowsEnv starts the test bed (alice answers calls; bob chats and is
// the fallback; carol is offline; dora is online until a test says
// otherwise), the gateway, the site and Chromium with a fake microphone.
func startFlowsEnv(t *testing.T) *browserEnv {
	t.Helper()
	return startFlowsEnvWith(t, flowsConfig, 8)
}

// startFlowsEnvWith is startFlowsEnv with another gateway config, which
// subscribes to subs presence and dialog packages in all.
func startFlowsEnvWith(t *testing.T, config func(pbx, site string) string, subs float64) *browserEnv {
	t.Helper()
	return startFlowsEnvIn(t, engineChromium, config, subs)
}

// startFlowsEnvIn is startFlowsEnvWith with the tabs in engine and more
// agents in the test bed.
func startFlowsEnvIn(t *testing.T, engine string, config func(pbx, site string) string, subs float64, more ...testbed.AgentSpec) *browserEnv {
	t.Helper()
	checkEngine(t, engine)
	if err := testbed.CheckBinaries(true); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	env := &browserEnv{t: t}
	env.site = httptest.NewServer(http.HandlerFunc(env.serveFlowPage))
	t.Cleanup(env.site.Close)

	env.bed = startAgentsBed(t, append([]testbed.AgentSpec{
		// alice records what she hears: the call flow checks the
		// visitor's microphone reaches her.
		{Name: "alice", Password: "alice-pw", Presence: "online", AnswerCalls: true, Record: true},
		{Name: "bob", Password: "bob-pw", Presence: "online"},
		{Name: "carol", Password: "carol-pw", Presence: "offline"},
		{Name: "dora", Password: "dora-pw", Presence: "online"},
	}, more...))
	bed := env.bed

	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	dir := t.TempDir()
	// Pictures a config may name (picture: alice.png, …).
	writeAgentPicture(t, filepath.Join(dir, "alice.png"), color.RGBA{0xe0, 0x7a, 0x5f, 0xff}, color.RGBA{0x3d, 0x40, 0x5b, 0xff})
	writeAgentPicture(t, filepath.Join(dir, "dora.png"), color.RGBA{0xf2, 0xcc, 0x8f, 0xff}, color.RGBA{0x6d, 0x59, 0x7a, 0xff})
	env.cfgPath = filepath.Join(dir, "frontdesk.yaml")
	env.writeConfig(config(bed.Addr(), env.site.URL))
	env.gw = startGateway(t, env.cfgPath)
	env.gw.waitHealth("registered with all subscriptions active", 20*time.Second, func(code int, h map[string]any) bool {
		s, _ := h["sip"].(map[string]any)
		// alice, bob, carol, dora: presence + dialog each.
		return code == 200 && h["calls_enabled"] == true && s["registration"] == "registered" && s["subscriptions"] == subs && s["active"] == subs
	})

	env.startEngine(engine, nil)
	return env
}

// serveFlowPage serves the site's pages, each with the strict CSP:
//
//	/call    the cards widget (alice)
//	/side    the chat sidebar (bob)
//	/leave   the sidebar with a fallback (carol, dora)
//	/states  the state tests' sidebar, on a page styled like a small shop
//	/states-cut  the same through env.cut, a proxy the test can cut
//	/w/<id>  widget id (a cards widget's container is on the page too)
func (env *browserEnv) serveFlowPage(w http.ResponseWriter, r *http.Request) {
	gw := env.gw.httpURL
	if r.URL.Path == "/states-cut" {
		gw = env.cut.url()
	}
	script := func(id string) string {
		return fmt.Sprintf(`<script async src="%s/frontdesk.js" data-frontdesk-widget="%s" data-frontdesk-gateway="%s"></script>`, gw, id, gw)
	}
	var body, head string
	switch r.URL.Path {
	case "/call":
		body = `<section aria-labelledby="team"><h2 id="team">Talk to sales</h2><div data-frontdesk-cards="` + flowCards + `"></div></section>` + script(flowCards)
	case "/side":
		body = `<p>Welcome to our shop.</p>` + script(flowSide)
	case "/leave":
		body = `<p>We are closed right now.</p>` + script(flowLeave)
	case "/states", "/states-cut":
		head = shopStyle
		body = `<h2>Kettles</h2><p>Welcome to our shop. Browse our products; help is one click away.</p>` +
			`<ul><li>Blue kettle, 1.7 l</li><li>Red kettle, 1.2 l</li><li>Travel kettle, 0.5 l</li></ul>` + script(statesWidget)
	default:
		id, ok := strings.CutPrefix(r.URL.Path, "/w/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		// /w/<widget>: any widget of the config, on a plain shop page.
		head = shopStyle
		body = `<h2>Contact</h2><p>Welcome to our shop.</p><div data-frontdesk-cards="` + id + `"></div>` + script(id)
	}
	w.Header().Set("Content-Security-Policy", env.cspFor(gw))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Example shop</title><link rel="icon" href="data:,">%s</head><body><header><h1>Example shop</h1></header><main>%s</main></body></html>`, head, body)
}

// shopStyle makes a page look like a small shop, for the screenshots: a
// <style> the page's CSP allows by its hash (cspFor), as a careful site
// would.
const shopCSS = `body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#222;background:#f4f1ea}header{padding:1.2em 2em;background:#2b2d42;color:#fff}main{max-width:64em;margin:0 auto;padding:1.5em 2em}h1{margin:0;font-size:1.4em}h2{font-size:1.15em}`

const shopStyle = `<style>` + shopCSS + `</style>`

// cspFor is strictCSP for a widget served from gw, allowing the shop's
// style by its hash.
func (env *browserEnv) cspFor(gw string) string {
	sum := sha256.Sum256([]byte(shopCSS))
	ws := "ws" + strings.TrimPrefix(gw, "http")
	return "default-src 'none'; script-src " + gw + "; connect-src " + ws + "; img-src data:; style-src 'sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// TestBrowserFlows: a visitor calls, chats and leaves a message through the
// widget's own UI.
func TestBrowserFlows(t *testing.T) {
	browserFlows(t, startFlowsEnv(t))
}

// browserFlows are the flow steps, the same in every engine (see
// TestFirefoxFlows); only names the flows to run (all when empty).
func browserFlows(t *testing.T, env *browserEnv, only ...string) {
	ctx := ctxT(t, 10*time.Minute)
	// run runs the flow name unless only lists others.
	run := func(name string, flow func(t *testing.T)) {
		if len(only) == 0 || slices.Contains(only, name) {
			t.Run(name, flow)
		}
	}

	run("a voice call through the UI connects and hangs up", func(t *testing.T) {
		alice := env.tbAgent("alice")
		tb := env.newTab(t)
		tb.open(env, "/call", flowCards)
		tb.waitJS("alice available", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'online'`, flowCards, cardSel("alice")), flowWait)
		// Requests alice receives start with her contact, sip:alice-….
		byesBefore := strings.Count(flowAgentLog(alice), "\nBYE sip:alice")
		recsBefore := cbRecordings(t, alice)

		// Call asks for the name; Enter in the name field starts the call.
		tb.clickAction(flowCards, "alice", "call")
		tb.waitAttr(flowCards, "view", "name")
		tb.waitJS("the name field has the focus", fmt.Sprintf(`(() => { const a = deepFocus(); return !!a && a.tagName === 'INPUT' && a.getRootNode().host === fdHost(%q) && shown(a); })()`, flowCards), flowWait)
		tb.typeText("Vera Visitor")
		tb.press(kb.Enter)
		tb.flowWaitCall(flowCards, "connected")
		if v := tb.hostAttr(flowCards, "view"); v != "call" {
			t.Errorf("view %q during the call, want call", v)
		}

		// The agent's phone has the call, from the visitor by name.
		env.flowWaitMetric(t, "frontdesk_calls", 1)
		est := flowWaitAgentLog(t, alice, "call established", func(l string) bool { return strings.Contains(strings.ToLower(l), "call established") })
		t.Logf("alice: %s", est)
		invite := flowLastRequest(flowAgentLog(alice), "INVITE")
		if from := flowHeader(invite, "From"); !strings.Contains(from, "Vera Visitor") {
			t.Errorf("the agent's INVITE has From %q, want the visitor's name", from)
		}

		// Audio both ways: the visitor hears alice's tone, alice hears the
		// visitor's microphone.
		freq, db := tb.flowWaitHears(flowCards, flowAliceHz)
		t.Logf("the visitor hears %.0f Hz at %.0f dB", freq, db)
		rec := cbNewRecording(t, alice, recsBefore)
		cbWaitRecordingHears(t, alice, rec, cbMicHz)

		// The connected view: its state in words, a running timer, and
		// the controls.
		tb.flowWaitText(flowCards, ".callv .cst", "Connected")
		first := tb.flowWaitTimer(flowCards, "")
		second := tb.flowWaitTimer(flowCards, first)
		t.Logf("the call timer went from %s to %s", first, second)
		keys := tb.controls(flowCards)
		for _, want := range []string{"rb:Mute", "rb:Keypad", "rb end:Hang up"} {
			if !slices.Contains(keys, want) {
				t.Errorf("control %q not reachable; the panel has %v", want, keys)
			}
		}
		for _, gone := range []string{"rb:Open in a separate window"} {
			if slices.Contains(keys, gone) {
				t.Errorf("control %q shown during a connected call", gone)
			}
		}

		// Mute toggles (the button says what it will do and its state).
		tb.click(flowCards, tb.flowButton(flowCards, ".ctl", "Mute"))
		tb.waitJS("muted", fmt.Sprintf(`(() => { const b = %s; return !!b && b.getAttribute('aria-pressed') === 'true'; })()`, flowButtonJS(flowCards, ".ctl", "Unmute")), flowWait)
		tb.click(flowCards, tb.flowButton(flowCards, ".ctl", "Unmute"))
		tb.waitJS("unmuted", fmt.Sprintf(`(() => { const b = %s; return !!b && b.getAttribute('aria-pressed') === 'false'; })()`, flowButtonJS(flowCards, ".ctl", "Mute")), flowWait)

		// The keypad sends a key to the agent's phone.
		tb.click(flowCards, tb.flowButton(flowCards, ".ctl", "Keypad"))
		tb.waitJS("keypad shown", fmt.Sprintf(`shown(fd(%q).querySelector('.pad'))`, flowCards), flowWait)
		tb.click(flowCards, tb.flowButton(flowCards, ".pad", "5"))
		// baresip reports the RFC 4733 events it receives: the key's start
		// and its end.
		flowWaitAgentLog(t, alice, "telephone-event 5 start", func(l string) bool { return strings.Contains(l, "received event: '5' (end=0)") })
		dtmf := flowWaitAgentLog(t, alice, "telephone-event 5 end", func(l string) bool { return strings.Contains(l, "received event: '5' (end=1)") })
		t.Logf("alice: %s", dtmf)

		// Hang up: ended by the visitor, in words; the gateway ends the call.
		tb.click(flowCards, tb.flowButton(flowCards, ".ctl", "Hang up"))
		tb.flowWaitCall(flowCards, "ended")
		if r := tb.hostAttr(flowCards, "call-reason"); r != "ended-by-visitor" {
			t.Errorf("call-reason %q, want ended-by-visitor", r)
		}
		tb.flowWaitText(flowCards, ".callv .cst", "You ended the call.")
		env.flowWaitMetric(t, "frontdesk_calls", 0)
		flowWaitAgentLog(t, alice, "a BYE from the gateway", func(string) bool { return strings.Count(flowAgentLog(alice), "\nBYE sip:alice") > byesBefore })
		cbCheckRecording(t, alice, rec, cbMicHz)

		// Second call: the name is remembered; the agent hangs up.
		tb.click(flowCards, tb.flowButton(flowCards, ".callv", "Close"))
		tb.waitAttr(flowCards, "view", "home")
		tb.waitAttr(flowCards, "call", "idle")
		// The card may still show alice busy from her call; the button
		// works again once the PBX reports her available.
		tb.flowWaitJS("alice available again", fmt.Sprintf(`(() => { const c = fd(%q).querySelector(%q); return c.getAttribute('data-presence') === 'online' && !c.querySelector('[data-action=call]').hasAttribute('aria-disabled'); })()`, flowCards, cardSel("alice")))
		invites := strings.Count(flowAgentLog(alice), "\nINVITE sip:")
		tb.clickAction(flowCards, "alice", "call")
		tb.flowWaitCall(flowCards, "connected")
		if v := tb.hostAttr(flowCards, "view"); v != "call" {
			t.Errorf("view %q during the second call, want call (the name is known)", v)
		}
		env.flowWaitMetric(t, "frontdesk_calls", 1)
		trace := flowAgentLog(alice)
		if n := strings.Count(trace, "\nINVITE sip:"); n != invites+1 {
			t.Errorf("alice got %d INVITEs for the second call, want 1", n-invites)
		}
		if from := flowHeader(flowLastRequest(trace, "INVITE"), "From"); !strings.Contains(from, "Vera Visitor") {
			t.Errorf("the second INVITE has From %q, want the remembered name", from)
		}
		tb.flowWaitText(flowCards, ".callv .cst", "Connected")
		if err := alice.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		tb.flowWaitCall(flowCards, "ended")
		if r := tb.hostAttr(flowCards, "call-reason"); r != "ended-by-agent" {
			t.Errorf("call-reason %q, want ended-by-agent", r)
		}
		tb.flowWaitText(flowCards, ".callv .cst", "The call was ended by the other side.")
		env.flowWaitMetric(t, "frontdesk_calls", 0)
		tb.flowPageClean()
	})

	run("chat round trip through the UI", func(t *testing.T) {
		bob := env.tbAgent("bob")
		tb := env.newTab(t)
		tb.open(env, "/side", flowSide)
		tb.waitAttr(flowSide, "visible", "1")
		tb.click(flowSide, ".tab")
		tb.waitAttr(flowSide, "open", "1")
		tb.clickAction(flowSide, "bob", "chat")
		tb.waitAttr(flowSide, "view", "name")
		tb.waitJS("the name field has the focus", fmt.Sprintf(`(() => { const a = deepFocus(); return !!a && a.tagName === 'INPUT' && a.getRootNode().host === fdHost(%q) && shown(a); })()`, flowSide), flowWait)
		tb.typeText("Vera Visitor")
		tb.press(kb.Enter)
		tb.waitAttr(flowSide, "view", "chat")
		tb.flowWaitJS("chat open", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-chat') === 'open'`, flowSide))

		// The visitor types and sends with Enter; the agent gets it from
		// the visitor's name; the page shows it delivered.
		tb.waitJS("the message field has the focus", fmt.Sprintf(`(() => { const a = deepFocus(); return !!a && a.tagName === 'TEXTAREA' && a.getRootNode().host === fdHost(%q); })()`, flowSide), flowWait)
		const question = "Hello Bob, is the blue kettle in stock?"
		composingBefore := flowCountMessages(t, bob, "<state>active</state>")
		tb.typeText(question)
		// Typing tells the agent's phone (RFC 3994 isComposing).
		flowWaitAgentMessages(t, bob, "isComposing active from the visitor", "<state>active</state>", composingBefore+1)
		// Enter as a keyboard sends it: a raw key-down, then its character.
		tb.press(kb.Enter, flowRawKeyDown)
		got := waitAgentMessage(t, bob, question)
		if !strings.Contains(got.From, "Vera Visitor") {
			t.Errorf("the agent sees From %q, want the visitor's name", got.From)
		}
		tb.flowWaitJS("the question delivered", fmt.Sprintf(`(() => { const m = Array.from(fd(%q).querySelectorAll('[role=log] .msg.me')); return m.length === 1 && m[0].textContent.includes(%q) && m[0].getAttribute('data-state') === 'delivered' && m[0].textContent.includes('Delivered'); })()`, flowSide, question))
		if v := tb.flowInputValue(flowSide, ".chatv textarea"); v != "" {
			t.Errorf("the message field still holds %q after sending", v)
		}

		// The agent answers: the thread shows it; the visitor sees it, so
		// nothing is unread.
		// The agent types: the chat says so until the answer arrives.
		if code, err := env.bed.SendMessageAs(ctx, "bob", "bob-pw", "frontdesk", "application/im-iscomposing+xml", []byte(flowComposing)); err != nil || code != 200 {
			t.Fatalf("isComposing from bob: %d, %v", code, err)
		}
		tb.flowWaitJS("the agent typing shown", fmt.Sprintf(`(() => { const n = fd(%q).querySelector('.chatv .typ'); return shown(n) && n.textContent.endsWith('is typing…'); })()`, flowSide))
		const answer1 = "Yes, three are left."
		if err := bob.SendMessage(ctx, answer1); err != nil {
			t.Fatal(err)
		}
		tb.flowWaitLog(flowSide, answer1)
		tb.flowWaitJS("the typing note gone with the answer", fmt.Sprintf(`!shown(fd(%q).querySelector('.chatv .typ'))`, flowSide))
		if n := tb.hostAttr(flowSide, "unread"); n != "0" {
			t.Errorf("unread = %s while the visitor reads the chat", n)
		}

		// With the sidebar collapsed, the tab counts the agent's messages.
		tb.click(flowSide, ".shut")
		tb.waitAttr(flowSide, "open", "0")
		if c := tb.hostAttr(flowSide, "chat"); c != "open" {
			t.Fatalf("collapsing the sidebar left the chat %s", c)
		}
		const answer2 = "Shall I put one aside for you?"
		if err := bob.SendMessage(ctx, answer2); err != nil {
			t.Fatal(err)
		}
		tb.flowWaitLog(flowSide, answer2)
		tb.waitAttr(flowSide, "unread", "1")
		tb.flowWaitJS("badge shows 1", fmt.Sprintf(`(() => { const b = fd(%q).querySelector('.tab .badge'); return shown(b) && b.firstChild.textContent === '1' && b.lastChild.textContent === ', 1 unread messages'; })()`, flowSide))

		// Reload: the thread comes back and the chat resumes.
		tb.eval(`window.__fdMark = 1`, nil)
		tb.reload()
		var mark int
		tb.eval(`window.__fdMark || 0`, &mark)
		if mark != 0 {
			t.Fatal("the page was not reloaded")
		}
		// The chat survives a reload, so reloading does not ask "Leave
		// site?" (the tab would record and accept the dialog).
		if slices.ContainsFunc(tb.logs(), func(l string) bool { return strings.HasPrefix(l, "dialog beforeunload") }) {
			t.Errorf("reloading during a chat asked first; browser log %q", tb.logs())
		}
		tb.waitAttr(flowSide, "ready", "1")
		tb.flowWaitJS("chat resumed", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-chat') === 'open'`, flowSide))
		var thread []string
		tb.eval(fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('[role=log] .msg')).map((m) => (m.classList.contains('me') ? 'me: ' : 'them: ') + m.querySelector('.bub').lastChild.textContent)`, flowSide), &thread)
		if want := []string{"me: " + question, "them: " + answer1, "them: " + answer2}; !slices.Equal(thread, want) {
			t.Errorf("thread after the reload: %q, want %q", thread, want)
		}
		const answer3 = "It is reserved until Friday."
		if err := bob.SendMessage(ctx, answer3); err != nil {
			t.Fatal(err)
		}
		tb.flowWaitLog(flowSide, answer3)
		tb.waitAttr(flowSide, "unread", "1")
		// Opening the panel shows the chat and clears the count.
		tb.click(flowSide, ".tab")
		tb.waitAttr(flowSide, "open", "1")
		tb.waitAttr(flowSide, "view", "chat")
		tb.waitAttr(flowSide, "unread", "0")
		tb.flowWaitJS("the answer shown", fmt.Sprintf(`(() => { const l = fd(%q).querySelector('[role=log]'); return shown(l) && Array.from(l.querySelectorAll('.msg.them')).some((m) => shown(m) && m.textContent.includes(%q)); })()`, flowSide, answer3))
		var n int
		tb.eval(fmt.Sprintf(`fd(%q).querySelectorAll('[role=log] .msg').length`, flowSide), &n)
		if n != 4 {
			t.Errorf("the thread has %d messages, want 4 (none lost or doubled)", n)
		}

		// End the chat: the agent is told, the thread says so, the stored
		// chat is gone.
		tb.click(flowSide, tb.flowButton(flowSide, ".chatv", "End chat"))
		tb.waitAttr(flowSide, "chat", "ended")
		if r := tb.hostAttr(flowSide, "chat-reason"); r != "ended-by-visitor" {
			t.Errorf("chat-reason %q, want ended-by-visitor", r)
		}
		tb.flowWaitLog(flowSide, "The chat has ended.")
		waitAgentMessage(t, bob, "[The visitor ended the chat.]")
		tb.click(flowSide, tb.flowButton(flowSide, ".chatv", "Close"))
		tb.waitAttr(flowSide, "view", "home")
		tb.waitAttr(flowSide, "chat", "idle")
		var stored []string
		tb.eval(`Object.keys(sessionStorage).filter((k) => k.startsWith('frontdesk:chat:'))`, &stored)
		if len(stored) != 0 {
			t.Errorf("an ended chat is still stored: %v", stored)
		}
		tb.flowPageClean()
	})

	run("nobody available: the widget offers to leave a message", func(t *testing.T) {
		bob, dora := env.tbAgent("bob"), env.tbAgent("dora")
		tb := env.newTab(t)
		tb.open(env, "/leave", flowLeave)
		tb.waitAttr(flowLeave, "visible", "1")
		tb.click(flowLeave, ".tab")
		tb.waitAttr(flowLeave, "open", "1")
		// While dora is available the panel offers her, not a message.
		tb.flowWaitJS("dora available", fmt.Sprintf(`(() => { const r = fd(%q); return shown(r.querySelector(%q)) && !shown(r.querySelector('.home .offer')); })()`, flowLeave, cardSel("dora")))

		if err := dora.SetPresence(ctx, testbed.StatusOffline); err != nil {
			t.Fatal(err)
		}
		tb.flowWaitJS("leave a message offered", fmt.Sprintf(`(() => { const r = fd(%q); return shown(r.querySelector('.home .offer')) && shown(r.querySelector('.home .empty')) && r.querySelector('.home .empty').textContent === 'Nobody is available right now.'; })()`, flowLeave))
		if v := tb.hostAttr(flowLeave, "visible"); v != "1" {
			t.Errorf("the sidebar is hidden (visible=%s) although it can take a message", v)
		}
		tb.click(flowLeave, tb.flowButton(flowLeave, ".home .offer", "Leave a message"))
		tb.waitAttr(flowLeave, "view", "leave")
		tb.flowWaitText(flowLeave, ".stage form:not([hidden]) > p", "Nobody is available right now. Leave a message and we will get back to you.")

		const text = "Please call me back about order 4711."
		for _, f := range []struct{ label, value string }{
			{"Your name", "Nora Nobody"},
			{"Email or phone number", "nora@example.com"},
			{"Message", text},
		} {
			tb.click(flowLeave, tb.flowField(flowLeave, f.label))
			tb.typeText(f.value)
		}
		tb.click(flowLeave, tb.flowButton(flowLeave, ".stage", "Send"))
		tb.flowWaitText(flowLeave, ".lst", "Thank you. Your message has been sent.")
		tb.flowWaitJS("form replaced by Close", fmt.Sprintf(`(() => { const r = fd(%q); return !shown(r.querySelector('.flds')) && %s !== undefined; })()`, flowLeave, flowButtonJS(flowLeave, ".stage", "Close")))

		got := waitAgentMessage(t, bob, text)
		for _, want := range []string{"Nora Nobody", "nora@example.com"} {
			if !strings.Contains(got.Body, want) {
				t.Errorf("the fallback got %q without %q", got.Body, want)
			}
		}

		// A second message from the same visitor is beyond the limit (one
		// per session here): the form says how long to wait, and stays.
		tb.click(flowLeave, tb.flowButton(flowLeave, ".stage", "Close"))
		tb.click(flowLeave, tb.flowButton(flowLeave, ".home .offer", "Leave a message"))
		tb.waitAttr(flowLeave, "view", "leave")
		const again = "Me again: please call me back today."
		tb.click(flowLeave, tb.flowField(flowLeave, "Message"))
		tb.typeText(again)
		tb.click(flowLeave, tb.flowButton(flowLeave, ".stage", "Send"))
		tb.flowWaitText(flowLeave, ".lst", "Too many attempts. Please try again in 60 minutes.")
		tb.flowWaitJS("the form still there, Send enabled", fmt.Sprintf(`(() => { const r = fd(%q); const b = %s; return shown(r.querySelector('.flds')) && !!b && !b.disabled; })()`, flowLeave, flowButtonJS(flowLeave, ".stage", "Send")))
		time.Sleep(500 * time.Millisecond)
		if msgs, _ := bob.ReceivedMessages(); slices.ContainsFunc(msgs, func(m testbed.ReceivedMessage) bool { return strings.Contains(m.Body, again) }) {
			t.Error("the refused message reached the fallback")
		}
		tb.flowPageClean()
	})

	run("a chat resumed in a second tab moves there", func(t *testing.T) {
		bob := env.tbAgent("bob")
		endsBefore := flowCountMessages(t, bob, "[The visitor ended the chat")
		tab1 := env.newTab(t)
		tab1.open(env, "/side", flowSide)
		tab1.waitAttr(flowSide, "visible", "1")
		tab1.click(flowSide, ".tab")
		tab1.waitAttr(flowSide, "open", "1")
		opened := time.Now()
		tab1.clickAction(flowSide, "bob", "chat")
		tab1.waitAttr(flowSide, "view", "name")
		tab1.typeText("Tess Tabs")
		tab1.press(kb.Enter)
		tab1.flowWaitJS("chat open", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-chat') === 'open'`, flowSide))
		const question = "Is the red kettle in stock?"
		tab1.waitJS("the message field has the focus", fmt.Sprintf(`(() => { const a = deepFocus(); return !!a && a.tagName === 'TEXTAREA' && a.getRootNode().host === fdHost(%q); })()`, flowSide), flowWait)
		tab1.typeText(question)
		tab1.press(kb.Enter, flowRawKeyDown)
		waitAgentMessage(t, bob, question)
		env.gw.waitTakesReplies(t, "bob@frontdesk.test", opened)
		const answerA = "Yes, two are left."
		if err := bob.SendMessage(ctx, answerA); err != nil {
			t.Fatal(err)
		}
		tab1.flowWaitLog(flowSide, answerA)

		// The visitor duplicates the tab: the browser copies its
		// sessionStorage, so the new tab resumes the chat.
		var stored map[string]string
		tab1.eval(`Object.fromEntries(Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)]))`, &stored)
		copied, _ := json.Marshal(stored)
		tab2 := env.newTab(t)
		tab2.preload("copy the session storage", (fmt.Sprintf(`if (!sessionStorage.length) { const s = %s; for (const k in s) sessionStorage.setItem(k, s[k]); }`, copied)))
		tab2.open(env, "/side", flowSide)
		tab2.flowWaitJS("the chat open in the second tab", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-chat') === 'open'`, flowSide))
		if th, want := tab2.flowThread(flowSide), []string{"me: " + question, "them: " + answerA}; !slices.Equal(th, want) {
			t.Errorf("second tab's thread %q, want %q", th, want)
		}

		// The first tab is told, in words, and offers to continue there;
		// nothing in it waits for an answer.
		tab1.waitAttr(flowSide, "chat", "ended")
		if r := tab1.hostAttr(flowSide, "chat-reason"); r != "moved" {
			t.Errorf("first tab's chat-reason %q, want moved", r)
		}
		tab1.flowWaitLog(flowSide, "This chat continues in another tab or window.")
		var sending int
		tab1.eval(fmt.Sprintf(`fd(%q).querySelectorAll('[role=log] .msg[data-state=sending]').length`, flowSide), &sending)
		if sending != 0 {
			t.Errorf("the first tab shows %d messages as sending", sending)
		}

		// The agent's next answer reaches the second tab only; the second
		// tab writes, the agent gets it.
		const answerB = "Shall I reserve one?"
		if err := bob.SendMessage(ctx, answerB); err != nil {
			t.Fatal(err)
		}
		tab2.front()
		tab2.flowWaitLog(flowSide, answerB)
		const fromTab2 = "Yes please, from the second tab."
		tab2.click(flowSide, ".chatv textarea")
		tab2.typeText(fromTab2)
		tab2.press(kb.Enter, flowRawKeyDown)
		waitAgentMessage(t, bob, fromTab2)
		tab2.flowWaitJS("delivered in the second tab", fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('[role=log] .msg.me')).some((m) => m.textContent.includes(%q) && m.getAttribute('data-state') === 'delivered')`, flowSide, fromTab2))
		if th := tab1.flowThread(flowSide); slices.Contains(th, "them: "+answerB) {
			t.Errorf("the first tab got %q after the chat moved", answerB)
		}

		// Continue here: the chat comes back to the first tab with what it
		// missed, once; the second tab is told.
		tab1.front()
		tab1.click(flowSide, tab1.flowButton(flowSide, ".chatv", "Continue here"))
		tab1.flowWaitJS("chat open again in the first tab", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-chat') === 'open'`, flowSide))
		tab1.flowWaitLog(flowSide, answerB)
		th := tab1.flowThread(flowSide)
		if n := len(slices.DeleteFunc(slices.Clone(th), func(s string) bool { return s != "them: "+answerB })); n != 1 {
			t.Errorf("first tab's thread %q has %q %d times, want once", th, answerB, n)
		}
		tab2.waitAttr(flowSide, "chat", "ended")
		if r := tab2.hostAttr(flowSide, "chat-reason"); r != "moved" {
			t.Errorf("second tab's chat-reason %q, want moved", r)
		}

		// Ending it in the first tab tells the agent.
		tab1.click(flowSide, tab1.flowButton(flowSide, ".chatv", "End chat"))
		tab1.waitAttr(flowSide, "chat", "ended")
		deadline := time.Now().Add(flowWait)
		for flowCountMessages(t, bob, "[The visitor ended the chat") == endsBefore {
			if time.Now().After(deadline) {
				t.Fatal("the agent was not told the chat ended")
			}
			time.Sleep(100 * time.Millisecond)
		}

		// A second chat from this visitor session is beyond the limit (one
		// per session here): the chat view says how long to wait.
		tab1.click(flowSide, tab1.flowButton(flowSide, ".chatv", "Close"))
		tab1.waitAttr(flowSide, "view", "home")
		tab1.clickAction(flowSide, "bob", "chat")
		tab1.waitAttr(flowSide, "chat", "ended")
		if r := tab1.hostAttr(flowSide, "chat-reason"); r != "retry-later" {
			t.Errorf("chat-reason %q, want retry-later", r)
		}
		tab1.flowWaitLog(flowSide, "Too many attempts. Please try again in 60 minutes.")
		tab1.flowPageClean()
		tab2.flowPageClean()
	})
}

// flowThread lists the chat log of widget id: "me: …" and "them: …".
func (tb *browserTab) flowThread(id string) []string {
	tb.t.Helper()
	var th []string
	tb.eval(fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('[role=log] .msg')).map((m) => (m.classList.contains('me') ? 'me: ' : 'them: ') + m.querySelector('.bub').lastChild.textContent)`, id), &th)
	return th
}

// flowComposing is an agent's isComposing (RFC 3994): typing.
const flowComposing = `<?xml version="1.0" encoding="UTF-8"?>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>active</state><contenttype>text/plain</contenttype><refresh>60</refresh></isComposing>`

// flowWaitAgentMessages waits until agent a received n MESSAGEs whose body
// contains text.
func flowWaitAgentMessages(t *testing.T, a *testbed.Agent, what, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(flowWait)
	for flowCountMessages(t, a, text) < n {
		if time.Now().After(deadline) {
			t.Fatalf("agent %s: no %s within %v", a.Name(), what, flowWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// flowCountMessages counts the MESSAGEs agent a received whose body
// contains text.
func flowCountMessages(t *testing.T, a *testbed.Agent, text string) int {
	t.Helper()
	msgs, err := a.ReceivedMessages()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if strings.Contains(m.Body, text) {
			n++
		}
	}
	return n
}

// --- helpers of the flow tests ---

var flowTagN atomic.Int64

// flowButtonJS is a JS expression for the shown button in widget id whose
// label (aria-label, else text) is label, inside scope.
func flowButtonJS(id, scope, label string) string {
	return fmt.Sprintf(`Array.from(fd(%q).querySelectorAll(%q)).find((b) => shown(b) && (b.getAttribute('aria-label') || b.textContent).trim() === %q)`, id, scope+" button", label)
}

// flowFind waits until expr (a JS expression for an element of widget id)
// is a shown element, marks it and returns a selector for it.
func (tb *browserTab) flowFind(id, what, expr string) string {
	tb.t.Helper()
	tag := "e2e-" + strconv.FormatInt(flowTagN.Add(1), 10)
	tb.waitJS(what, fmt.Sprintf(`(() => { const n = (%s); if (!n || !shown(n)) return false; n.setAttribute('data-e2e', %q); return true; })()`, expr, tag), flowWait)
	return fmt.Sprintf(`[data-e2e=%q]`, tag)
}

// flowButton returns a selector for the button labelled label in scope.
func (tb *browserTab) flowButton(id, scope, label string) string {
	tb.t.Helper()
	return tb.flowFind(id, fmt.Sprintf("button %q in %s", label, scope), flowButtonJS(id, scope, label))
}

// flowField returns a selector for the input of the shown field labelled
// label.
func (tb *browserTab) flowField(id, label string) string {
	tb.t.Helper()
	return tb.flowFind(id, "field "+label, fmt.Sprintf(`(() => { const l = Array.from(fd(%q).querySelectorAll('label.fld')).find((l) => shown(l) && l.firstChild.textContent.trim() === %q); return l && l.querySelector('input, textarea'); })()`, id, label))
}

func (tb *browserTab) flowInputValue(id, sel string) string {
	tb.t.Helper()
	var v string
	tb.eval(fmt.Sprintf(`fd(%q).querySelector(%q).value`, id, sel), &v)
	return v
}

// flowWaitJS is waitJS bounded by flowWait.
func (tb *browserTab) flowWaitJS(what, expr string) {
	tb.t.Helper()
	tb.waitJS(what, expr, flowWait)
}

// flowWaitText waits until the element sel of widget id is shown with text.
func (tb *browserTab) flowWaitText(id, sel, text string) {
	tb.t.Helper()
	tb.flowWaitJS(fmt.Sprintf("%s says %q", sel, text), fmt.Sprintf(`(() => { const n = fd(%q).querySelector(%q); return shown(n) && n.textContent.trim() === %q; })()`, id, sel, text))
}

// flowWaitLog waits until the chat log (role=log) of widget id contains text.
func (tb *browserTab) flowWaitLog(id, text string) {
	tb.t.Helper()
	tb.flowWaitJS(fmt.Sprintf("chat log has %q", text), fmt.Sprintf(`fd(%q).querySelector('[role=log]').textContent.includes(%q)`, id, text))
}

// flowWaitTimer waits until the call timer (role=timer) of widget id is shown
// with a m:ss value other than prev, and returns it.
func (tb *browserTab) flowWaitTimer(id, prev string) string {
	tb.t.Helper()
	expr := fmt.Sprintf(`(() => { const n = fd(%q).querySelector('[role=timer]'); const v = n ? n.textContent : ''; return shown(n) && /^\d+:\d\d$/.test(v) && v !== %q; })()`, id, prev)
	tb.flowWaitJS("call timer past "+prev, expr)
	var v string
	tb.eval(fmt.Sprintf(`fd(%q).querySelector('[role=timer]').textContent`, id), &v)
	return v
}

// flowWaitCall waits until the call of widget id is in state want, failing at
// once when it ended otherwise.
func (tb *browserTab) flowWaitCall(id, want string) {
	tb.t.Helper()
	deadline := time.Now().Add(flowWait)
	last := ""
	for {
		st := tb.hostAttr(id, "call")
		if st == want {
			return
		}
		if st == "ended" {
			tb.t.Fatalf("call ended (reason %q) while waiting for %s\nbrowser log:\n%s", tb.hostAttr(id, "call-reason"), want, strings.Join(tb.logs(), "\n"))
		}
		last = st
		if time.Now().After(deadline) {
			tb.t.Fatalf("call not %s within %v (last %q)\nbrowser log:\n%s", want, flowWait, last, strings.Join(tb.logs(), "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// flowPageClean fails the test on CSP violations, uncaught exceptions and
// errors in the console or the browser log.
func (tb *browserTab) flowPageClean() {
	tb.t.Helper()
	tb.noViolations()
	for _, l := range tb.logs() {
		if strings.Contains(l, " error: ") || strings.HasPrefix(l, "error: ") {
			tb.t.Errorf("console error: %s", l)
		}
	}
}

// flowWaitMetric polls the gateway's /metrics until name has value want.
func (env *browserEnv) flowWaitMetric(t *testing.T, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(flowWait)
	for {
		got, ok := flowMetric(env.gw.metrics(t), name)
		if ok && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics %s = %v (present %v), want %v within %v", name, got, ok, want, flowWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func flowMetric(body, name string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

var flowANSI = regexp.MustCompile("\x1b\\[[0-9;]*m")

// flowAgentLog returns baresip's output (with its SIP trace) so far.
func flowAgentLog(a *testbed.Agent) string {
	data, err := os.ReadFile(a.LogPath())
	if err != nil {
		return ""
	}
	// Its status line is rewritten in place with \r; other output follows
	// on the same line.
	s := strings.ReplaceAll(flowANSI.ReplaceAllString(string(data), ""), "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// flowWaitAgentLog waits until a line of the agent's output satisfies match,
// and returns it.
func flowWaitAgentLog(t *testing.T, a *testbed.Agent, what string, match func(line string) bool) string {
	t.Helper()
	deadline := time.Now().Add(flowWait)
	for {
		for _, l := range strings.Split(flowAgentLog(a), "\n") {
			if match(l) {
				return strings.TrimSpace(l)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s: no %s in its log within %v", a.Name(), what, flowWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// flowRawKeyDown makes a key press arrive as a real keyboard's does: a raw
// key-down, then the character as its own event. Chromium drops that
// character when the page cancelled the key-down, as it does for a
// keyboard; chromedp's plain key-down would let it through.
func flowRawKeyDown(p *input.DispatchKeyEventParams) {
	if p.Type == kb.KeyDown {
		p.Type = kb.KeyRawDown
	}
}

// flowLastRequest returns the last SIP request of method in a SIP trace,
// up to its blank line.
func flowLastRequest(trace, method string) string {
	i := strings.LastIndex(trace, "\n"+method+" sip:")
	if i < 0 {
		return ""
	}
	req := trace[i+1:]
	if j := strings.Index(req, "\n\n"); j >= 0 {
		req = req[:j]
	}
	return req
}

// flowHeader returns the value of header name in a SIP message.
func flowHeader(msg, name string) string {
	for _, l := range strings.Split(msg, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func flowTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startAgentsBed starts Kamailio and baresip agents for a browser test; a
// failed test logs the tail of every agent's output.
func startAgentsBed(t *testing.T, agents []testbed.AgentSpec) *testbed.Testbed {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	bed, err := testbed.Start(ctxT(t, 60*time.Second), testbed.Options{
		Dir:    t.TempDir(),
		Users:  []testbed.User{{Name: "frontdesk", Password: gwPassword}},
		Agents: agents,
		Log:    log,
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, a := range bed.Agents() {
				t.Logf("--- tail of %s ---\n%s", a.LogPath(), flowTail(flowAgentLog(a), 80))
			}
		}
		if err := bed.Close(); err != nil {
			t.Logf("close test bed: %v", err)
		}
	})
	return bed
}
