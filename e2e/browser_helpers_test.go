//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// The browser tests drive the real widget script, served by the real
// gateway, in Chromium. Everything a test reads comes from the page: the
// widget's host element carries its state in data attributes (see
// hostAttr), and its shadow root holds the cards and controls.

const (
	cardsWidget   = "7d9f0c2a5b8e4f61a3c4d5e6f7a8b9c0"
	sidebarWidget = "1c2d3e4f5a6b47c89d0e1f2a3b4c5d6e"
	chromiumPath  = "/usr/bin/chromium"
	// browserWait bounds every wait for something to show in the page.
	browserWait = 10 * time.Second
)

// browserEnv is the test bed, the gateway and a site on another origin that
// embeds the widgets.
type browserEnv struct {
	t       *testing.T
	gw      *gatewayProc
	cfgPath string
	cfg     string // the config as last written
	site    *httptest.Server
	alloc   context.Context
	browser context.Context
	bed     *testbed.Testbed
	cut     *cutProxy // the way to the gateway of /states-cut, when a test starts one
	// firefox, when set, is the browser tabs open in instead of Chromium
	// (startBrowserEnvIn, startFlowsEnvIn).
	firefox *firefoxBrowser
}

// The engines a browser test runs in.
const (
	engineChromium = "chromium"
	engineFirefox  = "firefox"
)

// tabDriver is what a browserTab needs from a browser engine: Chromium
// through chromedp (chromeTab), Firefox ESR through WebDriver BiDi
// (firefoxTab in firefox_test.go). A step written against browserTab runs
// in both.
type tabDriver interface {
	engine() string
	// evaluate runs a JS expression (promises awaited) and returns its
	// value as JSON.
	evaluate(expr string, d time.Duration) ([]byte, error)
	navigate(url string) error
	reload() error
	// preload runs src in every new document before the page's scripts.
	preload(src string) error
	// clickAt clicks the mouse at a point of the viewport.
	clickAt(x, y float64) error
	// press sends one key (chromedp/kb names) as keyboard events.
	press(key string, opts ...chromedp.KeyOption) error
	typeText(s string) error
	// front brings the tab to the front (only the front tab renders
	// frames).
	front() error
	// setViewport sets a desktop or phone screen, with reduced motion.
	setViewport(w, h int64, mobile bool) error
	screenshot() ([]byte, error)
}

// browserConfig is the gateway config of the browser tests: a business
// cards widget and a sidebar, both allowed on the site's origin.
func browserConfig(pbx, site string) string {
	return "# frontdesk browser test config\n" + gatewayHead(pbx, site) + fmt.Sprintf(`widgets:
  - id: %s
    type: cards
    name: Our team
    style:
      font_family: "Georgia, serif"
      font_size: 16px
      accent: "#6a1b9a"
      foreground: "#1d1d1f"
      background: "#fffdf8"
    agents:
      - {id: alice, sip: alice, name: Alice Adams, department: Sales, phone: "+49 30 1234568", email: alice@example.com, media: [voice, video, chat, email], picture: alice.png}
      - {id: bob, sip: bob, name: Bob Brown, department: Support, media: [voice, chat], picture: bob.png}
      - {id: carol, sip: carol, name: Carol Clark, department: Accounts, email: carol@example.com, media: [voice, chat, email]}
  - id: %s
    type: sidebar
    name: Help
    always_show: false
    contact: {company: Example GmbH, phone: "+49 30 1234567", email: info@example.com, web: "https://example.com"}
    teasers: {en: ["Questions? We are here for you."]}
    style:
      accent: "#ffd60a"
      position: left
      z_index: 2147483001
      margin_bottom: 40px
    agents:
      - {id: bob, sip: bob, name: Bob Brown, department: Support, picture: bob.png}
      - {id: alice, sip: alice, name: Alice Adams, department: Sales, media: [voice, video, chat]}
`, cardsWidget, sidebarWidget)
}

