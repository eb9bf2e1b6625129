//go:build integration

package e2e

// How a test drives Firefox: startFirefox starts Debian's Firefox ESR,
// headless, with a fresh profile, through e2e/firefox/driver.mjs, a small
// node script over puppeteer-core's WebDriver BiDi client (pinned in
// e2e/package.json). The Go side speaks JSON lines with it; a firefoxTab is
// a tabDriver, so the steps a test runs in a browserTab (open, eval, click,
// press, …) are the same in Chromium and Firefox. The browser is ended by
// its PID when the test ends.

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

const firefoxPath = "/usr/bin/firefox-esr"

// firefoxMicHz is the tone of Firefox's fake microphone
// (media.navigator.streams.fake): a sine at media.navigator.audio.fake_frequency,
// set here to what the call tests' Chromium microphone plays.
const firefoxMicHz = cbMicHz

// firefoxPrefs are the preferences of every test Firefox: fake media
// devices without prompts, loopback ICE host candidates (as Chromium's
// allow-loopback-in-peer-connection), reduced motion (as the Chromium tabs
// emulate), and no background network of its own (updates, telemetry, safe
// browsing, captive portal and connectivity checks, Normandy and remote
// settings, the OpenH264 download): the machine's network is closed.
func firefoxPrefs() map[string]any {
	return map[string]any{
		// Calls: a fake microphone (a steady tone) and camera, no prompt.
		"media.navigator.streams.fake":                      true,
		"media.navigator.permission.disabled":               true,
		"media.navigator.audio.fake_frequency":              firefoxMicHz,
		"media.peerconnection.ice.loopback":                 true,
		"media.peerconnection.ice.no_host":                  false,
		"media.peerconnection.ice.obfuscate_host_addresses": false,
		"media.peerconnection.ice.proxy_only":               false,
		// The flows measure the call's audio with WebAudio: allowed without
		// a gesture, and running on a machine without a sound device (the
		// mock backend; the real one would leave AudioContexts suspended).
		"media.autoplay.default":         0,
		"media.autoplay.block-webaudio":  false,
		"media.cubeb.force_mock_context": true,
		"ui.prefersReducedMotion":        1,
		// Background network off.
		"app.update.enabled":                              false,
		"app.update.auto":                                 false,
		"app.update.checkInstallTime":                     false,
		"app.normandy.enabled":                            false,
		"app.normandy.api_url":                            "",
		"app.shield.optoutstudies.enabled":                false,
		"browser.safebrowsing.malware.enabled":            false,
		"browser.safebrowsing.phishing.enabled":           false,
		"browser.safebrowsing.downloads.enabled":          false,
		"browser.safebrowsing.blockedURIs.enabled":        false,
		"browser.safebrowsing.provider.mozilla.updateURL": "",
		"browser.search.update":                           false,
		"browser.newtabpage.enabled":                      false,
		"browser.ping-centre.telemetry":                   false,
		"datareporting.healthreport.uploadEnabled":        false,
		"datareporting.policy.dataSubmissionEnabled":      false,
		"toolkit.telemetry.enabled":                       false,
		"toolkit.telemetry.unified":                       false,
		"toolkit.telemetry.server":                        "",
		"network.captive-portal-service.enabled":          false,
		"network.connectivity-service.enabled":            false,
		"network.dns.disablePrefetch":                     true,
		"network.prefetch-next":                           false,
		"network.http.speculative-parallel-limit":         0,
		"extensions.update.enabled":                       false,
		"extensions.getAddons.cache.enabled":              false,
		"services.settings.server":                        "http://127.0.0.1:9/",
		"messaging-system.rsexperimentloader.enabled":     false,
		"media.gmp-manager.updateEnabled":                 false,
		"media.gmp-gmpopenh264.autoupdate":                false,
		"media.gmp-widevinecdm.enabled":                   false,
		"geo.provider.network.url":                        "",
		"privacy.resistFingerprinting":                    false,
	}
}

// firefoxBrowser is one Firefox ESR and the node driver that holds it.
type firefoxBrowser struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	pid   int // Firefox's own PID
	done  chan struct{}

	mu      sync.Mutex
	nextID  int
	pending map[int]chan firefoxAnswer
	logs    map[string]func(string) // per tab
	closed  bool
}

