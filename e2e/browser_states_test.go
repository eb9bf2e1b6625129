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
// she declines; bob takes left messages.
const statesWidget = "f10c57a7e5d6e8f9a0b1c2d3e4f5a6b7"

func statesConfig(pbx, site string) string {
	return "# frontdesk browser state test config\n" + gatewayHead(pbx, site) + fmt.Sprintf(`widgets:
  - id: %s
    type: sidebar
    name: Example shop
    always_show: true
    fallback: {sip: bob}
    teasers: {en: ["Questions? We are here."], de: ["Fragen? Wir sind für Sie da."]}
    agents:
      - {id: alice, sip: alice, name: Alice Adams, department: Sales, media: [voice, video, chat, email], email: alice@example.com, phone: "+49 30 1234568"}
      - {id: dora, sip: dora, name: Dora Diaz, department: Support, media: [voice, chat]}
`, statesWidget)
}

// TestBrowserStates walks the widget through the states a visitor meets,
// through its UI against the real test bed: each says what is happening,
// every failure gives a reason and a way on. Screenshots of each state go
// to screenshotDir().
func TestBrowserStates(t *testing.T) {
	env := startFlowsEnvWith(t, statesConfig, 4)
	ctx := ctxT(t, 10*time.Minute)
	w := statesWidget
	alice, dora := env.tbAgent("alice"), env.tbAgent("dora")

	t.Run("call states", func(t *testing.T) {
		tb := env.newTab(t)
		tb.setViewport(1280, 800, false)
		tb.open(env, "/states", w)
		tb.waitAttr(w, "visible", "1")
		tb.waitJS("teaser shown", fmt.Sprintf(`shown(fd(%q).querySelector('.teaser'))`, w), browserWait)
		tb.screenshot("launcher-desktop.png")
		tb.click(w, ".tab")
		tb.waitAttr(w, "open", "1")
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
		tb.click(w, cardSel("alice")+" [data-more]")
		tb.waitJS("more actions shown", fmt.Sprintf(`shown(fd(%q).querySelector(%q)) && fd(%q).querySelector('[data-agent-id=alice] [data-more]').getAttribute('aria-expanded') === 'true'`, w, actionSel("alice", "video"), w), browserWait)
		tb.screenshot("home-desktop.png")

		// A video call the agent's phone answers audio-only says so and
		// shows no video pane, camera or screen sharing.
		tb.clickAction(w, "alice", "video")
		tb.waitAttr(w, "view", "name")
		tb.typeText("Vera Visitor")
		tb.press(kb.Enter)
		tb.flowWaitCall(w, "connected")
		tb.waitAttr(w, "call-audio-only", "1")
		var call struct {
			Vids, Share, Cam bool
			Note             string
		}
		tb.eval(fmt.Sprintf(`(() => { const r = fd(%q); return { Vids: shown(r.querySelector('.vids')), Note: r.querySelector('.note').textContent,
  Share: Array.from(r.querySelectorAll('.ctl button')).some((b) => shown(b) && b.textContent.includes('Share')),
  Cam: Array.from(r.querySelectorAll('.ctl button')).some((b) => shown(b) && b.textContent.includes('Camera')) }; })()`, w), &call)
		if call.Vids || call.Share || call.Cam || !strings.Contains(call.Note, "audio call") {
			t.Errorf("audio-only answer of a video call: %+v; want no video pane, share or camera, and a note", call)
		}
		tb.flowWaitTimer(w, "")
		tb.screenshot("call-audio-only-desktop.png")

		// The keypad shows the keys typed.
		tb.click(w, tb.flowButton(w, ".ctl", "Keypad"))
		tb.click(w, tb.flowButton(w, ".pad", "5"))
		tb.click(w, tb.flowButton(w, ".pad", "#"))
		tb.flowWaitText(w, ".digits", "5#")
		tb.screenshot("call-keypad-desktop.png")

		// Minimised, the tab shows the call's state and time, and a button
		// beside it hangs up.
		tb.click(w, ".shut")
		tb.waitAttr(w, "open", "0")
		tb.flowWaitJS("the tab shows the timer", fmt.Sprintf(`/^Connected · \d+:\d\d$/.test(fd(%q).querySelector('.tl').textContent) && shown(fd(%q).querySelector('.tabend'))`, w, w))
		tb.screenshot("call-minimised-desktop.png")
		tb.click(w, ".tabend")
		tb.flowWaitCall(w, "ended")
		if r := tb.hostAttr(w, "call-reason"); r != "ended-by-visitor" {
			t.Errorf("call-reason %q after the tab's hang-up, want ended-by-visitor", r)
		}
		tb.click(w, ".tab")
		tb.waitAttr(w, "open", "1")
		tb.click(w, tb.flowButton(w, ".callv", "Close"))
		tb.waitAttr(w, "view", "home")

		// A call the agent declines offers the other ways on.
		tb.flowWaitJS("dora available", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'online'`, w, cardSel("dora")))
		tb.clickAction(w, "dora", "call")
		tb.flowWaitCall(w, "ringing")
		tb.screenshot("call-ringing-desktop.png")
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
		tb.screenshot("call-failed-desktop.png")
		tb.click(w, tb.flowButton(w, ".callv .alts", "Leave a message"))
		tb.waitAttr(w, "view", "leave")

		// A contact that is neither an email address nor a phone number is
		// shown as such, on the field, not as "try again later".
		for _, f := range []struct{ label, value string }{{"Email or phone number", "call me maybe"}, {"Message", "Please call me back."}} {
			tb.click(w, tb.flowField(w, f.label))
			tb.typeText(f.value)
		}
		tb.click(w, tb.flowButton(w, ".stage", "Send"))
		tb.flowWaitText(w, ".lst", "Please enter a valid email address or phone number.")
		tb.flowWaitJS("the contact field marked", `(() => { const a = deepFocus(); return !!a && a.getAttribute("aria-invalid") === "true" && a.autocomplete === "email"; })()`)
		tb.screenshot("leave-bad-contact-desktop.png")
		tb.flowPageClean()
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
		tb.screenshot("chat-phone.png")

		// A second visitor who wants alice while she chats is told she is
		// in another chat, and offered another way.
		tb2 := env.newTab(t)
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
		tb2.screenshot("chat-agent-busy-desktop.png")
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
		tb.screenshot("chat-lost-phone.png")
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
		tb.screenshot("launcher-de-desktop.png")
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
		tb.screenshot("launcher-nobody-desktop.png")
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