// startBrowserEnv starts the test bed (alice and bob online, carol
// offline), the gateway, the site and a Chromium allocator.
func startBrowserEnv(t *testing.T) *browserEnv {
	t.Helper()
	return startBrowserEnvIn(t, engineChromium)
}

// startBrowserEnvIn is startBrowserEnv with the tabs in engine.
func startBrowserEnvIn(t *testing.T, engine string) *browserEnv {
	t.Helper()
	checkEngine(t, engine)
	env := &browserEnv{t: t}
	env.site = httptest.NewServer(http.HandlerFunc(env.servePage))
	t.Cleanup(env.site.Close)

	tb := startTestbed(t)
	env.bed = tb
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	dir := t.TempDir()
	writeAgentPicture(t, filepath.Join(dir, "alice.png"), color.RGBA{0xe0, 0x7a, 0x5f, 0xff}, color.RGBA{0x3d, 0x40, 0x5b, 0xff})
	writeAgentPicture(t, filepath.Join(dir, "bob.png"), color.RGBA{0x81, 0xb2, 0x9a, 0xff}, color.RGBA{0x22, 0x57, 0x6b, 0xff})
	env.cfgPath = filepath.Join(dir, "frontdesk.yaml")
	env.writeConfig(browserConfig(tb.Addr(), env.site.URL))
	env.gw = startGateway(t, env.cfgPath)
	env.gw.waitHealth("registered with all subscriptions active", 20*time.Second, func(code int, h map[string]any) bool {
		s := h["sip"].(map[string]any)
		// alice, bob, carol: presence + dialog each.
		return code == 200 && s["registration"] == "registered" && s["subscriptions"] == 6.0 && s["active"] == 6.0
	})

	env.startEngine(engine, nil)
	return env
}

// checkEngine fails (never skips) when engine's browser is missing.
func checkEngine(t *testing.T, engine string) {
	t.Helper()
	switch engine {
	case engineChromium:
		if _, err := os.Stat(chromiumPath); err != nil {
			t.Fatalf("chromium unavailable (run testbed/install.sh): %v", err)
		}
	case engineFirefox:
		firefoxCheck(t)
	default:
		t.Fatalf("unknown browser engine %q", engine)
	}
}

// startEngine starts the browser the tabs open in, with a fresh profile
// (removed after the browser exited: cleanups run last-registered first).
// firefoxExtra changes firefoxPrefs.
func (env *browserEnv) startEngine(engine string, firefoxExtra map[string]any) {
	env.t.Helper()
	if engine == engineFirefox {
		env.firefox = startFirefox(env.t, firefoxExtra)
		return
	}
	profile := env.t.TempDir()
	// The fake microphone plays a steady cbMicHz, as Firefox's does.
	mic := filepath.Join(env.t.TempDir(), "mic.wav")
	if err := writeToneWAV(mic, 48000, cbMicHz, 30); err != nil {
		env.t.Fatal(err)
	}
	opts := chromiumOptions(profile, chromedp.WindowSize(1280, 800), chromedp.Flag("use-file-for-fake-audio-capture", mic))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	env.t.Cleanup(cancel)
	env.alloc = alloc
	env.startBrowser()
}

func (env *browserEnv) writeConfig(cfg string) {
	env.t.Helper()
	env.cfg = cfg
	writeConfig(env.t, env.cfgPath, cfg)
}

// editConfig replaces old by new in the config, once, like an admin.
func (env *browserEnv) editConfig(old, new string) {
	env.t.Helper()
	if !strings.Contains(env.cfg, old) {
		env.t.Fatalf("config lacks %q", old)
	}
	env.writeConfig(strings.Replace(env.cfg, old, new, 1))
}