type firefoxAnswer struct {
	ID    int             `json:"id"`
	Value json.RawMessage `json:"value"`
	Error string          `json:"error"`
	Event string          `json:"event"`
	Tab   string          `json:"tab"`
	Text  string          `json:"text"`
	PID   int             `json:"pid"`
}

// firefoxCheck fails (never skips) when Firefox ESR or the driver's
// packages are missing: scripts/setup.sh installs them.
func firefoxCheck(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(firefoxPath); err != nil {
		t.Fatalf("firefox-esr unavailable (run scripts/setup.sh): %v", err)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "puppeteer-core", "package.json")); err != nil {
		t.Fatalf("puppeteer-core missing (npm ci --prefix e2e): %v", err)
	}
}

// startFirefox starts a headless Firefox ESR with a fresh profile and
// firefoxPrefs, changed by extra; it ends with the test.
func startFirefox(t *testing.T, extra map[string]any) *firefoxBrowser {
	t.Helper()
	firefoxCheck(t)
	prefs := firefoxPrefs()
	for k, v := range extra {
		prefs[k] = v
	}
	prefsJSON, err := json.Marshal(prefs)
	if err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	cmd := exec.Command("node", filepath.Join("firefox", "driver.mjs"))
	cmd.Env = append(os.Environ(), "FD_FIREFOX="+firefoxPath, "FD_FIREFOX_PROFILE="+profile, "FD_FIREFOX_PREFS="+string(prefsJSON))
	cmd.Stderr = testWriter{t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the firefox driver: %v", err)
	}
	fb := &firefoxBrowser{t: t, cmd: cmd, stdin: stdin, done: make(chan struct{}), pending: map[int]chan firefoxAnswer{}, logs: map[string]func(string){}}
	started := make(chan int, 1)
	go fb.read(stdout, started)
	t.Cleanup(fb.close)
	select {
	case fb.pid = <-started:
		t.Logf("firefox-esr started, pid %d", fb.pid)
	case <-fb.done:
		t.Fatal("the firefox driver ended before Firefox started")
	case <-time.After(60 * time.Second):
		t.Fatal("firefox did not start within 60s")
	}
	return fb
}

// read takes the driver's answers and events until its stdout closes.
func (fb *firefoxBrowser) read(stdout io.Reader, started chan<- int) {
	defer close(fb.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 64<<20) // screenshots come base64
	for sc.Scan() {
		var a firefoxAnswer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			continue
		}
		fb.mu.Lock()
		switch {
		case a.Event == "started":
			started <- a.PID
		case a.Event == "log":
			if f := fb.logs[a.Tab]; f != nil {
				f(a.Text)
			}
		case fb.pending[a.ID] != nil:
			fb.pending[a.ID] <- a
			delete(fb.pending, a.ID)
		}
		fb.mu.Unlock()
	}
	fb.mu.Lock()
	fb.closed = true
	for id, c := range fb.pending {
		c <- firefoxAnswer{ID: id, Error: "the firefox driver ended"}
		delete(fb.pending, id)
	}
	fb.mu.Unlock()
}

// close ends the driver (which closes Firefox), then, if either is still
// there, ends them by PID.
func (fb *firefoxBrowser) close() {
	_ = fb.stdin.Close()
	select {
	case <-fb.done:
	case <-time.After(15 * time.Second):
		fb.t.Logf("firefox did not close within 15s; ending pid %d", fb.pid)
		if fb.pid > 0 {
			_ = syscall.Kill(fb.pid, syscall.SIGKILL)
		}
		_ = fb.cmd.Process.Kill()
		<-fb.done
	}
	_ = fb.cmd.Wait()
	// Firefox outlives a killed driver: make sure it is gone.
	if fb.pid > 0 && syscall.Kill(fb.pid, 0) == nil {
		_ = syscall.Kill(fb.pid, syscall.SIGKILL)
	}
}

