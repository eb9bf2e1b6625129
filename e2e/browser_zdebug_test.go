//go:build integration

package e2e

import (
	"fmt"
	"testing"
)

func TestBrowserZDebug(t *testing.T) {
	env := startBrowserEnv(t)
	tb := env.newTab(t)
	tb.open(env, "/plain", cardsWidget, sidebarWidget)
	tb.waitAttr(sidebarWidget, "visible", "1")
	var vis any
	tb.eval(`[document.visibilityState, document.hasFocus(), fd("`+sidebarWidget+`").querySelector('.tab').getAnimations().map((a) => a.playState + ' ' + a.currentTime)]`, &vis)
	t.Logf("vis %v", vis)
	tb.click(sidebarWidget, ".tab")
	tb.waitAttr(sidebarWidget, "open", "1")
	var info any
	tb.eval(fmt.Sprintf(`(() => { const r = fd(%q); const n = r.querySelector('.shut'); const b = n.getBoundingClientRect(); const x = b.x + b.width/2, y = b.y + b.height/2;
	  const top = document.elementFromPoint(x, y); const inner = r.elementFromPoint(x, y);
	  return {b: [b.x, b.y, b.width, b.height], top: top && top.outerHTML.slice(0, 80), inner: inner && (inner.className && inner.className.baseVal !== undefined ? 'svg' : inner.outerHTML.slice(0, 80))}; })()`, sidebarWidget), &info)
	t.Logf("%v", info)
	tb.click(sidebarWidget, ".shut")
	tb.eval(`new Promise((r) => setTimeout(r, 500))`, nil)
	t.Logf("open=%s logs=%v", tb.hostAttr(sidebarWidget, "open"), tb.logs())
}