// strictCSP is what a careful site sends: the gateway's script, its
// websocket, data: images; nothing inline, no eval, no styles of its own.
func (env *browserEnv) strictCSP() string {
	gw := env.gw.httpURL
	ws := "ws" + strings.TrimPrefix(gw, "http")
	return "default-src 'none'; script-src " + gw + "; connect-src " + ws + "; img-src data:; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// servePage serves the site's pages:
//
//	/cards, /sidebar, /both  the widgets under the strict CSP
//	/plain                   both widgets without CSP (for axe)
//	/shot/cards, /shot/sidebar  pages styled like a small site (screenshots)
func (env *browserEnv) servePage(w http.ResponseWriter, r *http.Request) {
	gw := env.gw.httpURL
	script := func(id string) string {
		return fmt.Sprintf(`<script async src="%s/frontdesk.js" data-frontdesk-widget="%s" data-frontdesk-gateway="%s"></script>`, gw, id, gw)
	}
	cards := `<section aria-labelledby="team"><h2 id="team">Our team</h2><div data-frontdesk-cards="` + cardsWidget + `"></div></section>`
	var body, head string
	switch r.URL.Path {
	case "/cards":
		body = cards + script(cardsWidget)
	case "/sidebar":
		body = `<p>Welcome to our shop.</p>` + script(sidebarWidget)
	case "/both", "/plain":
		body = `<p><a href="#first">A link before the widgets</a></p>` + cards + script(cardsWidget) + script(sidebarWidget) +
			`<p><a href="#last">A link after the widgets</a></p>`
	case "/shot/cards", "/shot/sidebar":
		head = `<style>body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#222;background:#f4f1ea}header{padding:1.2em 2em;background:#2b2d42;color:#fff}main{max-width:64em;margin:0 auto;padding:1.5em 2em}h1{margin:0;font-size:1.4em}</style>`
		if r.URL.Path == "/shot/cards" {
			body = `<p>Talk to the people behind Example GmbH: call, video call, chat or write.</p>` + cards + script(cardsWidget)
		} else {
			body = `<p>Welcome to our shop. Browse our products; the contact panel on the left is always at hand.</p>` + script(sidebarWidget)
		}
	default:
		if id, ok := strings.CutPrefix(r.URL.Path, "/call/"); ok {
			// The call window the gateway serves at /call/{widget}, from
			// the same template, for a widget on this site's origin.
			env.servePopout(w, r, id)
			return
		}
		http.NotFound(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/shot/") && r.URL.Path != "/plain" {
		w.Header().Set("Content-Security-Policy", env.strictCSP())
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Example shop</title><link rel="icon" href="data:,">%s</head><body><header><h1>Example shop</h1></header><main>%s</main></body></html>`, head, body)
}

// servePopout renders widget/assets/popout.html as the gateway would.
func (env *browserEnv) servePopout(w http.ResponseWriter, r *http.Request, id string) {
	tmpl, err := template.ParseFiles(filepath.Join("..", "widget", "assets", "popout.html"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	type widget struct{ ID, Name, Lang string }
	data := struct {
		Widget  widget
		Gateway string
		Agent   string
	}{widget{id, "Our team", "en"}, env.gw.httpURL, r.URL.Query().Get("agent")}
	w.Header().Set("Content-Security-Policy", env.strictCSP())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := tmpl.Execute(w, data); err != nil {
		env.t.Errorf("render popout: %v", err)
	}
}

// writeAgentPicture writes a 160×160 PNG: a vertical gradient from top to bottom
// with a lighter disc, a stand-in for an agent's photo.
func writeAgentPicture(t *testing.T, path string, top, bottom color.RGBA) {
	t.Helper()
	const n = 160
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	mix := func(a, b uint8, f float64) uint8 { return uint8(float64(a)*(1-f) + float64(b)*f) }
	for y := 0; y < n; y++ {
		f := float64(y) / n
		for x := 0; x < n; x++ {
			c := color.RGBA{mix(top.R, bottom.R, f), mix(top.G, bottom.G, f), mix(top.B, bottom.B, f), 0xff}
			dx, dy := x-n/2, y-n*2/5
			if dx*dx+dy*dy < (n/5)*(n/5) || (y > n*7/10 && dx*dx*3 < (n-y)*(n-y)*16) {
				c = color.RGBA{mix(c.R, 0xff, 0.55), mix(c.G, 0xff, 0.55), mix(c.B, 0xff, 0.55), 0xff}
			}
			img.SetRGBA(x, y, c)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// browserTab is one browser tab with what it logged.
type browserTab struct {
	t   *testing.T
	drv tabDriver
	// ctx is the chromedp tab of a Chromium tab (run); nil in Firefox.
	ctx context.Context
	// viewport is what setViewport last set (screenshots comes back to it).
	viewport viewport

	mu      sync.Mutex
	console []string // console messages, exceptions, browser log entries, dialogs
}

// startBrowser starts Chromium (bounded); tabs open in it.
func (env *browserEnv) startBrowser() {
	env.t.Helper()
	ctx, cancel := chromedp.NewContext(env.alloc)
	env.t.Cleanup(cancel)
	// The first action starts the browser; it must run on a context without
	// a deadline (a deadline would end the browser), so it is bounded here.
	boundedStep(env.t, "start chromium", 30*time.Second, func() error { return chromedp.Do(ctx) })
	env.browser = ctx
}

// boundedStep runs f, failing the test if it takes longer than d.
func boundedStep(t *testing.T, what string, d time.Duration, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(d):
		t.Fatalf("%s: not done within %v", what, d)
	}
}

// newTab opens a tab that records console output, exceptions, browser log
// entries (CSP reports appear there) and securitypolicyviolation events
// (window.__fdViolations).
func (env *browserEnv) newTab(t *testing.T) *browserTab {
	t.Helper()
	if env.firefox != nil {
		tb := &browserTab{t: t}
		tb.drv = env.firefox.newTab(t, tb.log)
		tb.watchViolations()
		return tb
	}
	ctx, cancel := chromedp.NewContext(env.browser)
	t.Cleanup(cancel)
	tb := &browserTab{t: t, ctx: ctx, drv: chromeTab{ctx}}
	var msgs iter.Seq2[chromedp.ConsoleMessage, error]
	boundedStep(t, "open tab", 20*time.Second, func() error {
		msgs = chromedp.Console(ctx)
		return nil
	})
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			tb.log(m.Source + " " + m.String())
		}
	}()
	// Dialogs (the beforeunload question while a call or chat runs) are
	// recorded and accepted.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tb.log("dialog " + string(ev.Type) + ": " + ev.Message)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	// Only the front tab renders frames (animations, transitions).
	tb.front()
	tb.watchViolations()
	return tb
}

// watchViolations records securitypolicyviolation events in
// window.__fdViolations of every document the tab loads.
func (tb *browserTab) watchViolations() {
	tb.t.Helper()
	if err := tb.drv.preload(`window.__fdViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__fdViolations.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + (e.lineNumber || 0));
});`); err != nil {
		tb.t.Fatalf("watch CSP violations: %v", err)
	}
}

// engine is the tab's browser engine: engineChromium or engineFirefox.
func (tb *browserTab) engine() string { return tb.drv.engine() }

// front brings the tab to the front (only the front tab renders frames).
func (tb *browserTab) front() {
	tb.t.Helper()
	if err := tb.drv.front(); err != nil {
		tb.t.Fatalf("bring tab to front: %v", err)
	}
}

// reload reloads the page, like the visitor's reload button.
func (tb *browserTab) reload() {
	tb.t.Helper()
	if err := tb.drv.reload(); err != nil {
		tb.t.Fatalf("reload: %v", err)
	}
}

// preload runs src in every new document of the tab before the page's
// scripts.
func (tb *browserTab) preload(what, src string) {
	tb.t.Helper()
	if err := tb.drv.preload(src); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// navigate loads url in the tab.
func (tb *browserTab) navigate(url string) {
	tb.t.Helper()
	if err := tb.drv.navigate(url); err != nil {
		tb.t.Fatalf("open %s: %v", url, err)
	}
}

func (tb *browserTab) log(s string) {
	tb.mu.Lock()
	tb.console = append(tb.console, s)
	tb.mu.Unlock()
}

// logs returns what the tab logged so far.
func (tb *browserTab) logs() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.console...)
}

// run runs chromedp actions with a bound (Chromium only: the steps
// shared with Firefox use the browserTab methods).
func (tb *browserTab) run(what string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if tb.ctx == nil {
		tb.t.Fatalf("%s: a Chromium-only step in %s", what, tb.engine())
	}
	ctx, cancel := context.WithTimeout(tb.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// open loads a page of the site and waits until every widget on it is ready.
func (tb *browserTab) open(env *browserEnv, path string, widgets ...string) {
	tb.t.Helper()
	tb.navigate(env.site.URL + path)
	for _, id := range widgets {
		tb.waitAttr(id, "ready", "1")
	}
}

// jsPrelude gives expressions fd(id), the shadow root of widget id,
// fdHost(id), its host element, deepFocus(), the focused element inside
// shadow roots, shown(n) and controlKey(n) (see controlKeyJS).
var jsPrelude = controlKeyJS + `const fd = (id) => { const h = document.querySelector('[data-frontdesk-host="' + id + '"]'); return h && h.shadowRoot; };
const fdHost = (id) => document.querySelector('[data-frontdesk-host="' + id + '"]');
const deepFocus = () => { let a = document.activeElement; while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement; return a; };
const shown = (n) => !!n && n.checkVisibility({ checkVisibilityCSS: true }) && n.getClientRects().length > 0;
`

// eval evaluates a JS expression (with jsPrelude) into out (JSON);
// promises are awaited.
func (tb *browserTab) eval(expr string, out any) {
	tb.t.Helper()
	raw, err := tb.evalRaw(expr, 20*time.Second)
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", jsHead(expr), err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.t.Fatalf("evaluate %s: result %s: %v", jsHead(expr), raw, err)
		}
	}
}

func (tb *browserTab) evalRaw(expr string, d time.Duration) ([]byte, error) {
	return tb.drv.evaluate("(async () => { "+jsPrelude+" return ("+expr+"); })()", d)
}

// waitJS polls expr until it is truthy, returning how long that took.
func (tb *browserTab) waitJS(what, expr string, timeout time.Duration) time.Duration {
	tb.t.Helper()
	start := time.Now()
	for {
		raw, err := tb.evalRaw("!!("+expr+")", 5*time.Second)
		if err == nil && string(raw) == "true" {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			tb.t.Fatalf("%s: not seen within %v (last error %v)\nbrowser log:\n%s", what, timeout, err, strings.Join(tb.logs(), "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hostAttr reads data-frontdesk-<name> of widget id's host element:
//
//	type     sidebar | cards | popout
//	state    connected | reconnecting
//	ready    1 once Session, every Info and IceConfig arrived
//	visible  sidebar: 1 while shown
//	open     1 while the panel is expanded
//	view     home | name | call | chat | leave
//	call     idle | connecting | ringing | connected | held | ended
//	call-reason  why the last call ended (a CallInfo reason or a local one)
//	chat     idle | opening | open | resuming | ended
//	chat-reason  why the last chat ended
//	unread   agent messages not seen yet
func (tb *browserTab) hostAttr(id, name string) string {
	tb.t.Helper()
	var v string
	tb.eval(fmt.Sprintf(`(fdHost(%q) && fdHost(%q).getAttribute('data-frontdesk-' + %q)) || ''`, id, id, name), &v)
	return v
}

// waitAttr waits until data-frontdesk-<name> of widget id is value.
func (tb *browserTab) waitAttr(id, name, value string) time.Duration {
	tb.t.Helper()
	return tb.waitJS(fmt.Sprintf("widget %s %s=%s", id[:6], name, value),
		fmt.Sprintf(`fdHost(%q) && fdHost(%q).getAttribute('data-frontdesk-' + %q) === %q`, id, id, name, value), browserWait)
}

// cardSel is the selector of agent's card in a widget's shadow root.
func cardSel(agent string) string { return fmt.Sprintf(`article[data-agent-id=%q]`, agent) }

// actionSel is the selector of an action button on agent's card: call,
// video, chat, email, phone or link.
func actionSel(agent, action string) string {
	return cardSel(agent) + fmt.Sprintf(` [data-action=%q]`, action)
}

// click clicks the element sel in widget id's shadow root (as the visitor
// would: a real mouse click at its centre).
func (tb *browserTab) click(id, sel string) {
	tb.t.Helper()
	var box []float64
	tb.waitJS("visible "+sel, fmt.Sprintf(`shown(fd(%q) && fd(%q).querySelector(%q))`, id, id, sel), browserWait)
	// Wait until nothing moves (the sidebar tab slides in, the panel slides
	// open) and the element's centre is on the screen.
	tb.waitJS("steady "+sel, fmt.Sprintf(`(() => { const r = fd(%q); const n = r.querySelector(%q); const b = n.getBoundingClientRect();
  const x = b.x + b.width / 2, y = b.y + b.height / 2;
  const still = Array.from(document.querySelectorAll('[data-frontdesk-host]')).every((h) => h.shadowRoot.getAnimations().every((a) => a.playState !== 'running'));
  const hit = r.elementFromPoint(x, y);
  return still && x >= 0 && y >= 0 && x < innerWidth && y < innerHeight && document.elementFromPoint(x, y) === r.host && !!hit && n.contains(hit); })()`, id, sel), browserWait)
	tb.eval(fmt.Sprintf(`(() => { const r = fd(%q).querySelector(%q).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`, id, sel), &box)
	if err := tb.drv.clickAt(box[0], box[1]); err != nil {
		tb.t.Fatalf("click %s: %v", sel, err)
	}
}

// clickAction clicks an agent's action button: e.g. clickAction(w, "alice",
// "call") starts a call; then waitAttr(w, "call", "connected").
//
// An action that waits under the card's "More" opens it first.
func (tb *browserTab) clickAction(id, agent, action string) {
	tb.t.Helper()
	var under bool
	tb.eval(fmt.Sprintf(`(() => { const n = fd(%q).querySelector(%q); return !!n && !!n.closest('.morebox') && n.closest('.morebox').hidden; })()`, id, actionSel(agent, action)), &under)
	if under {
		tb.click(id, cardSel(agent)+" [data-more]")
	}
	tb.click(id, actionSel(agent, action))
}

// focused describes the deeply focused element: "<widget>|<key>" for a
// control in a widget (key from controlKey), else "page|<tag>#<text>".
func (tb *browserTab) focused() string {
	tb.t.Helper()
	var s string
	// Firefox moves the focus on from the last control of the page to its
	// own toolbar, and the page keeps its activeElement: that is outside.
	// (Chromium's tabs in the background have no focus either: not there.)
	outside := ""
	if tb.engine() == engineFirefox {
		outside = `if (!document.hasFocus()) return 'page|outside'; `
	}
	tb.eval(`(() => { `+outside+`const a = deepFocus(); if (!a) return ''; const r = a.getRootNode(); if (r && r.host) return r.host.getAttribute('data-frontdesk-host') + '|' + controlKey(a); return 'page|' + a.tagName + '#' + (a.textContent || '').trim(); })()`, &s)
	return s
}

// controlKeyJS names a control in a shadow root: its card and action, else
// its class and text.
const controlKeyJS = `const controlKey = (n) => { const c = n.closest('article'); const a = n.getAttribute('data-action'); return (c ? c.getAttribute('data-agent-id') + '/' : '') + (a || (n.className || n.tagName) + ':' + (n.getAttribute('aria-label') || n.textContent || '').trim()); };`

// controls lists the keys of widget id's visible, focusable controls.
func (tb *browserTab) controls(id string) []string {
	tb.t.Helper()
	var keys []string
	tb.eval(fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('button, a[href], input, select, textarea, [tabindex]')).filter((n) => shown(n) && n.tabIndex >= 0 && !n.disabled).map(controlKey)`, id), &keys)
	return keys
}

