//go:build integration

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// browserWidgetFlows are the steps of TestBrowserWidgets that run in every
// engine (see TestFirefoxWidgets): both widget types render with the
// configured style, the keyboard reaches every control, axe-core finds
// nothing serious, and a presence change redraws a card. only names the
// steps to run (all when empty).
func browserWidgetFlows(t *testing.T, env *browserEnv, only ...string) {
	ctx := ctxT(t, 10*time.Minute)
	run := func(name string, flow func(t *testing.T)) {
		if len(only) == 0 || slices.Contains(only, name) {
			t.Run(name, flow)
		}
	}

	run("both types render with style and order", func(t *testing.T) {
		tb := env.newTab(t)
		tb.open(env, "/both", cardsWidget, sidebarWidget)

		// Business cards: one card per agent, in configured order, with
		// availability colour and text.
		tb.waitJS("cards in order", fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('article')).map((a) => a.getAttribute('data-agent-id')).join() === 'alice,bob,carol'`, cardsWidget), browserWait)
		for agent, presence := range map[string]string{"alice": "online", "bob": "online", "carol": "offline"} {
			tb.waitJS(agent+" "+presence, fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === %q`, cardsWidget, cardSel(agent), presence), browserWait)
		}
		var card struct {
			Font, DotOn, DotOff, PicBg, PicFg, State, Dep string
			Actions                                       map[string][]string
			CarolCall                                     []string
		}
		tb.eval(fmt.Sprintf(`(() => {
  const r = fd(%q);
  const css = (sel, p) => getComputedStyle(r.querySelector(sel))[p];
  const acts = {};
  r.querySelectorAll('article').forEach((a) => { acts[a.getAttribute('data-agent-id')] = Array.from(a.querySelectorAll('[data-action]')).map((b) => b.getAttribute('data-action')); });
  const cc = r.querySelector(%q);
  return { Font: css('article', 'fontFamily'), DotOn: css('[data-agent-id=alice] .dot', 'backgroundColor'),
    DotOff: css('[data-agent-id=carol] .dot', 'backgroundColor'), PicBg: css('[data-agent-id=carol] .pic', 'backgroundColor'),
    PicFg: css('[data-agent-id=carol] .pic', 'color'), State: r.querySelector('[data-agent-id=carol] .st').textContent,
    Dep: r.querySelector('[data-agent-id=alice] .dep').textContent, Actions: acts,
    CarolCall: [cc.getAttribute('aria-disabled') || '', cc.title, cc.textContent] };
})()`, cardsWidget, actionSel("carol", "call")), &card)
		t.Logf("cards: %+v", card)
		if !strings.Contains(card.Font, "Georgia") {
			t.Errorf("card font = %q, want the configured Georgia", card.Font)
		}
		if card.DotOn != "rgb(30, 142, 62)" || card.DotOff != "rgb(217, 48, 37)" {
			t.Errorf("availability colours: online %s, offline %s; want green and red", card.DotOn, card.DotOff)
		}
		if card.PicBg != "rgb(106, 27, 154)" {
			t.Errorf("placeholder picture background = %s, want the accent #6a1b9a", card.PicBg)
		}
		if card.PicFg != "rgb(255, 255, 255)" {
			t.Errorf("text on the dark accent = %s, want white (chosen by contrast)", card.PicFg)
		}
		if card.State != "Not available" || card.Dep != "Sales" {
			t.Errorf("carol's state %q, alice's department %q", card.State, card.Dep)
		}
		wantActs := map[string][]string{
			"alice": {"call", "video", "chat", "email", "phone"},
			"bob":   {"call", "chat"},
			"carol": {"call", "chat", "email"},
		}
		for agent, want := range wantActs {
			if got := card.Actions[agent]; !slices.Equal(got, want) {
				t.Errorf("%s's actions = %v, want %v", agent, got, want)
			}
		}
		if card.CarolCall[0] != "true" || !strings.Contains(card.CarolCall[1], "not available") || !strings.Contains(card.CarolCall[2], "not available") {
			t.Errorf("carol's call button is not disabled with a reason: %q", card.CarolCall)
		}
		// Pictures replace the placeholder once they arrive.
		tb.waitJS("alice's picture", fmt.Sprintf(`(() => { const i = fd(%q).querySelector('[data-agent-id=alice] img'); return !i.hidden && i.src.startsWith('data:image/png') && i.complete && i.naturalWidth > 0; })()`, cardsWidget), browserWait)

		// Sidebar: at the left edge, yellow accent with black text, agents
		// in its own order.
		tb.waitAttr(sidebarWidget, "visible", "1")
		// The tab slides in from the edge and stops a margin from it, whole
		// (rounded on both sides, nothing cut off by the edge).
		tb.waitJS("tab near the left edge", fmt.Sprintf(`(() => { const b = fd(%q).querySelector('.tab').getBoundingClientRect(); return b.left >= 8 && b.left <= 32; })()`, sidebarWidget), browserWait)
		var side struct {
			Pos, TabBg, TabFg, Z, Label, Teaser, Order string
			Left                                       float64
		}
		tb.eval(fmt.Sprintf(`(() => {
  const r = fd(%q); const tab = r.querySelector('.tab'); const cs = getComputedStyle(tab);
  return { Pos: fdHost(%q).getAttribute('data-position'), TabBg: cs.backgroundColor, TabFg: cs.color, Z: getComputedStyle(tab.parentNode).zIndex,
    Label: r.querySelector('.tl').textContent, Teaser: r.querySelector('.teaser').textContent,
    Order: Array.from(r.querySelectorAll('article')).map((a) => a.getAttribute('data-agent-id')).join(),
    Left: tab.getBoundingClientRect().left };
})()`, sidebarWidget, sidebarWidget), &side)
		t.Logf("sidebar: %+v", side)
		if side.Pos != "left" || side.Left < 8 || side.Left > 32 {
			t.Errorf("sidebar position %q, tab at x=%v; want a margin from the left edge", side.Pos, side.Left)
		}
		if side.TabBg != "rgb(255, 214, 10)" || side.TabFg != "rgb(0, 0, 0)" {
			t.Errorf("tab colours %s on %s, want black on the yellow accent", side.TabFg, side.TabBg)
		}
		if side.Z != "2147483001" {
			t.Errorf("z-index = %s, want 2147483001", side.Z)
		}
		if side.Label != "Contact us" || side.Teaser != "Questions? We are here for you." {
			t.Errorf("tab label %q, teaser %q", side.Label, side.Teaser)
		}
		if side.Order != "bob,alice" {
			t.Errorf("sidebar agents %q, want bob,alice", side.Order)
		}

		// The tab slides the panel in.
		tb.click(sidebarWidget, ".tab")
		tb.waitAttr(sidebarWidget, "open", "1")
		var foot []string
		tb.eval(fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('.foot a')).map((a) => a.href)`, sidebarWidget), &foot)
		if want := []string{"tel:+49301234567", "mailto:info@example.com", "https://example.com/"}; !slices.Equal(foot, want) {
			t.Errorf("company links %v, want %v", foot, want)
		}
		tb.noViolations()
	})

	run("keyboard reaches every control", func(t *testing.T) {
		tb := env.newTab(t)
		tb.open(env, "/both", cardsWidget, sidebarWidget)
		tb.waitAttr(sidebarWidget, "visible", "1")
		tb.waitJS("carol offline", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'offline'`, cardsWidget, cardSel("carol")), browserWait)
		tb.endStop()

		// Tab from the top of the page through the cards to the sidebar tab.
		cards := tb.controls(cardsWidget)
		seen := map[string]bool{}
		sideTab := ""
		for i := 0; i < 60 && sideTab == ""; i++ {
			tb.press(kb.Tab)
			f := tb.focusedVisibly()
			seen[f] = true
			if strings.HasPrefix(f, sidebarWidget+"|tab:") || strings.HasPrefix(f, sidebarWidget+"|tab round:") {
				sideTab = f
			}
		}
		for _, c := range cards {
			if !seen[cardsWidget+"|"+c] {
				t.Errorf("Tab never reached card control %s (reached %v)", c, seenKeys(seen))
			}
		}
		if sideTab == "" {
			t.Fatalf("Tab never reached the sidebar tab (reached %v)", seenKeys(seen))
		}

		// Enter opens the panel with the focus inside; Tab reaches every
		// control in it; Escape closes it and the focus returns to the tab.
		tb.press(kb.Enter)
		tb.waitAttr(sidebarWidget, "open", "1")
		panel := tb.controls(sidebarWidget)
		f := tb.focusedVisibly()
		if !strings.HasPrefix(f, sidebarWidget+"|") {
			t.Fatalf("focus after opening the panel: %s", f)
		}
		seen = map[string]bool{f: true}
		tb.press(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)) // the close button precedes
		seen[tb.focusedVisibly()] = true
		for i := 0; i < len(panel)+2; i++ {
			tb.press(kb.Tab)
			f := tb.focused()
			if !strings.HasPrefix(f, sidebarWidget+"|") {
				break
			}
			seen[tb.focusedVisibly()] = true
		}
		for _, c := range panel {
			if !seen[sidebarWidget+"|"+c] {
				t.Errorf("Tab never reached panel control %s (reached %v)", c, seenKeys(seen))
			}
		}
		tb.press(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)) // into the panel again
		tb.press(kb.Escape)
		tb.waitAttr(sidebarWidget, "open", "0")
		if f := tb.focused(); f != sideTab {
			t.Errorf("focus after Escape: %s, want the tab %s", f, sideTab)
		}

		// A card's chat button asks the visitor's name in a panel; Escape
		// cancels and the focus returns to the button.
		tb.tabTo(cardsWidget + "|bob/chat")
		tb.press(kb.Enter)
		tb.waitAttr(cardsWidget, "view", "name")
		tb.waitAttr(cardsWidget, "open", "1")
		if f := tb.focused(); !strings.HasPrefix(f, cardsWidget+"|INPUT") {
			t.Errorf("focus in the name form: %s, want its input", f)
		}
		tb.press(kb.Escape)
		tb.waitAttr(cardsWidget, "view", "home")
		if f := tb.focused(); f != cardsWidget+"|bob/chat" {
			t.Errorf("focus after cancelling: %s, want bob's chat button", f)
		}

		// A disabled button says why when pressed.
		tb.tabTo(cardsWidget + "|carol/call")
		tb.press(kb.Enter)
		tb.waitJS("carol's reason shown", fmt.Sprintf(`fd(%q).querySelector('[data-agent-id=carol] .why').textContent.includes('not available')`, cardsWidget), browserWait)
		if v := tb.hostAttr(cardsWidget, "view"); v != "home" {
			t.Errorf("a disabled call opened view %q", v)
		}
		tb.noViolations()
	})

	run("axe finds no serious or critical violations", func(t *testing.T) {
		tb := env.newTab(t)
		tb.open(env, "/plain", cardsWidget, sidebarWidget)
		tb.waitAttr(sidebarWidget, "visible", "1")
		tb.injectAxe()
		tb.axe("sidebar closed")
		tb.click(sidebarWidget, ".tab")
		tb.waitAttr(sidebarWidget, "open", "1")
		tb.axe("sidebar open")
		tb.click(sidebarWidget, ".shut")
		tb.waitAttr(sidebarWidget, "open", "0")
		tb.clickAction(cardsWidget, "alice", "chat")
		tb.waitAttr(cardsWidget, "view", "name")
		tb.axe("name form")
	})

	run("presence change updates the card", func(t *testing.T) {
		tb := env.newTab(t)
		tb.open(env, "/both", cardsWidget, sidebarWidget)
		tb.waitJS("alice online", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'online'`, cardsWidget, cardSel("alice")), browserWait)
		if err := env.tbAgent("alice").SetPresence(ctx, "busy"); err != nil {
			t.Fatal(err)
		}
		took := tb.waitJS("alice busy on the card", fmt.Sprintf(`(() => { const c = fd(%q).querySelector(%q); return c.getAttribute('data-presence') === 'busy' && c.querySelector('.st').textContent === 'Busy' && c.querySelector('[data-action=call]').getAttribute('aria-disabled') === 'true'; })()`, cardsWidget, cardSel("alice")), updateLimit)
		t.Logf("presence change reached the card in %v", took)
		// The sidebar shows only available agents.
		tb.waitJS("alice hidden in the sidebar", fmt.Sprintf(`fd(%q).querySelector(%q).hidden`, sidebarWidget, cardSel("alice")), updateLimit)
		if err := env.tbAgent("alice").SetPresence(ctx, "online"); err != nil {
			t.Fatal(err)
		}
		took = tb.waitJS("alice online again", fmt.Sprintf(`(() => { const c = fd(%q).querySelector(%q); return c.getAttribute('data-presence') === 'online' && !c.querySelector('[data-action=call]').hasAttribute('aria-disabled'); })()`, cardsWidget, cardSel("alice")), updateLimit)
		t.Logf("and back in %v", took)
		tb.waitJS("alice shown in the sidebar", fmt.Sprintf(`!fd(%q).querySelector(%q).hidden`, sidebarWidget, cardSel("alice")), updateLimit)
		tb.noViolations()
	})
}
