//go:build integration

package e2e

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestCallWindowAndCallLimits, in Chromium against a real agent:
//   - the call window a link opens (/call/<widget>?agent=…&call=voice)
//     rings nobody by itself; its "Call <agent>" button places the call.
//     It is served by the gateway and talks to it from the gateway's own
//     origin, which is not in allowed_origins.
//   - a visitor who starts calls more often than limits.calls allows sees
//     why and for how long, in words, and the widget stays usable; the
//     agent's phone does not ring for the refused call.
func TestCallWindowAndCallLimits(t *testing.T) {
	env := startFlowsEnv(t)
	alice := env.tbAgent("alice")
	invites := func() int { return strings.Count(flowAgentLog(alice), "\nINVITE sip:") }
	aliceOnline := fmt.Sprintf(`(() => { const c = fd(%q).querySelector(%q); return !!c && c.getAttribute('data-presence') === 'online'; })()`, flowCards, cardSel("alice"))

	t.Run("call window places a call only when clicked", func(t *testing.T) {
		tb := env.newTab(t)
		before := invites()
		link := env.gw.httpURL + "/call/" + flowCards + "?agent=alice&call=voice#name=" + url.PathEscape("Vera Visitor")
		tb.run("open the call window", 20*time.Second, chromedp.Navigate(link))
		tb.waitAttr(flowCards, "ready", "1")
		tb.waitJS("alice available", aliceOnline, flowWait)
		if typ := tb.hostAttr(flowCards, "type"); typ != "popout" {
			t.Fatalf("widget type %q, want popout", typ)
		}
		// Opening the link placed no call: nothing for a while, on either side.
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			if st := tb.hostAttr(flowCards, "call"); st != "idle" {
				t.Fatalf("the call window started a call by itself (call %s)", st)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if n := invites() - before; n != 0 {
			t.Fatalf("opening the call window sent alice %d INVITEs", n)
		}
		if n := metricValue(t, env.gw.metrics(t), "frontdesk_calls"); n != 0 {
			t.Fatalf("opening the call window started %v calls", n)
		}
		button := fmt.Sprintf(`fd(%q).querySelector('[data-action=pop-call]')`, flowCards)
		tb.waitJS("the Call Alice button", fmt.Sprintf(`(() => { const b = %s; return shown(b) && b.textContent.includes('Call Alice Adams') && !b.hasAttribute('aria-disabled'); })()`, button), flowWait)
		// The visitor's click places it, with the name from the link.
		tb.click(flowCards, "[data-action=pop-call]")
		tb.flowWaitCall(flowCards, "connected")
		if n := invites() - before; n != 1 {
			t.Errorf("clicking Call sent alice %d INVITEs, want 1", n)
		}
		if from := flowHeader(flowLastRequest(flowAgentLog(alice), "INVITE"), "From"); !strings.Contains(from, "Vera Visitor") {
			t.Errorf("the INVITE has From %q, want the name from the link", from)
		}
		tb.click(flowCards, tb.flowButton(flowCards, ".ctl", "Hang up"))
		tb.flowWaitCall(flowCards, "ended")
		env.flowWaitMetric(t, "frontdesk_calls", 0)
		tb.flowPageClean()
	})

	t.Run("calls started too often: retry-later in words", func(t *testing.T) {
		env.editConfig("  calls: {per_session: off, per_ip: off, per_agent: off}", "  calls: {per_session: 1/min, per_ip: off, per_agent: off}")
		env.gw.waitHealth("limits reloaded", flowWait, func(code int, h map[string]any) bool {
			c, _ := h["config"].(map[string]any)
			_, failed := c["reload_error"]
			return c["reloaded_at"] != nil && !failed
		})
		tb := env.newTab(t)
		tb.open(env, "/call", flowCards)
		tb.flowWaitJS("alice available", aliceOnline)
		// The first call of this session is allowed.
		tb.clickAction(flowCards, "alice", "call")
		tb.waitAttr(flowCards, "view", "name")
		tb.waitJS("the name field has the focus", `(() => { const a = deepFocus(); return !!a && a.tagName === 'INPUT'; })()`, flowWait)
		tb.typeText("Vera Visitor")
		tb.press(kb.Enter)
		tb.flowWaitCall(flowCards, "connected")
		tb.click(flowCards, tb.flowButton(flowCards, ".ctl", "Hang up"))
		tb.flowWaitCall(flowCards, "ended")
		env.flowWaitMetric(t, "frontdesk_calls", 0)
		tb.click(flowCards, tb.flowButton(flowCards, ".callv", "Close"))
		tb.waitAttr(flowCards, "view", "home")
		tb.flowWaitJS("alice available again", fmt.Sprintf(`(() => { const c = fd(%q).querySelector(%q); return c.getAttribute('data-presence') === 'online' && !c.querySelector('[data-action=call]').hasAttribute('aria-disabled'); })()`, flowCards, cardSel("alice")))

		// The second, within the minute, is refused before the PBX.
		before := invites()
		tb.clickAction(flowCards, "alice", "call")
		tb.flowWaitJS("the call refused", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-call') === 'ended'`, flowCards))
		if r := tb.hostAttr(flowCards, "call-reason"); r != "retry-later" {
			t.Fatalf("call-reason %q, want retry-later", r)
		}
		var text string
		tb.eval(fmt.Sprintf(`fd(%q).querySelector('.callv .cst').textContent`, flowCards), &text)
		m := regexp.MustCompile(`^Too many calls in a short time\. Please try again in (\d+) s\.$`).FindStringSubmatch(text)
		if m == nil || m[1] == "0" {
			t.Errorf("the call view says %q, want the wait in words", text)
		}
		// Nothing is frozen: the Close button is there and works, and the
		// card's Call button is live again.
		tb.click(flowCards, tb.flowButton(flowCards, ".callv", "Close"))
		tb.waitAttr(flowCards, "view", "home")
		tb.waitAttr(flowCards, "call", "idle")
		tb.flowWaitJS("the call button live", fmt.Sprintf(`!fd(%q).querySelector(%q).hasAttribute('aria-disabled')`, flowCards, actionSel("alice", "call")))
		if n := invites() - before; n != 0 {
			t.Errorf("the refused call sent alice %d INVITEs", n)
		}
		tb.flowPageClean()
	})
}