// press sends one key (chromedp/kb names) as keyboard events.
func (tb *browserTab) press(key string, opts ...chromedp.KeyOption) {
	tb.t.Helper()
	if err := tb.drv.press(key, opts...); err != nil {
		tb.t.Fatalf("press %q: %v", key, err)
	}
	time.Sleep(30 * time.Millisecond)
}

// typeText types s into the focused control, key by key.
func (tb *browserTab) typeText(s string) {
	tb.t.Helper()
	if err := tb.drv.typeText(s); err != nil {
		tb.t.Fatalf("type text: %v", err)
	}
}

// viewport is a screen size; mobile emulates a phone (touch, 2× pixels).
type viewport struct {
	name   string
	w, h   int64
	mobile bool
}

// shotViewports are the sizes every state is shown at in the screenshots.
var shotViewports = []viewport{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}}

// screenshots writes the page as a desktop and a phone show it, to
// name-desktop.png and name-phone.png, and returns to the tab's viewport.
func (tb *browserTab) screenshots(name string) {
	tb.t.Helper()
	back := tb.viewport
	for _, vp := range shotViewports {
		tb.setViewport(vp.w, vp.h, vp.mobile)
		tb.settle()
		tb.screenshot(name + "-" + vp.name + ".png")
	}
	if back.w != 0 {
		tb.setViewport(back.w, back.h, back.mobile)
		tb.settle()
	}
}

