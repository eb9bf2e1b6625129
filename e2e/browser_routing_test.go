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
)

// The routing widgets: opening hours, waiting in line, hunt groups.
const (
	routeClosed = "a0b1c2d3e4f5465788990a1b2c3d4e5f" // sidebar whose hours open at routing.opens
	routeCards  = "a1b2c3d4e5f6475899aa0b1c2d3e4f50" // cards: alice closed until routing.later, dora open
	routeWait   = "a2b3c4d5e6f7485999aa0b1c2d3e4f51" // cards: wait for alice; the turn starts the call at once
	routeAsk    = "a3b4c5d6e7f8495999aa0b1c2d3e4f52" // cards: wait for alice; the turn asks first
	routeHunt   = "a4b5c6d7e8f9405999aa0b1c2d3e4f53" // sidebar: contact us rings dora, bob, then alice
)

// routing is the clock the routing config is written for.
type routing struct {
	opens time.Time // the closed sidebar opens then (a minute or two ahead)
	later time.Time // alice's hours open then (two days ahead)
}

func newRouting(now time.Time) routing {
	now = now.UTC()
	return routing{
		opens: now.Truncate(time.Minute).Add(2 * time.Minute),
		later: time.Date(now.Year(), now.Month(), now.Day()+2, 10, 0, 0, 0, time.UTC),
	}
}

// openingAt is a UTC hours section open only from t for an hour (or to
// the end of its day).
func openingAt(t time.Time) string {
	end := t.Add(time.Hour)
	to := end.Format("15:04")
	if end.Day() != t.Day() {
		to = "24:00"
	}
	return fmt.Sprintf(`{time_zone: UTC, exceptions: {%s: "%s-%s"}}`, t.Format(time.DateOnly), t.Format("15:04"), to)
}

func (r routing) config(pbx, site string) string {
	return "# frontdesk browser routing test config\n" + gatewayHead(pbx, site) + fmt.Sprintf(`widgets:
  - id: %s
    type: sidebar
    name: Closed shop
    always_show: true
    fallback: {sip: bob}
    hours: %s
    agents:
      - {id: dora, sip: dora, name: Dora Diaz, media: [voice, chat], picture: dora.png}
  - id: %s
    type: cards
    name: Our team
    agents:
      - {id: alice, sip: alice, name: Alice Adams, media: [voice, chat], picture: alice.png, hours: %s}
      - {id: dora, sip: dora, name: Dora Diaz, media: [voice, chat], picture: dora.png}
  - id: %s
    type: cards
    name: Sales
    fallback: {sip: bob}
    queue: {max_wait: 5m, confirm_after: 10m, hold: 30s}
    agents:
      - {id: alice, sip: alice, name: Alice Adams, media: [voice, chat], picture: alice.png}
  - id: %s
    type: cards
    name: Sales (asks)
    queue: {confirm_after: 0s, hold: 30s}
    agents:
      - {id: alice, sip: alice, name: Alice Adams, media: [voice, chat], picture: alice.png}
  - id: %s
    type: sidebar
    name: Hotline
    contact_us: line
    groups:
      - {id: line, name: Our hotline, members: [dora, bob, alice], ring_time: 5s}
    agents:
      - {id: dora, sip: dora, name: Dora Diaz, media: [voice], picture: dora.png}
      - {id: bob, sip: bob, name: Bob Brown, media: [voice]}
      - {id: alice, sip: alice, name: Alice Adams, media: [voice], picture: alice.png}
`, routeClosed, openingAt(r.opens), routeCards, openingAt(r.later), routeWait, routeAsk, routeHunt)
}

