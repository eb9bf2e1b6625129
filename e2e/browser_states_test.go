//go:build integration

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// statesWidget is the sidebar of the state tests: alice answers calls at
// once (audio only, whatever the visitor offers), dora's phone rings until
// she declines; bob takes left messages. Both have pictures.
const statesWidget = "f10c57a7e5d6e8f9a0b1c2d3e4f5a6b7"

func statesConfig(pbx, site string) string {
	// Calls are not kept for a next page (calls.reattach_grace off): the
	// lost connection's call ends, as calls that cannot be kept do
	// (call_reattach_test.go has those that are).
	return "# frontdesk browser state test config\n" + gatewayHeadWith(pbx, site, "  reattach_grace: 0s\n", "") + fmt.Sprintf(`widgets:
  - id: %s
    type: sidebar
    name: Example shop
    always_show: true
    fallback: {sip: bob}
    teasers: {en: ["Questions? We are here."], de: ["Fragen? Wir sind für Sie da."]}
    expected_reply: {en: "We usually answer within a few minutes.", de: "Wir antworten meist innerhalb weniger Minuten."}
    agents:
      - {id: alice, sip: alice, name: Alice Adams, department: Sales, media: [voice, video, chat, email], email: alice@example.com, phone: "+49 30 1234568", picture: alice.png}
      - {id: dora, sip: dora, name: Dora Diaz, department: Support, media: [voice, chat], picture: dora.png}
`, statesWidget)
}