// call sends one request and waits (bounded by d) for its answer.
func (fb *firefoxBrowser) call(d time.Duration, req map[string]any) (json.RawMessage, error) {
	c := make(chan firefoxAnswer, 1)
	fb.mu.Lock()
	if fb.closed {
		fb.mu.Unlock()
		return nil, errors.New("the firefox driver ended")
	}
	fb.nextID++
	id := fb.nextID
	fb.pending[id] = c
	fb.mu.Unlock()
	req["id"] = id
	line, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := fb.stdin.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("firefox %s: %w", req["op"], err)
	}
	select {
	case a := <-c:
		if a.Error != "" {
			return nil, fmt.Errorf("firefox %s: %s", req["op"], a.Error)
		}
		return a.Value, nil
	case <-time.After(d):
		fb.mu.Lock()
		delete(fb.pending, id)
		fb.mu.Unlock()
		return nil, fmt.Errorf("firefox %s: no answer within %v", req["op"], d)
	}
}

// newTab opens a tab whose console, uncaught errors and dialogs go to log.
func (fb *firefoxBrowser) newTab(t *testing.T, log func(string)) *firefoxTab {
	t.Helper()
	raw, err := fb.call(30*time.Second, map[string]any{"op": "newTab"})
	if err != nil {
		t.Fatalf("open a firefox tab: %v", err)
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		t.Fatalf("open a firefox tab: %s: %v", raw, err)
	}
	fb.mu.Lock()
	fb.logs[id] = log
	fb.mu.Unlock()
	ft := &firefoxTab{fb: fb, id: id}
	t.Cleanup(func() {
		if _, err := fb.call(15*time.Second, map[string]any{"op": "closeTab", "tab": id}); err != nil {
			t.Logf("close firefox tab %s: %v", id, err)
		}
	})
	return ft
}

// firefoxTab is a tab in Firefox: the tabDriver of a Firefox browserTab.
type firefoxTab struct {
	fb *firefoxBrowser
	id string
}

func (ft *firefoxTab) do(d time.Duration, op string, args map[string]any) (json.RawMessage, error) {
	if args == nil {
		args = map[string]any{}
	}
	args["op"], args["tab"] = op, ft.id
	return ft.fb.call(d, args)
}

func (ft *firefoxTab) engine() string { return "firefox" }

func (ft *firefoxTab) evaluate(expr string, d time.Duration) ([]byte, error) {
	raw, err := ft.do(d, "eval", map[string]any{"expr": expr})
	if err != nil {
		return nil, err
	}
	// The driver hands back the page's JSON as a string.
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("firefox eval: result %s: %w", raw, err)
	}
	return []byte(s), nil
}

func (ft *firefoxTab) navigate(url string) error {
	_, err := ft.do(30*time.Second, "navigate", map[string]any{"url": url})
	return err
}

func (ft *firefoxTab) reload() error {
	_, err := ft.do(30*time.Second, "reload", nil)
	return err
}

func (ft *firefoxTab) preload(src string) error {
	_, err := ft.do(10*time.Second, "preload", map[string]any{"src": src})
	return err
}

func (ft *firefoxTab) clickAt(x, y float64) error {
	_, err := ft.do(10*time.Second, "click", map[string]any{"x": x, "y": y})
	return err
}

// press sends key as a real keyboard does (BiDi input actions are
// trusted key events: a cancelled key-down types nothing, as
// flowRawKeyDown asks of Chromium). Of the chromedp options only Shift
// means something here.
func (ft *firefoxTab) press(key string, opts ...chromedp.KeyOption) error {
	var p input.DispatchKeyEventParams
	for _, o := range opts {
		o(&p)
	}
	_, err := ft.do(5*time.Second, "key", map[string]any{"key": key, "shift": int64(p.Modifiers)&int64(chromedp.ModifierShift) != 0})
	return err
}

func (ft *firefoxTab) typeText(s string) error {
	_, err := ft.do(20*time.Second, "type", map[string]any{"text": s})
	return err
}

func (ft *firefoxTab) front() error {
	_, err := ft.do(10*time.Second, "front", nil)
	return err
}

func (ft *firefoxTab) setViewport(w, h int64, mobile bool) error {
	scale := 1
	if mobile {
		scale = 2
	}
	_, err := ft.do(10*time.Second, "viewport", map[string]any{"width": w, "height": h, "mobile": mobile, "scale": scale})
	return err
}

func (ft *firefoxTab) screenshot() ([]byte, error) {
	raw, err := ft.do(30*time.Second, "screenshot", nil)
	if err != nil {
		return nil, err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(s)
}
