//go:build integration

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// TestBrowserWidgets loads both widget types from the real gateway into
// Chromium, on a site of another origin with a strict Content Security
// Policy, and checks what a visitor sees and can do: rendering, style and
// order, live presence and config changes, the sidebar's visibility,
// keyboard use, privacy, accessibility (axe-core), and the screenshots for
// the README.
func TestBrowserWidgets(t *testing.T) {
	env := startBrowserEnv(t)
	ctx := ctxT(t, 10*time.Minute)

	t.Run("both types render with style and order", func(t *testing.T) {
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

	t.Run("privacy: nothing stored before the visitor acts", func(t *testing.T) {
		tb := env.newTab(t)
		tb.open(env, "/both", cardsWidget, sidebarWidget)
		tb.waitAttr(sidebarWidget, "visible", "1")
		if got := tb.storageUsed(); got != `{"cookie":"","local":[],"session":[]}` {
			t.Errorf("storage after loading: %s, want nothing", got)
		}
		// Opening and cancelling the name form stores nothing either.
		tb.clickAction(cardsWidget, "bob", "chat")
		tb.waitAttr(cardsWidget, "view", "name")
		tb.press(kb.Escape)
		tb.waitAttr(cardsWidget, "view", "home")
		if got := tb.storageUsed(); got != `{"cookie":"","local":[],"session":[]}` {
			t.Errorf("storage after a cancelled form: %s, want nothing", got)
		}
		tb.noViolations()
	})

	t.Run("keyboard reaches every control", func(t *testing.T) {
		tb := env.newTab(t)
		tb.open(env, "/both", cardsWidget, sidebarWidget)
		tb.waitAttr(sidebarWidget, "visible", "1")
		tb.waitJS("carol offline", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'offline'`, cardsWidget, cardSel("carol")), browserWait)

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
		tb.press(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
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

	t.Run("axe finds no serious or critical violations", func(t *testing.T) {
		axePath := filepath.Join("node_modules", "axe-core", "axe.min.js")
		src, err := os.ReadFile(axePath)
		if err != nil {
			t.Fatalf("axe-core missing (run npm ci --prefix e2e): %v", err)
		}
		tb := env.newTab(t)
		// A page without CSP: axe is injected into it.
		tb.open(env, "/plain", cardsWidget, sidebarWidget)
		tb.waitAttr(sidebarWidget, "visible", "1")
		tb.run("inject axe", 20*time.Second, chromedp.Evaluate[chromedp.Void](string(src)))
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

	t.Run("screenshots", func(t *testing.T) {
		tb := env.newTab(t)
		for _, vp := range []struct {
			name   string
			w, h   int64
			mobile bool
		}{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}} {
			tb.setViewport(vp.w, vp.h, vp.mobile)
			tb.open(env, "/shot/cards", cardsWidget)
			tb.waitPictures(cardsWidget, "alice", "bob")
			tb.waitJS("carol offline", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'offline'`, cardsWidget, cardSel("carol")), browserWait)
			tb.screenshot("cards-" + vp.name + ".png")

			tb.open(env, "/shot/sidebar", sidebarWidget)
			tb.waitAttr(sidebarWidget, "visible", "1")
			tb.waitPictures(sidebarWidget, "bob")
			if !vp.mobile {
				tb.screenshot("sidebar-collapsed-" + vp.name + ".png")
			}
			tb.click(sidebarWidget, ".tab")
			tb.waitAttr(sidebarWidget, "open", "1")
			time.Sleep(100 * time.Millisecond) // let the panel paint
			tb.screenshot("sidebar-" + vp.name + ".png")
		}
	})

	t.Run("call window shows the one agent", func(t *testing.T) {
		tb := env.newTab(t)
		tb.open(env, "/call/"+cardsWidget+"?agent=alice", cardsWidget)
		var pop struct {
			Type, Open, Cards string
			Full, Close       bool
		}
		tb.eval(fmt.Sprintf(`(() => { const r = fd(%q); const p = r.querySelector('.panel').getBoundingClientRect();
  return { Type: fdHost(%q).getAttribute('data-frontdesk-type'), Open: fdHost(%q).getAttribute('data-frontdesk-open'),
    Cards: Array.from(r.querySelectorAll('article:not([hidden])')).map((a) => a.getAttribute('data-agent-id')).join(),
    Full: p.left === 0 && p.top === 0 && p.width === innerWidth && p.height === innerHeight, Close: shown(r.querySelector('.shut')) }; })()`,
			cardsWidget, cardsWidget, cardsWidget), &pop)
		if pop.Type != "popout" || pop.Open != "1" || pop.Cards != "alice" || !pop.Full || pop.Close {
			t.Errorf("call window: %+v; want a full-window panel with alice only and no close button", pop)
		}
		tb.noViolations()
	})

	t.Run("presence change updates the card", func(t *testing.T) {
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

	t.Run("sidebar hides and shows per always_show", func(t *testing.T) {
		tb := env.newTab(t)
		tb.open(env, "/both", cardsWidget, sidebarWidget)
		tb.waitAttr(sidebarWidget, "visible", "1")
		tb.eval(`window.__fdMark = 1`, nil)
		for _, a := range []string{"alice", "bob"} {
			if err := env.tbAgent(a).SetPresence(ctx, "closed"); err != nil {
				t.Fatal(err)
			}
		}
		took := tb.waitJS("sidebar hidden", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-visible') === '0' && getComputedStyle(fdHost(%q)).display === 'none'`, sidebarWidget, sidebarWidget), updateLimit)
		t.Logf("sidebar hid %v after nobody was available", took)
		// Business cards stay, in red.
		tb.waitJS("cards stay", fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('article')).every((a) => !a.hidden && a.getAttribute('data-presence') === 'offline')`, cardsWidget), updateLimit)

		env.editConfig("    always_show: false\n", "    always_show: true\n")
		took = tb.waitJS("sidebar shown with always_show", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-visible') === '1' && fd(%q).querySelectorAll('article:not([hidden])').length === 2`, sidebarWidget, sidebarWidget), updateLimit)
		t.Logf("always_show took effect in %v", took)
		env.editConfig("    always_show: true\n", "    always_show: false\n")
		tb.waitAttr(sidebarWidget, "visible", "0")

		for _, a := range []string{"alice", "bob"} {
			if err := env.tbAgent(a).SetPresence(ctx, "online"); err != nil {
				t.Fatal(err)
			}
		}
		took = tb.waitJS("sidebar back", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-visible') === '1'`, sidebarWidget), updateLimit)
		t.Logf("sidebar came back %v after agents were available", took)
		tb.expectNoReload()
		tb.noViolations()
	})

	t.Run("config edit changes the widget without reload", func(t *testing.T) {
		tb := env.newTab(t)
		tb.open(env, "/both", cardsWidget, sidebarWidget)
		tb.waitJS("carol's card", fmt.Sprintf(`!!fd(%q).querySelector(%q)`, cardsWidget, cardSel("carol")), browserWait)
		tb.eval(`window.__fdMark = 1`, nil)
		before := env.cfg
		edited := strings.Replace(before, `{id: bob, sip: bob, name: Bob Brown, department: Support, media:`, `{id: bob, sip: bob, name: Robert Brown, department: Helpdesk, media:`, 1)
		edited = strings.Replace(edited, `accent: "#6a1b9a"`, `accent: "#00695c"`, 1)
		edited = strings.Replace(edited, "      - {id: carol, sip: carol, name: Carol Clark, department: Accounts, email: carol@example.com, media: [voice, chat, email]}\n", "", 1)
		if edited == before {
			t.Fatal("edit changed nothing")
		}
		env.writeConfig(edited)
		took := tb.waitJS("edit shown", fmt.Sprintf(`(() => { const r = fd(%q); const b = r.querySelector(%q);
  return !!b && b.querySelector('.dn').textContent === 'Robert Brown' && b.querySelector('.dep').textContent === 'Helpdesk' &&
    !r.querySelector(%q) && getComputedStyle(r.querySelector('.btn')).borderTopColor === 'rgb(0, 105, 92)'; })()`, cardsWidget, cardSel("bob"), cardSel("carol")), updateLimit)
		t.Logf("config edit reached the page in %v", took)
		tb.expectNoReload()
		env.writeConfig(before)
		tb.waitJS("carol back", fmt.Sprintf(`!!fd(%q).querySelector(%q)`, cardsWidget, cardSel("carol")), updateLimit)
		tb.noViolations()
	})
}

// tbAgent returns an agent of the test bed.
func (env *browserEnv) tbAgent(name string) *testbed.Agent { return env.bed.Agent(name) }

// seenKeys returns m's keys, sorted.
func seenKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// focusedVisibly returns focused() and checks that the focus is visible
// (an outline drawn by :focus-visible).
func (tb *browserTab) focusedVisibly() string {
	tb.t.Helper()
	f := tb.focused()
	if strings.HasPrefix(f, "page|") {
		return f
	}
	// Chromium may match :focus-visible a frame after the focus moved
	// (a panel still sliding in): look a few times, bounded.
	var outline string
	for i := 0; i < 20; i++ {
		tb.eval(`(() => { const cs = getComputedStyle(deepFocus()); return cs.outlineStyle + ' ' + cs.outlineWidth; })()`, &outline)
		if !strings.HasPrefix(outline, "none") && !strings.HasSuffix(outline, " 0px") {
			return f
		}
		time.Sleep(25 * time.Millisecond)
	}
	tb.t.Errorf("focus on %s is not visible (outline %s)", f, outline)
	return f
}

// tabTo presses Tab until the control want (as focused() names it) has the
// focus.
func (tb *browserTab) tabTo(want string) {
	tb.t.Helper()
	if tb.focused() == want && tb.focusedVisibly() == want {
		return
	}
	for i := 0; i < 60; i++ {
		tb.press(kb.Tab)
		if tb.focusedVisibly() == want {
			return
		}
	}
	tb.t.Fatalf("Tab never reached %s", want)
}

// noViolations fails the test when the page reported CSP violations or
// uncaught exceptions.
func (tb *browserTab) noViolations() {
	tb.t.Helper()
	if v := tb.violations(); len(v) > 0 {
		tb.t.Errorf("CSP violations:\n%s", strings.Join(v, "\n"))
	}
	for _, l := range tb.logs() {
		if strings.Contains(l, "exception:") {
			tb.t.Errorf("page error: %s", l)
		}
	}
}

// expectNoReload checks that the page set __fdMark before is still the same
// document.
func (tb *browserTab) expectNoReload() {
	tb.t.Helper()
	var mark int
	tb.eval(`window.__fdMark || 0`, &mark)
	if mark != 1 {
		tb.t.Error("the page was reloaded")
	}
}

// waitPictures waits until the agents' pictures are shown in widget id.
func (tb *browserTab) waitPictures(id string, agents ...string) {
	tb.t.Helper()
	for _, a := range agents {
		tb.waitJS(a+"'s picture", fmt.Sprintf(`(() => { const i = fd(%q).querySelector('[data-agent-id=%s] img'); return !!i && !i.hidden && i.complete && i.naturalWidth > 0; })()`, id, a), browserWait)
	}
}

// injectAxe loads axe-core (e2e/node_modules) into the page, unless it is
// there.
func (tb *browserTab) injectAxe() {
	tb.t.Helper()
	var there bool
	tb.eval(`typeof axe !== 'undefined'`, &there)
	if there {
		return
	}
	src, err := os.ReadFile(filepath.Join("node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		tb.t.Fatalf("axe-core missing (run npm ci --prefix e2e): %v", err)
	}
	tb.run("inject axe", 20*time.Second, chromedp.Evaluate[chromedp.Void](string(src)))
}

// axe runs axe-core (injected before, see injectAxe) on the page and fails
// on serious or critical violations; lesser ones are logged.
func (tb *browserTab) axe(state string) {
	tb.t.Helper()
	type violation struct {
		ID, Impact, Help string
		Nodes            []string
	}
	// axe judges the page as it stays: no panel half faded in (animations
	// that never end, such as a pulse, are part of the state).
	tb.waitJS("widgets steady for axe", `Array.from(document.querySelectorAll('[data-frontdesk-host]')).every((h) => h.shadowRoot.getAnimations().every((a) => a.playState !== 'running' || a.effect.getTiming().iterations === Infinity))`, browserWait)
	var res struct {
		Violations []violation
		// InShadow counts passed checks on nodes inside the widgets' shadow
		// roots (their targets are nested selectors).
		InShadow int
	}
	tb.eval(`axe.run(document).then((r) => ({
  Violations: r.violations.map((v) => ({ ID: v.id, Impact: v.impact || '', Help: v.help, Nodes: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)) })),
  InShadow: r.passes.reduce((k, p) => k + p.nodes.filter((n) => Array.isArray(n.target[0])).length, 0) }))`, &res)
	if res.InShadow == 0 {
		tb.t.Errorf("axe (%s) checked nothing inside the widgets", state)
	}
	vs := res.Violations
	for _, v := range vs {
		msg := fmt.Sprintf("axe (%s): %s [%s] %s: %s", state, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
		if v.Impact == "serious" || v.Impact == "critical" {
			tb.t.Error(msg)
		} else {
			tb.t.Log(msg)
		}
	}
	tb.t.Logf("axe (%s): %d violations in all; %d checks passed inside the widgets", state, len(vs), res.InShadow)
}