// TestBrowserStates walks the widget through the states a visitor meets,
// through its UI against the real test bed: each says what is happening,
// every failure gives a reason and a way on, every new control is reached
// by keyboard with a visible focus, and axe-core finds nothing serious in
// any of them. Screenshots of each state, on a desktop and a phone, go to
// screenshotDir().
func TestBrowserStates(t *testing.T) {
	env := startFlowsEnvWith(t, statesConfig, 4)
	ctx := ctxT(t, 10*time.Minute)
	w := statesWidget
	alice, dora := env.tbAgent("alice"), env.tbAgent("dora")

	t.Run("launcher, home and More by keyboard", func(t *testing.T) {
		tb := env.newTab(t)
		tb.setViewport(1280, 800, false)
		tb.open(env, "/states", w)
		tb.waitAttr(w, "visible", "1")
		tb.waitJS("teaser shown", fmt.Sprintf(`shown(fd(%q).querySelector('.teaser'))`, w), browserWait)
		tb.waitPictures(w, "alice", "dora")
		tb.injectAxe()
		tb.axe("launcher with greeting")
		tb.screenshots("launcher")
		if got := tb.storageUsed(); got != `{"cookie":"","local":[],"session":[]}` {
			t.Errorf("storage before the visitor acts: %s, want nothing", got)
		}

		// The greeting bubble and its hide button come before the launcher
		// (the right edge: the launcher last), each with a visible focus.
		tb.tabTo(w + "|teaser:Questions? We are here.")
		tb.press(kb.Tab)
		if f := tb.focusedVisibly(); f != w+"|greetx:Hide this message" {
			t.Errorf("after the greeting: focus on %s, want its hide button", f)
		}
		tb.press(kb.Tab)
		if f := tb.focusedVisibly(); f != w+"|tab round:Contact us" {
			t.Errorf("after the greeting: focus on %s, want the launcher", f)
		}
		tb.press(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
		tb.press(kb.Enter)
		tb.waitJS("greeting hidden", fmt.Sprintf(`!shown(fd(%q).querySelector('.greet'))`, w), browserWait)
		if f := tb.focusedVisibly(); f != w+"|tab round:Contact us" {
			t.Errorf("after hiding the greeting: focus on %s, want the launcher", f)
		}

		// Enter opens the panel: the team's pictures and the reply line.
		tb.press(kb.Enter)
		tb.waitAttr(w, "open", "1")
		var hero struct {
			Faces int
			Reply string
		}
		tb.eval(fmt.Sprintf(`(() => { const r = fd(%q); return { Faces: Array.from(r.querySelectorAll('.faces .face img')).filter(shown).length, Reply: shown(r.querySelector('.reply')) ? r.querySelector('.reply').textContent : '' }; })()`, w), &hero)
		if hero.Faces != 2 || hero.Reply != "We usually answer within a few minutes." {
			t.Errorf("the panel's head: %+v; want two pictures and the reply line", hero)
		}
		// "Contact us now" calls the first available agent: a phone icon.
		var cta string
		tb.eval(fmt.Sprintf(`fd(%q).querySelector('.cta path').getAttribute('d')`, w), &cta)
		if !strings.HasPrefix(cta, "M5 3h4") {
			t.Errorf("the contact-us-now button calls but shows icon %q, not the phone", cta)
		}
		// An agent with many ways shows one primary action and "More".
		var acts []string
		tb.eval(fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('[data-agent-id=alice] .acts > *')).filter(shown).map((b) => b.getAttribute('data-action') || (b.hasAttribute('data-more') ? 'more' : b.className))`, w), &acts)
		if strings.Join(acts, ",") != "call,more" {
			t.Errorf("alice's visible actions %v, want call,more", acts)
		}
		// More opens by keyboard with the focus on its first way; Escape
		// closes it (not the panel) and the focus goes back.
		more := w + "|alice/btn:More ways to reach Alice Adams"
		tb.tabTo(more)
		tb.press(kb.Enter)
		tb.waitJS("more actions shown", fmt.Sprintf(`shown(fd(%q).querySelector(%q))`, w, actionSel("alice", "video")), browserWait)
		if f := tb.focusedVisibly(); f != w+"|alice/video" {
			t.Errorf("focus in the opened More: %s, want alice's video call", f)
		}
		tb.press(kb.Escape)
		tb.waitJS("more actions hidden", fmt.Sprintf(`!shown(fd(%q).querySelector(%q))`, w, actionSel("alice", "video")), browserWait)
		if f := tb.focusedVisibly(); f != more || tb.hostAttr(w, "open") != "1" {
			t.Errorf("after Escape in More: focus %s, panel open %s; want More, open", f, tb.hostAttr(w, "open"))
		}
		tb.click(w, cardSel("alice")+" [data-more]")
		tb.waitJS("more actions shown", fmt.Sprintf(`shown(fd(%q).querySelector(%q)) && fd(%q).querySelector('[data-agent-id=alice] [data-more]').getAttribute('aria-expanded') === 'true'`, w, actionSel("alice", "video"), w), browserWait)
		tb.axe("home with More open")
		tb.screenshots("home")
		tb.flowPageClean()
	})

	t.Run("call states", func(t *testing.T) {
		tb := env.newTab(t)
		tb.setViewport(1280, 800, false)
		tb.open(env, "/states", w)
		tb.injectAxe()
		tb.click(w, ".tab")
		tb.waitAttr(w, "open", "1")

		// Ringing: the agent's picture, name and the state.
		tb.flowWaitJS("dora available", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'online'`, w, cardSel("dora")))
		tb.clickAction(w, "dora", "call")
		tb.waitAttr(w, "view", "name")
		tb.typeText("Vera Visitor")
		tb.press(kb.Enter)
		tb.flowWaitCall(w, "ringing")
		var ringing struct {
			Picture, Name, State string
			Pulse                bool
		}
		tb.eval(fmt.Sprintf(`(() => { const r = fd(%q); const who = r.querySelector('.who'); const img = who.querySelector('img');
  return { Picture: img && shown(img) ? img.src.slice(0, 15) : '', Name: who.querySelector('.nm').textContent, State: r.querySelector('.cst').textContent,
    Pulse: who.classList.contains('ringing') }; })()`, w), &ringing)
		if ringing != (struct {
			Picture, Name, State string
			Pulse                bool
		}{"data:image/png;", "Dora Diaz", "Ringing…", true}) {
			t.Errorf("ringing: %+v; want dora's picture, name and Ringing…", ringing)
		}
		// The picture pulses while it rings, unless the visitor asked for
		// reduced motion (as these tabs do): then nothing moves.
		var moving int
		tb.eval(fmt.Sprintf(`fd(%q).getAnimations().length`, w), &moving)
		if moving != 0 {
			t.Errorf("%d animations run while ringing with reduced motion", moving)
		}
		tb.axe("ringing")
		tb.screenshots("call-ringing")
		flowWaitAgentLog(t, dora, "the INVITE", func(l string) bool { return strings.HasPrefix(l, "INVITE sip:dora") })
		if err := dora.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		tb.flowWaitCall(w, "ended")
		// Right after the call the PBX may still show dora busy; the offers
		// follow her availability.
		offers := fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('.callv .alts button')).filter(shown).map((b) => b.textContent.trim()).join('|')`, w)
		tb.flowWaitJS("alternatives offered", offers+` === 'Try again|Chat with Dora Diaz|Call Alice Adams|Leave a message'`)
		t.Logf("call to dora ended (%s, %q)", tb.hostAttr(w, "call-reason"), tb.text(w, ".callv .cst"))
		tb.tabTo(w + "|btn pri:Try again")
		tb.axe("call failed")
		tb.screenshots("call-failed")
		// A contact that is neither an email address nor a phone number is
		// shown as such, on the field, not as "try again later".
		tb.click(w, tb.flowButton(w, ".callv .alts", "Leave a message"))
		tb.waitAttr(w, "view", "leave")
		for _, f := range []struct{ label, value string }{{"Email or phone number", "call me maybe"}, {"Message", "Please call me back."}} {
			tb.click(w, tb.flowField(w, f.label))
			tb.typeText(f.value)
		}
		tb.click(w, tb.flowButton(w, ".stage", "Send"))
		tb.flowWaitText(w, ".lst", "Please enter a valid email address or phone number.")
		tb.flowWaitJS("the contact field marked", `(() => { const a = deepFocus(); return !!a && a.getAttribute("aria-invalid") === "true" && a.autocomplete === "email"; })()`)
		tb.axe("leave a message, bad contact")
		tb.screenshots("leave-bad-contact")
		tb.click(w, tb.flowButton(w, ".stage", "Cancel"))
		tb.waitAttr(w, "view", "home")

		// A video call the agent's phone answers audio-only says so and
		// shows no video pane, camera or screen sharing.
		tb.clickAction(w, "alice", "video")
		tb.flowWaitCall(w, "connected")
		tb.waitAttr(w, "call-audio-only", "1")
		var call struct {
			Vids, Share, Cam, Who bool
			Note                  string
			Offers                int
		}
		tb.eval(fmt.Sprintf(`(() => { const r = fd(%q); return { Vids: shown(r.querySelector('.vids')), Note: r.querySelector('.note').textContent, Who: shown(r.querySelector('.who img')),
  Offers: Array.from(r.querySelectorAll('.callv .alts button')).filter(shown).length,
  Share: Array.from(r.querySelectorAll('.ctl button')).some((b) => shown(b) && b.textContent.includes('Share')),
  Cam: Array.from(r.querySelectorAll('.ctl button')).some((b) => shown(b) && b.textContent.includes('Camera')) }; })()`, w), &call)
		if call.Vids || call.Share || call.Cam || !call.Who || !strings.Contains(call.Note, "audio call") || call.Offers != 0 {
			t.Errorf("audio-only answer of a video call: %+v; want alice's picture, no video pane, share or camera, a note, and no offers left from the call before", call)
		}
		tb.flowWaitTimer(w, "")
		tb.axe("audio-only call")
		tb.screenshots("call-audio-only")

		// On hold: the agent's phone holds the call, the view says so, and
		// back.
		if _, err := alice.Command(ctx, "hold", ""); err != nil {
			t.Fatal(err)
		}
		tb.flowWaitCall(w, "held")
		tb.flowWaitJS("on hold shown", fmt.Sprintf(`(() => { const r = fd(%q); return r.querySelector('.cst').textContent === 'On hold' && r.querySelector('.who').classList.contains('held') && Array.from(r.querySelectorAll('.note')).some((n) => shown(n) && n.textContent === 'You are on hold. Please stay on the line.') && /^On hold/.test(r.querySelector('.tl').textContent); })()`, w))
		tb.axe("on hold")
		tb.screenshots("call-held")
		if _, err := alice.Command(ctx, "resume", ""); err != nil {
			t.Fatal(err)
		}
		tb.flowWaitCall(w, "connected")

		// The keypad shows the keys typed.
		tb.click(w, tb.flowButton(w, ".ctl", "Keypad"))
		tb.click(w, tb.flowButton(w, ".pad", "5"))
		tb.click(w, tb.flowButton(w, ".pad", "#"))
		tb.flowWaitText(w, ".digits", "5#")
		tb.screenshots("call-keypad")

		// Minimised, the tab shows the call's state and time, and a button
		// beside it hangs up.
		tb.click(w, ".shut")
		tb.waitAttr(w, "open", "0")
		tb.flowWaitJS("the tab shows the timer", fmt.Sprintf(`/^Connected · \d+:\d\d$/.test(fd(%q).querySelector('.tl').textContent) && shown(fd(%q).querySelector('.tabend'))`, w, w))
		tb.axe("minimised call")
		tb.screenshots("call-minimised")
		tb.click(w, ".tabend")
		tb.flowWaitCall(w, "ended")
		if r := tb.hostAttr(w, "call-reason"); r != "ended-by-visitor" {
			t.Errorf("call-reason %q after the tab's hang-up, want ended-by-visitor", r)
		}
		tb.click(w, ".tab")
		tb.waitAttr(w, "open", "1")
		tb.click(w, tb.flowButton(w, ".callv", "Close"))
		tb.waitAttr(w, "view", "home")

		tb.flowPageClean()
	})

	t.Run("connection lost: a quiet banner, controls disabled, a retry", func(t *testing.T) {
		env.cut = startCutProxy(t, strings.TrimPrefix(env.gw.httpURL, "http://"))
		tb := env.newTab(t)
		tb.setViewport(1280, 800, false)
		tb.open(env, "/states-cut", w)
		tb.injectAxe()
		tb.click(w, ".tab")
		tb.waitAttr(w, "open", "1")
		tb.flowWaitJS("alice available", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'online'`, w, cardSel("alice")))
		byes := strings.Count(flowAgentLog(alice), "\nBYE sip:alice")
		tb.clickAction(w, "alice", "call")
		tb.waitAttr(w, "view", "name")
		tb.typeText("Vera Visitor")
		tb.press(kb.Enter)
		tb.flowWaitCall(w, "connected")

		// The websocket goes: the call is lost (the gateway hangs up the
		// agent's phone), the view says why and offers the ways on,
		// disabled until the connection is back; the banner says so.
		env.cut.cut()
		tb.waitAttr(w, "state", "reconnecting")
		tb.flowWaitCall(w, "ended")
		if r := tb.hostAttr(w, "call-reason"); r != "connection-lost" {
			t.Errorf("call-reason %q after the websocket went, want connection-lost", r)
		}
		flowWaitAgentLog(t, alice, "a BYE from the gateway", func(string) bool { return strings.Count(flowAgentLog(alice), "\nBYE sip:alice") > byes })
		var lost struct {
			State, Banner string
			Offers        []string
		}
		tb.eval(fmt.Sprintf(`(() => { const r = fd(%q); const b = r.querySelector('.lost');
  return { State: r.querySelector('.callv .cst').textContent, Banner: shown(b) ? b.firstChild.textContent : '',
    Offers: Array.from(r.querySelectorAll('.callv .alts button')).filter(shown).map((x) => x.getAttribute('aria-disabled') + ' ' + x.title) }; })()`, w), &lost)
		if lost.State != "The connection to the server was lost." || lost.Banner != "Connection lost, reconnecting…" || len(lost.Offers) == 0 {
			t.Errorf("call lost: %+v; want the reason, the banner and offers", lost)
		}
		for _, o := range lost.Offers {
			if o != "true Connection lost, reconnecting…" {
				t.Errorf("an offer while reconnecting: %q, want disabled with the reason", o)
			}
		}
		tb.axe("call lost")
		tb.screenshots("call-lost")

		// The widget keeps trying, waiting longer each time; the banner's
		// button does not wait.
		deadline := time.Now().Add(30 * time.Second)
		for _, refused := env.cut.counts(); refused < 3; _, refused = env.cut.counts() {
			if time.Now().After(deadline) {
				t.Fatalf("the widget tried %d times in 30 s to reconnect, want 3", refused)
			}
			time.Sleep(100 * time.Millisecond)
		}
		env.cut.restore()
		tb.tabTo(w + "|lnkb:Try again")
		tb.press(kb.Enter)
		// After three refusals the next attempt waits at least 6 s.
		tb.waitJS("connected again at once", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-state') === 'connected' && !shown(fd(%q).querySelector('.lost'))`, w, w), 3*time.Second)
		// Connected again, the widget asks after its call (CallResume): the
		// gateway says it was lost, and the first way on is to call again.
		tb.waitAttr(w, "call-reason", "lost")
		tb.flowWaitText(w, ".callv .cst", "The call was lost.")
		tb.flowWaitJS("the offers live again", fmt.Sprintf(`(() => { const b = %s; return !!b && !b.hasAttribute('aria-disabled') && b.classList.contains('pri'); })()`, flowButtonJS(w, ".callv .alts", "Call again")))
		tb.axe("call lost, connected again")
		tb.screenshots("call-lost-reconnected")
		tb.click(w, tb.flowButton(w, ".callv", "Close"))
		tb.waitAttr(w, "view", "home")

		// Lost on the home view: every way to reach someone is disabled
		// with the reason, and pressing one explains.
		env.cut.cut()
		tb.waitAttr(w, "state", "reconnecting")
		tb.flowWaitJS("buttons disabled", fmt.Sprintf(`(() => { const r = fd(%q); const c = r.querySelector(%q); const cta = r.querySelector('.cta');
  return c.getAttribute('aria-disabled') === 'true' && c.title === 'Connection lost, reconnecting…' && cta.getAttribute('aria-disabled') === 'true'; })()`, w, actionSel("dora", "call")))
		tb.click(w, actionSel("dora", "call"))
		tb.flowWaitText(w, "[data-agent-id=dora] .why", "Connection lost, reconnecting…")
		if v := tb.hostAttr(w, "view"); v != "home" {
			t.Errorf("a disabled call while reconnecting opened view %q", v)
		}
		tb.axe("reconnecting")
		tb.screenshots("reconnecting")
		env.cut.restore()
		tb.click(w, ".lost .lnkb")
		tb.waitAttr(w, "state", "connected")
		tb.flowWaitJS("buttons live again", fmt.Sprintf(`!fd(%q).querySelector(%q).hasAttribute('aria-disabled')`, w, actionSel("dora", "call")))
		// The browser reports each refused websocket itself; nothing else
		// may go wrong.
		tb.noViolations()
		for _, l := range tb.logs() {
			if (strings.Contains(l, " error: ") || strings.HasPrefix(l, "error: ")) && !strings.Contains(l, "network error: WebSocket connection to") {
				t.Errorf("console error: %s", l)
			}
		}
	})

	t.Run("chat states", func(t *testing.T) {
		tb := env.newTab(t)
		tb.setViewport(390, 844, true)
		tb.open(env, "/states", w)
		tb.click(w, ".tab")
		tb.waitAttr(w, "open", "1")
		tb.clickAction(w, "alice", "chat")
		tb.waitAttr(w, "view", "name")
		tb.typeText("Vera Visitor")
		tb.press(kb.Enter)
		tb.flowWaitJS("chat open", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-chat') === 'open'`, w))
		tb.typeText("Hello, which kettle do you recommend?")
		tb.press(kb.Enter, flowRawKeyDown)
		waitAgentMessage(t, alice, "which kettle")
		env.gw.waitTakesReplies(t, "alice@frontdesk.test", time.Now().Add(-time.Minute))
		// Links in a message are links (only http(s), mailto and tel),
		// opened apart from the page.
		if err := alice.SendMessage(ctx, "This one: https://example.com/kettle?id=7. Or mail sales@example.com"); err != nil {
			t.Fatal(err)
		}
		tb.flowWaitLog(w, "This one:")
		var link []string
		tb.eval(fmt.Sprintf(`(() => { const a = fd(%q).querySelector('[role=log] .msg.them a'); return a ? [a.href, a.target, a.rel, a.textContent] : []; })()`, w), &link)
		if strings.Join(link, " ") != "https://example.com/kettle?id=7 _blank noopener noreferrer https://example.com/kettle?id=7" {
			t.Errorf("link in the agent's message: %q", link)
		}
		tb.injectAxe()
		tb.axe("chat")
		tb.screenshots("chat")

		// A second visitor who wants alice while she chats is told she is
		// in another chat, and offered another way.
		tb2 := env.newTab(t)
		tb2.setViewport(1280, 800, false)
		tb2.open(env, "/states", w)
		tb2.click(w, ".tab")
		tb2.waitAttr(w, "open", "1")
		tb2.clickAction(w, "alice", "chat")
		tb2.waitAttr(w, "view", "name")
		tb2.typeText("Walt Waiting")
		tb2.press(kb.Enter)
		tb2.waitAttr(w, "chat", "ended")
		if r := tb2.hostAttr(w, "chat-reason"); r != "agent-busy" {
			t.Fatalf("second visitor's chat-reason %q, want agent-busy", r)
		}
		tb2.flowWaitLog(w, "in another conversation")
		var alts []string
		tb2.eval(fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('.chatv .alts button')).filter(shown).map((b) => b.textContent.trim())`, w), &alts)
		if !strings.Contains(strings.Join(alts, "|"), "Chat with Dora Diaz") {
			t.Errorf("agent busy in another chat: offered %q, want a chat with dora", alts)
		}
		tb2.injectAxe()
		tb2.axe("chat, agent busy")
		tb2.screenshots("chat-agent-busy")
		tb2.click(w, tb2.flowButton(w, ".chatv", "Close"))
		tb2.waitAttr(w, "view", "home")
		tb2.flowWaitJS("alice's card says she chats", fmt.Sprintf(`fd(%q).querySelector('[data-agent-id=alice] .st').textContent === 'In another chat'`, w))
		tb2.flowPageClean()

		// A chat the gateway no longer knows (restarted, or away too long)
		// says what happened and offers to start again.
		tb.front()
		tb.eval(`(() => { for (const k of Object.keys(sessionStorage)) if (k.startsWith('frontdesk:chat:')) { const v = JSON.parse(sessionStorage.getItem(k)); v.token = 'unknown-token-after-a-restart'; sessionStorage.setItem(k, JSON.stringify(v)); } return true; })()`, nil)
		tb.run("reload", 30*time.Second, chromedp.Reload())
		tb.waitAttr(w, "ready", "1")
		tb.waitAttr(w, "chat", "ended")
		if r := tb.hostAttr(w, "chat-reason"); r != "expired" {
			t.Errorf("chat-reason %q after the gateway forgot the chat, want expired", r)
		}
		tb.flowWaitLog(w, "The connection was interrupted and this chat could not be continued.")
		if tb.hostAttr(w, "open") != "1" {
			tb.click(w, ".tab")
			tb.waitAttr(w, "open", "1")
		}
		tb.flowButton(w, ".chatv .alts", "Start a new chat")
		tb.injectAxe()
		tb.axe("chat lost")
		tb.screenshots("chat-lost")
		tb.flowPageClean()
	})

	t.Run("German: teasers whole, times in German", func(t *testing.T) {
		tb := env.newTab(t)
		tb.run("German browser", 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: "Mozilla/5.0 Chrome", AcceptLanguage: "de-DE,de"}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "de-DE"})
			return err
		}))
		tb.setViewport(1280, 800, false)
		tb.open(env, "/states", w)
		tb.waitAttr(w, "visible", "1")
		var teaser struct {
			Text  string
			Whole bool
		}
		tb.eval(fmt.Sprintf(`(() => { const n = fd(%q).querySelector('.teaser'); return { Text: n.textContent, Whole: shown(n) && n.scrollWidth <= n.clientWidth + 1 && n.scrollHeight <= n.clientHeight + 1 }; })()`, w), &teaser)
		if teaser.Text != "Fragen? Wir sind für Sie da." || !teaser.Whole {
			t.Errorf("German teaser %+v, want it whole", teaser)
		}
		tb.screenshots("launcher-de")
		var clock string
		tb.eval(`new Intl.DateTimeFormat(navigator.languages[0], { hour: 'numeric', minute: '2-digit' }).format(new Date(2026, 0, 1, 13, 5))`, &clock)
		if clock != "13:05" {
			t.Fatalf("the German browser formats times as %q", clock)
		}
	})

	t.Run("nobody available: no promise beside a red dot", func(t *testing.T) {
		for _, a := range []*testbed.Agent{alice, dora} {
			if err := a.SetPresence(ctx, testbed.StatusOffline); err != nil {
				t.Fatal(err)
			}
		}
		tb := env.newTab(t)
		tb.setViewport(1280, 800, false)
		tb.open(env, "/states", w)
		tb.flowWaitJS("nobody available", fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('article')).every((a) => a.getAttribute('data-presence') !== 'online')`, w))
		var tab struct {
			Label       string
			Teaser, Dot bool
		}
		tb.eval(fmt.Sprintf(`(() => { const r = fd(%q); return { Label: r.querySelector('.tl').textContent, Teaser: shown(r.querySelector('.teaser')), Dot: shown(r.querySelector('.tab .dot')) }; })()`, w), &tab)
		if tab.Label != "Leave a message" || tab.Teaser || tab.Dot {
			t.Errorf("tab with nobody available: %+v; want \"Leave a message\", no teaser, no dot", tab)
		}
		tb.screenshots("launcher-nobody")
		tb.click(w, ".tab")
		tb.waitAttr(w, "open", "1")
		tb.flowWaitJS("leave a message offered", fmt.Sprintf(`shown(fd(%q).querySelector('.home .offer button'))`, w))
		tb.injectAxe()
		tb.axe("nobody available")
		tb.screenshots("home-nobody")
		for _, a := range []*testbed.Agent{alice, dora} {
			if err := a.SetPresence(ctx, testbed.StatusOnline); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("the preview page fits a phone", func(t *testing.T) {
		tb := env.newTab(t)
		tb.setViewport(390, 844, true)
		tb.run("open the preview", 20*time.Second, chromedp.Navigate(env.gw.httpURL+"/preview/"+w))
		var width struct{ Page, View float64 }
		tb.eval(`({ Page: document.documentElement.scrollWidth, View: innerWidth })`, &width)
		if width.Page > width.View {
			t.Errorf("the preview page is %v px wide on a %v px phone", width.Page, width.View)
		}
	})
}

// text returns the text of the element sel in widget id.
func (tb *browserTab) text(id, sel string) string {
	tb.t.Helper()
	var s string
	tb.eval(fmt.Sprintf(`(() => { const n = fd(%q).querySelector(%q); return n ? n.textContent : ''; })()`, id, sel), &s)
	return s
}