// settle waits until the page has drawn two frames (a new layout).
func (tb *browserTab) settle() {
	tb.t.Helper()
	tb.eval(`new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, nil)
}

// setViewport emulates a desktop or phone screen; reduced motion makes
// panels appear at once.
func (tb *browserTab) setViewport(w, h int64, mobile bool) {
	tb.t.Helper()
	tb.viewport = viewport{w: w, h: h, mobile: mobile}
	if err := tb.drv.setViewport(w, h, mobile); err != nil {
		tb.t.Fatalf("viewport: %v", err)
	}
}

// screenshotDir is where screenshot writes: $FRONTDESK_SCREENSHOTS, else
// frontdesk-screenshots in the temporary directory. The best of them are
// copied to docs/screenshots by hand, so a test run never changes the
// repository.
func screenshotDir() string {
	if d := os.Getenv("FRONTDESK_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "frontdesk-screenshots")
}

// screenshot writes the visible page to screenshotDir()/name.
func (tb *browserTab) screenshot(name string) {
	tb.t.Helper()
	buf, err := tb.drv.screenshot()
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("wrote %s (%d bytes)", filepath.Join(dir, name), len(buf))
}

// violations returns the CSP violations the page reported, and console or
// log lines that mention the Content Security Policy.
func (tb *browserTab) violations() []string {
	tb.t.Helper()
	var v []string
	tb.eval(`window.__fdViolations || []`, &v)
	for _, l := range tb.logs() {
		if strings.Contains(l, "Content Security Policy") || strings.Contains(l, "Content-Security-Policy") {
			v = append(v, l)
		}
	}
	return v
}

// storageUsed returns what the page stored: sessionStorage and
// localStorage keys, and cookies.
func (tb *browserTab) storageUsed() string {
	tb.t.Helper()
	var v any
	tb.eval(`({ session: Object.keys(sessionStorage), local: Object.keys(localStorage), cookie: document.cookie })`, &v)
	b, _ := json.Marshal(v)
	return string(b)
}

// addInitScript runs src in every new document before the page's scripts.
func addInitScript(src string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return err
	})
}

func jsHead(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