// TestBrowserRouting: opening hours, waiting for a busy agent and hunt
// groups, through the widget's UI in Chromium against the test bed.
func TestBrowserRouting(t *testing.T) {
	r := newRouting(time.Now())
	if time.Until(r.opens) < 70*time.Second {
		r.opens = r.opens.Add(time.Minute) // time to look at it closed first
	}
	env := startFlowsEnvWith(t, r.config, 6) // alice, bob and dora: presence and dialog

	t.Run("opening hours", func(t *testing.T) {
		tb := env.newTab(t)
		tb.setViewport(1280, 800, false)
		// The visitor is in New York: times are shown in their zone, named.
		ny, err := time.LoadLocation("America/New_York")
		if err != nil {
			t.Fatal(err)
		}
		tb.run("visitor's time zone", 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
			return err
		}))
		tb.open(env, "/w/"+routeClosed, routeClosed)
		tb.injectAxe()
		tb.click(routeClosed, ".tab")
		tb.waitAttr(routeClosed, "open", "1")
		// "We are closed right now. We open again <when>.", <when> in New York time.
		opens := r.opens.In(ny)
		var empty string
		tb.eval(fmt.Sprintf(`fd(%q).querySelector('.home .empty').textContent`, routeClosed), &empty)
		if !strings.HasPrefix(empty, "We are closed right now. We open again ") || !strings.Contains(empty, opens.Format("3:04")) ||
			!strings.Contains(empty, opens.Format("MST")) {
			t.Errorf("closed sidebar says %q; want the opening at %s New York time, with its zone", empty, opens.Format("Mon 3:04 PM MST"))
		}
		if opens.Day() != time.Now().In(ny).Day() && !strings.Contains(empty, opens.Weekday().String()) {
			t.Errorf("closed sidebar says %q; want the weekday of an opening on another day", empty)
		}
		var card string
		tb.eval(fmt.Sprintf(`fd(%q).querySelector('[data-agent-id=dora] .st').textContent`, routeClosed), &card)
		if !strings.HasPrefix(card, "Back ") || !strings.Contains(card, opens.Format("3:04")) {
			t.Errorf("dora's card says %q; want when she is back", card)
		}
		// Leaving a message is the way on while closed.
		tb.waitJS("leave a message offered", fmt.Sprintf(`shown(fd(%q).querySelector('.offer .btn'))`, routeClosed), browserWait)
		tb.axe("closed")
		tb.screenshots("hours-closed")

		// The cards: alice is closed for two days, dora is available.
		tb2 := env.newTab(t)
		tb2.setViewport(1280, 800, false)
		tb2.run("visitor's time zone", 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
			return err
		}))
		tb2.open(env, "/w/"+routeCards, routeCards)
		later := r.later.In(ny)
		tb2.flowWaitJS("alice back later", fmt.Sprintf(`(() => { const t = fd(%q).querySelector('[data-agent-id=alice] .st').textContent; return t.startsWith('Back ') && t.includes(%q) && t.includes(%q) && t.includes(%q); })()`,
			routeCards, later.Weekday().String(), later.Format("3:04"), later.Format("MST")))
		tb2.flowWaitJS("dora available", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'online'`, routeCards, cardSel("dora")))
		tb2.injectAxe()
		tb2.axe("cards with a closed agent")
		tb2.screenshots("hours-cards")

		// When the hours open, the sidebar changes by itself: dora is
		// available, nothing is said about closing any more.
		tb.front()
		waitFor := time.Until(r.opens) + 20*time.Second
		tb.waitJS("open at the opening time", fmt.Sprintf(`(() => { const r = fd(%q); return r.querySelector('[data-agent-id=dora]').getAttribute('data-presence') === 'online' && !shown(r.querySelector('.home .empty')); })()`, routeClosed), waitFor)
		if d := time.Since(r.opens); d < 0 {
			t.Errorf("opened %v before the opening time", -d)
		} else {
			t.Logf("opened %v after the opening time", d.Round(10*time.Millisecond))
		}
		tb.axe("open")
	})

	t.Run("waiting in line", func(t *testing.T) {
		ctx := ctxT(t, 3*time.Minute)
		alice, dora := env.tbAgent("alice"), env.tbAgent("dora")
		first, second := env.newTab(t), env.newTab(t)
		for _, tb := range []*browserTab{first, second} {
			tb.setViewport(1280, 800, false)
		}
		first.open(env, "/w/"+routeWait, routeWait)
		second.open(env, "/w/"+routeAsk, routeAsk)
		// Alice calls dora, whose phone rings: alice is busy (dialog state).
		if err := alice.Dial(ctx, dora.URI()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = alice.Hangup(context.Background()) })
		waitButton := `[data-agent-id=alice] [data-action=wait]`
		for _, tab := range []struct {
			tb *browserTab
			id string
		}{{first, routeWait}, {second, routeAsk}} {
			tab.tb.front()
			tab.tb.flowWaitJS("alice busy, to be waited for", fmt.Sprintf(`(() => { const r = fd(%q); return r.querySelector(%q).getAttribute('data-presence') === 'busy' && shown(r.querySelector(%q)); })()`, tab.id, cardSel("alice"), waitButton))
			if got := tab.tb.text(tab.id, waitButton); got != "Wait for Alice Adams" {
				t.Errorf("the busy card's button says %q", got)
			}
		}
		// The first visitor waits by keyboard: the name, then the line.
		first.front()
		first.injectAxe()
		first.tabTo(routeWait + "|alice/wait")
		first.press(kb.Enter)
		first.waitAttr(routeWait, "view", "name")
		first.typeText("Vera Visitor")
		first.press(kb.Enter)
		first.waitAttr(routeWait, "wait", "waiting")
		first.flowWaitText(routeWait, ".waitv .cst", "You are next in line for Alice Adams.")
		if f := first.focusedVisibly(); f != routeWait+"|btn pri:Leave the line" {
			t.Errorf("focus in the wait view: %s, want Leave the line", f)
		}
		first.axe("waiting")
		first.screenshots("wait-line")
		// The second waits behind her.
		second.front()
		second.click(routeAsk, waitButton)
		second.waitAttr(routeAsk, "view", "name")
		second.typeText("Walt Waiter")
		second.press(kb.Enter)
		second.flowWaitText(routeAsk, ".waitv .cst", "You are number 2 in line for Alice Adams.")

		// Alice hangs up: the first visitor's call starts by itself and
		// connects; the second moves up, live.
		if err := alice.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		first.front()
		first.flowWaitCall(routeWait, "connected")
		if v := first.hostAttr(routeWait, "view"); v != "call" {
			t.Errorf("the first visitor's view %q, want the call", v)
		}
		second.front()
		second.flowWaitText(routeAsk, ".waitv .cst", "You are next in line for Alice Adams.")

		// The first call ends: the second visitor waited long (the widget
		// asks at once): "free now", Call now by keyboard.
		first.front()
		first.click(routeWait, ".callv .end")
		first.flowWaitCall(routeWait, "ended")
		second.front()
		second.waitAttr(routeAsk, "wait", "ready")
		second.flowWaitText(routeAsk, ".waitv .cst", "Alice Adams is free now.")
		second.injectAxe()
		second.axe("your turn")
		second.screenshots("wait-ready")
		if f := second.focusedVisibly(); f != routeAsk+"|btn pri:Call now" {
			t.Errorf("focus at the turn: %s, want Call now", f)
		}
		second.press(kb.Enter)
		second.flowWaitCall(routeAsk, "connected")
		second.click(routeAsk, ".callv .end")
		second.flowWaitCall(routeAsk, "ended")
		for _, tb := range []*browserTab{first, second} {
			tb.flowPageClean()
		}
	})

	t.Run("contact us tries the next person", func(t *testing.T) {
		tb := env.newTab(t)
		tb.setViewport(1280, 800, false)
		tb.open(env, "/w/"+routeHunt, routeHunt)
		tb.injectAxe()
		tb.click(routeHunt, ".tab")
		tb.waitAttr(routeHunt, "open", "1")
		// The group shows as a card of its own, with its members' ways.
		tb.flowWaitJS("the group's card", fmt.Sprintf(`(() => { const c = fd(%q).querySelector(%q); return shown(c) && c.querySelector('.dn').textContent === 'Our hotline' && c.getAttribute('data-presence') === 'online'; })()`, routeHunt, cardSel("line")))
		tb.click(routeHunt, ".cta")
		tb.waitAttr(routeHunt, "view", "name")
		tb.typeText("Vera Visitor")
		tb.press(kb.Enter)
		// Dora's phone rings first and nobody picks up; after the ring time
		// bob's does: "Trying the next person…" with his name.
		who := fmt.Sprintf(`fd(%q).querySelector('.callv .nm').textContent`, routeHunt)
		tb.flowWaitJS("dora rung first", who+` === 'Dora Diaz' && `+fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-call') === 'ringing'`, routeHunt))
		tb.flowWaitJS("the next person", who+` === 'Bob Brown'`)
		tb.flowWaitText(routeHunt, ".callv .cst", "Trying the next person…")
		if f := tb.focused(); f != routeHunt+"|rb end:Hang up" {
			t.Errorf("focus while trying the next person: %s, want Hang up", f)
		}
		tb.axe("trying the next person")
		tb.screenshots("call-trying-next")
		// Bob does not answer either; alice does.
		tb.flowWaitCall(routeHunt, "connected")
		var name string
		tb.eval(who, &name)
		if name != "Alice Adams" {
			t.Errorf("connected to %q, want Alice Adams", name)
		}
		tb.click(routeHunt, ".callv .end")
		tb.flowWaitCall(routeHunt, "ended")
		tb.flowPageClean()
	})
}
