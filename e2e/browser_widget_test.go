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
	browserWidgetFlows(t, env)

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
// focus. From the page's end stop (see endStop) it goes on backwards.
func (tb *browserTab) tabTo(want string) {
	tb.t.Helper()
	if tb.focused() == want && tb.focusedVisibly() == want {
		return
	}
	back := false
	for i := 0; i < 60; i++ {
		if back {
			tb.press(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
		} else {
			tb.press(kb.Tab)
		}
		f := tb.focused()
		back = back || f == endStopFocus
		if f == want && tb.focusedVisibly() == want {
			return
		}
	}
	tb.t.Fatalf("Tab never reached %s", want)
}

// endStopFocus is what focused() says on the link endStop adds.
const endStopFocus = "page|A#End of the page"

// endStop adds a link at the very end of the page, after the widgets, so
// that Tab from their last control stays in the page: past it Chromium
// starts over at the top, but Firefox goes on to its own toolbar, from
// where the page's keys no longer bring the focus back.
func (tb *browserTab) endStop() {
	tb.t.Helper()
	tb.eval(`(() => { const a = document.createElement('a'); a.href = '#end'; a.textContent = 'End of the page'; document.body.append(a); return true; })()`, nil)
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
	// axe.min.js is a statement that sets window.axe: run as the body of a
	// function, it loads the same in every engine, whatever the page's CSP.
	raw, err := tb.drv.evaluate("(() => {\n"+string(src)+"\n; return typeof axe !== 'undefined'; })()", 20*time.Second)
	if err != nil || string(raw) != "true" {
		tb.t.Fatalf("inject axe: %s %v", raw, err)
	}
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
