//go:build integration

package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// clusterBrowserWidget is the cards widget of the cluster browser test,
// served by every node behind the load balancer.
const clusterBrowserWidget = "c1a55e7b0c2d4e6f8a9b0c1d2e3f4a5b"

// TestClusterBrowserCallLost: a visitor in Chromium calls through HAProxy
// in front of two nodes; the node carrying the call is SIGKILLed. The
// widget reconnects (HAProxy sends it to the surviving node), asks after
// its call (CallResume) and, told it was lost, says so and offers to call
// again, which reaches the agent through the surviving node.
func TestClusterBrowserCallLost(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium unavailable (run testbed/install.sh): %v", err)
	}
	if err := testbed.CheckBinaries(true); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	tb, err := testbed.Start(ctxT(t, time.Minute), testbed.Options{
		Dir:    t.TempDir(),
		Users:  []testbed.User{{Name: "frontdesk", Password: gwPassword}},
		Agents: []testbed.AgentSpec{{Name: "alice", Password: "alice-pw", Presence: "online", AnswerCalls: true}},
		Log:    slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	t.Setenv("FD_E2E_PASSWORD", gwPassword)

	// The site embeds the widget from the load balancer's address.
	env := &browserEnv{t: t}
	var lbURL string
	env.site = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cluster" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", env.cspFor(lbURL))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Example shop</title><link rel="icon" href="data:,">%s</head><body><main><h1>Example shop</h1><div data-frontdesk-cards="%s"></div><script async src="%s/frontdesk.js" data-frontdesk-widget="%s" data-frontdesk-gateway="%s"></script></main></body></html>`,
			shopStyle, clusterBrowserWidget, lbURL, clusterBrowserWidget, lbURL)
	}))
	t.Cleanup(env.site.Close)

	ns := startClusterNATS(t)
	body := fmt.Sprintf(`widgets:
  - id: %s
    type: cards
    name: Team
    allowed_origins: [%q]
    agents:
      - {id: alice, sip: alice, name: Alice Adams, media: [voice]}
`, clusterBrowserWidget, env.site.URL)
	nodes := startClusterNodes(t, tb, ns, 2, "", "", body)
	lbURL = "http://" + startClusterHAProxy(t, nodes)

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), chromiumOptions(t.TempDir(), chromedp.WindowSize(1280, 800))...)
	t.Cleanup(cancel)
	env.alloc = alloc
	env.startBrowser()

	w := clusterBrowserWidget
	page := env.newTab(t)
	page.open(env, "/cluster", w)
	page.flowWaitJS("alice available", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'online'`, w, cardSel("alice")))
	page.clickAction(w, "alice", "call")
	page.waitAttr(w, "view", "name")
	page.typeText("Vera Visitor")
	page.press(kb.Enter)
	page.flowWaitCall(w, "connected")

	// The node that carries the call dies.
	var holder, survivor *clusterNode
	waitUntil(t, "a node counts the call", flowWait, func() bool {
		for i, n := range nodes {
			if metricValue(t, n.g.metrics(t), "frontdesk_calls") == 1 {
				holder, survivor = n, nodes[1-i]
				return true
			}
		}
		return false
	})
	holder.kill()
	killed := time.Now()

	// The widget is told, on the surviving node, that the call was lost.
	page.waitJS("told the call was lost", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-call-reason') === 'lost'`, w), flowWait)
	t.Logf("the widget said the call was lost %v after the kill", time.Since(killed).Round(time.Millisecond))
	if st := page.hostAttr(w, "state"); st != "connected" {
		t.Errorf("widget state %q after it was told, want connected", st)
	}
	if s := page.text(w, ".callv .cst"); s != "The call was lost." {
		t.Errorf("the call view says %q, want The call was lost.", s)
	}

	// Calling again works once the surviving node ended the dead node's
	// PBX leg and alice is available again: the offer comes back then.
	page.waitJS("call again offered", fmt.Sprintf(`(() => { const b = %s; return !!b && !b.hasAttribute('aria-disabled'); })()`, flowButtonJS(w, ".callv .alts", "Call again")), 3*clusterLease+updateLimit)
	page.injectAxe()
	page.axe("call lost in a cluster")
	page.tabTo(w + "|btn pri:Call again")
	page.press(kb.Enter)
	page.flowWaitCall(w, "connected")
	if metricValue(t, survivor.g.metrics(t), "frontdesk_calls") != 1 {
		t.Errorf("the call placed again is not on the surviving node")
	}
	page.click(w, page.flowButton(w, ".ctl", "Hang up"))
	page.flowWaitCall(w, "ended")
	if r := page.hostAttr(w, "call-reason"); r != "ended-by-visitor" {
		t.Errorf("call-reason %q after hanging up the call placed again", r)
	}
	for _, l := range page.logs() {
		if (strings.Contains(l, " error: ") || strings.HasPrefix(l, "error: ")) && !strings.Contains(l, "network error: WebSocket connection to") {
			t.Errorf("console error: %s", l)
		}
	}
}
