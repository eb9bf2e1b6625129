//go:build integration

package e2e

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// The call tests put a real browser on one end and a real SIP phone on the
// other: headless Chromium opens testdata/callpage (a bare Widget-API client,
// not the product widget) and calls baresip agents through Kamailio. The
// browser's fake microphone plays 1000 Hz; the agents play their own tones.
// The page measures what it hears with WebAudio, the agents record what they
// hear, and the test compares frequencies.

const (
	cbWidget = "c0ffee0a11ce4b0b8d1e2f3a4b5c6d7e"
	// cbMicHz is what the browser's microphone plays.
	cbMicHz = 1000
	// Tones of the agents' microphones; bob plays another one, so the page
	// can tell who it hears.
	cbAliceHz = 440
	cbBobHz   = 660
	// cbValerieHz is baresip's built-in sine (valerie plays no file).
	cbValerieHz = 440
	// cbTolerance is how far a measured frequency may be off.
	cbTolerance = 50
	// cbPageFloorDB is the lowest level (dBFS of the FFT peak) that counts as
	// hearing a tone in the page; silence is far below (-100 or -Inf).
	cbPageFloorDB = -60
	// cbRecordFloor is the lowest RMS (of 1.0 full scale) of a recorded
	// window that counts as sound.
	cbRecordFloor = 0.01
	// cbWait bounds each wait for the call or its media to reach a state.
	cbWait = 20 * time.Second
)

func callBrowserConfig(pbx, transport, stack, site string) string {
	return fmt.Sprintf(`sip:
  registrar: %s
  domain: frontdesk.test
  username: frontdesk
  password_env: FD_E2E_PASSWORD
  listen: 127.0.0.1:0
  register_expiry: 120s
  subscribe_expiry: 120s
  trusted_sources: [127.0.0.1]
  transport: %s
calls:
  webrtc_ips: [127.0.0.1] # media with visitors stays on loopback
  candidate_networks: [127.0.0.0/8] # and visitors' ICE candidates on this host are probed
  webrtc_stack: %s
%shttp:
  listen: 127.0.0.1:0
  allowed_origins: [%q]
widgets:
  - id: %s
    type: cards
    name: Calls
    agents:
      - {id: alice, sip: alice, name: Alice, media: [voice, chat]}
      - {id: bob, sip: bob, name: Bob, media: [voice, video]}
      - {id: valerie, sip: valerie, name: Valerie, media: [voice, video]}
`, pbx, transport, stack, loopbackLimits, site, cbWidget)
}

// callBrowserEnv is the test bed, the site serving the call page, and
// Chromium, shared by the gateways of a run.
type callBrowserEnv struct {
	t       *testing.T
	bed     *testbed.Testbed
	site    *httptest.Server
	browser context.Context
}

// cbGateway is one gateway under test with the shared environment.
type cbGateway struct {
	*callBrowserEnv
	gw *gatewayProc
}

// startGateway runs a gateway that reaches the PBX over transport (udp or
// tcp) and waits until it registered and subscribed to the three agents.
func (env *callBrowserEnv) startGateway(t *testing.T, transport string) *cbGateway {
	return env.startGatewayStack(t, transport, "pion")
}

// startGatewayStack is startGateway with calls.webrtc_stack set.
func (env *callBrowserEnv) startGatewayStack(t *testing.T, transport, stack string) *cbGateway {
	t.Helper()
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	cfg := callBrowserConfig(env.bed.Addr(), transport, stack, env.site.URL)
	if stack == "lite" {
		// The lite stack binds the first port of webrtc_ports: one free
		// now, not the default a gateway of another test (or suite) may
		// still hold.
		base := freeUDPPort(t)
		cfg = strings.Replace(cfg, "  webrtc_stack: lite\n", fmt.Sprintf("  webrtc_stack: lite\n  webrtc_ports: %d-%d\n", base, min(base+199, 65535)), 1)
	}
	writeConfig(t, cfgPath, cfg)
	gw := startGateway(t, cfgPath)
	gw.waitHealth("registered, presence and dialog of three agents subscribed", 20*time.Second, func(code int, h map[string]any) bool {
		s, _ := h["sip"].(map[string]any)
		return code == 200 && h["calls_enabled"] == true && s["subscriptions"] == 6.0 && s["active"] == 6.0
	})
	return &cbGateway{callBrowserEnv: env, gw: gw}
}

// cbCheckPrereqs fails (never skips) with what is missing: CI installs it
// all with testbed/install.sh.
func cbCheckPrereqs(t *testing.T) {
	t.Helper()
	var missing []string
	if err := testbed.CheckBinaries(true); err != nil {
		missing = append(missing, err.Error())
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, "chromium not found at "+chromiumPath)
	}
	if _, err := exec.LookPath("sox"); err != nil {
		missing = append(missing, "sox not found")
	}
	for _, m := range []string{"aufile", "sndfile", "vp8", "fakevideo", "g711"} {
		p := "/usr/lib/baresip/modules/" + m + ".so"
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, "baresip module "+p+" not found")
		}
	}
	if len(missing) > 0 {
		t.Fatalf("call test prerequisites missing (run testbed/install.sh):\n  %s", strings.Join(missing, "\n  "))
	}
}

// cbMakeTone writes a sine of hz as a 16-bit WAV file with sox.
func cbMakeTone(t *testing.T, path string, rate, hz, seconds int) string {
	t.Helper()
	out, err := exec.Command("sox", "-n", "-r", strconv.Itoa(rate), "-c", "1", "-b", "16", "-e", "signed-integer",
		path, "synth", strconv.Itoa(seconds), "sine", strconv.Itoa(hz), "vol", "0.5").CombinedOutput()
	if err != nil {
		t.Fatalf("sox: make %d Hz tone: %v\n%s", hz, err, out)
	}
	return path
}

func startCallBrowserEnv(t *testing.T) *callBrowserEnv {
	t.Helper()
	cbCheckPrereqs(t)
	env := &callBrowserEnv{t: t}
	tones := t.TempDir()
	// Long enough for every call of a run: aufile does not loop, and
	// Chromium loops its file.
	mic := cbMakeTone(t, filepath.Join(tones, "mic-1000.wav"), 48000, cbMicHz, 60)
	aliceTone := cbMakeTone(t, filepath.Join(tones, "alice-440.wav"), 8000, cbAliceHz, 60)
	bobTone := cbMakeTone(t, filepath.Join(tones, "bob-660.wav"), 8000, cbBobHz, 60)

	env.site = httptest.NewServer(http.FileServer(http.Dir(filepath.Join("testdata", "callpage"))))
	t.Cleanup(env.site.Close)

	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	bed, err := testbed.Start(ctxT(t, 60*time.Second), testbed.Options{
		Dir:   t.TempDir(),
		Users: []testbed.User{{Name: "frontdesk", Password: gwPassword}},
		Agents: []testbed.AgentSpec{
			{Name: "alice", Password: "alice-pw", AnswerCalls: true, ToneFile: aliceTone, Record: true},
			// bob's phone has no video; the gateway's config says he takes it.
			{Name: "bob", Password: "bob-pw", AnswerCalls: true, ToneFile: bobTone, Record: true},
			{Name: "valerie", Password: "valerie-pw", AnswerCalls: true, Video: true, Record: true},
		},
		Log: log,
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	env.bed = bed
	t.Cleanup(func() {
		if err := bed.Close(); err != nil {
			t.Logf("close test bed: %v", err)
		}
		if t.Failed() {
			for _, a := range bed.Agents() {
				t.Logf("--- tail of %s ---\n%s", a.LogPath(), cbFileTail(a.LogPath(), 60))
			}
		}
	})

	opts := chromiumOptions(t.TempDir(),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// The fake microphone plays the tone file.
		chromedp.Flag("use-file-for-fake-audio-capture", mic))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	cbFirstRun(t, browser, "start chromium")
	env.browser = browser
	return env
}

// cbPage is one tab with the call page, connected to the gateway.
type cbPage struct {
	t   *testing.T
	ctx context.Context
	gw  *gatewayProc
}

// openPage opens the call page in a new tab and runs Start; it returns the
// agents' Info messages by id.
// waitOnline waits (bounded) until the gateway shows every agent in ids as
// available: the PBX reports a call's end a moment after it ended, and the
// next call must not find the agent still busy.
func (env *cbGateway) waitOnline(t *testing.T, ids ...string) {
	t.Helper()
	v := env.gw.visit(env.site.URL)
	defer v.conn.Close()
	_, infos := v.start(cbWidget)
	for _, id := range ids {
		if infos[id]["presence"] != "online" {
			v.waitFor(id+" available", 15*time.Second, infoOf(id, "online"))
		}
	}
}

func (env *cbGateway) openPage(t *testing.T) (*cbPage, map[string]map[string]any) {
	t.Helper()
	env.waitOnline(t, "alice", "bob", "valerie")
	tab, cancel := chromedp.NewContext(env.browser)
	t.Cleanup(func() {
		// Close the tab, bounded: closing ends the websocket and any call.
		done := make(chan struct{})
		go func() { cancel(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Log("closing the tab took more than 10s")
		}
	})
	p := &cbPage{t: t, ctx: tab, gw: env.gw}
	// The first run on a tab opens it and must not carry a timeout (the tab
	// lives as long as that context); it is bounded from outside.
	cbFirstRun(t, tab, "open a tab")
	ctx, cancelNav := context.WithTimeout(tab, 20*time.Second)
	defer cancelNav()
	if err := chromedp.Do(ctx, chromedp.Navigate(env.site.URL+"/index.html"), chromedp.WaitReady("#log")); err != nil {
		t.Fatalf("open the call page: %v", err)
	}
	ws := "ws" + strings.TrimPrefix(env.gw.httpURL, "http") + "/ws"
	var started struct {
		Infos map[string]map[string]any `json:"infos"`
	}
	p.eval(fmt.Sprintf("fd.connect(%q, %q)", ws, cbWidget), &started)
	return p, started.Infos
}

// eval evaluates expr in the page, awaiting a promise, bounded.
func (p *cbPage) eval(expr string, out any) {
	p.t.Helper()
	if err := p.evalErr(expr, out); err != nil {
		p.t.Fatalf("page: %s: %v", expr, err)
	}
}

func (p *cbPage) evalErr(expr string, out any) error {
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// cbFirstRun makes the first chromedp run on ctx (starting the browser or
// opening the tab), bounded by a timer: its context must not have a timeout.
func cbFirstRun(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- chromedp.Do(ctx) }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: not done within 30s", what)
	}
}

// cbPageStatus mirrors fd.status() of the call page.
type cbPageStatus struct {
	State                string           `json:"state"`
	Reason               string           `json:"reason"`
	PCState              string           `json:"pcState"`
	Answer               string           `json:"answer"`
	RemoteDescriptionSet bool             `json:"remoteDescriptionSet"`
	Errors               []string         `json:"errors"`
	CallInfos            []map[string]any `json:"callInfos"`
	Listening            bool             `json:"listening"`
}

func (p *cbPage) status() cbPageStatus {
	p.t.Helper()
	var s cbPageStatus
	p.eval("fd.status()", &s)
	return s
}

// waitStatus polls the page until cond holds; it fails at once when the call
// ends while waiting for something else.
func (p *cbPage) waitStatus(what string, cond func(s cbPageStatus) bool) cbPageStatus {
	p.t.Helper()
	deadline := time.Now().Add(cbWait)
	for {
		s := p.status()
		if cond(s) {
			return s
		}
		if s.State == "terminated" {
			p.t.Fatalf("%s: the call ended instead (reason %q); CallInfos %v; page errors %v%s", what, s.Reason, s.CallInfos, s.Errors, p.gatewaySays())
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: not reached within %v; page status %+v", what, cbWait, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gatewaySays lists what the gateway logged about refusing or ending calls,
// for failure messages.
func (p *cbPage) gatewaySays() string {
	var lines []string
	for _, m := range p.gw.logLines() {
		switch m["msg"] {
		case "call not placed", "PBX SDP unusable", "ending call", "SIP leg ended", "video from the PBX not usable":
			delete(m, "time")
			lines = append(lines, fmt.Sprintf("\n  %v", m))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	if len(lines) > 6 {
		lines = lines[len(lines)-6:]
	}
	return "\nlast gateway log lines about calls:" + strings.Join(lines, "")
}

// call places a call from the page and waits until it is connected and the
// browser's peer connection is up.
func (p *cbPage) call(dest string, video bool) cbPageStatus {
	p.t.Helper()
	p.eval(fmt.Sprintf("fd.call(%q, %v)", dest, video), nil)
	s := p.waitStatus("CallInfo connected", func(s cbPageStatus) bool { return s.State == "connected" && s.RemoteDescriptionSet })
	if len(s.Errors) > 0 {
		p.t.Fatalf("page errors: %v", s.Errors)
	}
	// Connected carries the answer (no early media from baresip).
	var connected map[string]any
	for _, ci := range s.CallInfos {
		if ci["state"] == "connected" {
			connected = ci
		}
	}
	if connected == nil || connected["cmd"] != "SELECT" || connected["sdp"] != s.Answer || s.Answer == "" {
		p.t.Fatalf("connected without the SDP answer: CallInfos %v", s.CallInfos)
	}
	return p.waitStatus("WebRTC connection up", func(s cbPageStatus) bool { return s.PCState == "connected" })
}

type cbHearing struct {
	Freq  float64 `json:"freq"`
	DB    float64 `json:"db"`
	BinHz float64 `json:"binHz"`
}

// waitHears polls the page's analyser until ten readings in a row, 100 ms
// apart, are at hz and above the floor. It returns the median frequency.
func (p *cbPage) waitHears(hz float64) (float64, float64) {
	p.t.Helper()
	deadline := time.Now().Add(cbWait)
	var last []*cbHearing
	for {
		last = nil
		p.eval("fd.listenFor(10, 100)", &last)
		var freqs, dbs []float64
		ok := 0
		for _, h := range last {
			if h == nil {
				continue
			}
			freqs, dbs = append(freqs, h.Freq), append(dbs, h.DB)
			if math.Abs(h.Freq-hz) <= cbTolerance && h.DB > cbPageFloorDB {
				ok++
			}
		}
		if ok == len(last) && ok > 0 {
			slices.Sort(freqs)
			slices.Sort(dbs)
			return freqs[len(freqs)/2], dbs[len(dbs)/2]
		}
		if s := p.status(); s.State == "terminated" {
			p.t.Fatalf("waiting to hear %v Hz: the call ended (reason %q)%s", hz, s.Reason, p.gatewaySays())
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, h := range last {
				if h == nil {
					b.WriteString(" (no remote audio)")
					continue
				}
				fmt.Fprintf(&b, " %.0fHz@%.0fdB", h.Freq, h.DB)
			}
			p.t.Fatalf("the page does not hear %v Hz (±%d, above %d dB) within %v; last readings:%s", hz, cbTolerance, cbPageFloorDB, cbWait, b.String())
		}
	}
}

// waitTerminated waits for CallInfo terminated and checks its reason.
func (p *cbPage) waitTerminated(reason string) {
	p.t.Helper()
	deadline := time.Now().Add(cbWait)
	for {
		s := p.status()
		if s.State == "terminated" {
			if s.Reason != reason {
				p.t.Fatalf("terminated with reason %q, want %q; CallInfos %v", s.Reason, reason, s.CallInfos)
			}
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no CallInfo terminated within %v; status %+v", cbWait, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitError waits for an Error message with code from the gateway.
func (p *cbPage) waitError(code string) {
	p.t.Helper()
	deadline := time.Now().Add(cbWait)
	for {
		var msgs []map[string]any
		p.eval("fd.msgs", &msgs)
		for _, m := range msgs {
			if m["mt"] == "Error" {
				if m["code"] != code {
					p.t.Fatalf("got Error %v, want code %q", m, code)
				}
				return
			}
			if m["mt"] == "CallInfo" {
				p.t.Fatalf("got %v, want Error %q before anything reaches the PBX", m, code)
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no Error %q within %v", code, cbWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cbInbound is one kind of fd.inbound(): the inbound-rtp statistics.
type cbInbound struct {
	PacketsReceived float64 `json:"packetsReceived"`
	BytesReceived   float64 `json:"bytesReceived"`
	FramesDecoded   float64 `json:"framesDecoded"`
	FrameWidth      float64 `json:"frameWidth"`
}

func (p *cbPage) inbound() map[string]cbInbound {
	p.t.Helper()
	var out map[string]cbInbound
	p.eval("fd.inbound()", &out)
	return out
}

// cbMline is one m= section of an SDP: its kind, port and direction.
type cbMline struct {
	kind string
	port int
	dir  string
}

func cbParseMlines(sdp string) []cbMline {
	var out []cbMline
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "m="):
			f := strings.Fields(line[2:])
			m := cbMline{dir: "sendrecv"}
			if len(f) > 1 {
				m.kind = f[0]
				m.port, _ = strconv.Atoi(f[1])
			}
			out = append(out, m)
		case len(out) > 0 && (line == "a=sendrecv" || line == "a=sendonly" || line == "a=recvonly" || line == "a=inactive"):
			out[len(out)-1].dir = line[2:]
		}
	}
	return out
}

func cbFindMline(ms []cbMline, kind string) *cbMline {
	for i := range ms {
		if ms[i].kind == kind {
			return &ms[i]
		}
	}
	return nil
}

// cbWaitAgentIdle waits until baresip reports no active call.
func cbWaitAgentIdle(t *testing.T, a *testbed.Agent) {
	t.Helper()
	deadline := time.Now().Add(cbWait)
	for {
		out, err := a.Command(ctxT(t, 10*time.Second), "listcalls", "")
		if err != nil {
			t.Fatalf("%s: listcalls: %v", a.Name(), err)
		}
		if cbNoCalls(out) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still has a call %v after the hangup:\n%s", a.Name(), cbWait, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cbNoCalls reads baresip's listcalls output: "--- No active calls ---"
// or "--- Active calls (N) ---", where N may be 0 while a call closes.
func cbNoCalls(out string) bool {
	return strings.Contains(out, "No active calls") || strings.Contains(out, "Active calls (0)")
}

// cbAgentActiveCalls is the number of calls baresip has now.
func cbAgentActiveCalls(t *testing.T, a *testbed.Agent) int {
	t.Helper()
	out, err := a.Command(ctxT(t, 10*time.Second), "listcalls", "")
	if err != nil {
		t.Fatalf("%s: listcalls: %v", a.Name(), err)
	}
	if cbNoCalls(out) {
		return 0
	}
	var n int
	if i := strings.Index(out, "Active calls ("); i >= 0 {
		_, _ = fmt.Sscanf(out[i:], "Active calls (%d)", &n)
	}
	if n == 0 {
		t.Fatalf("%s: unexpected listcalls output %q", a.Name(), out)
	}
	return n
}

// metric reads one gauge from the gateway's /metrics.
func (env *cbGateway) metric(t *testing.T, name string) float64 {
	t.Helper()
	body := env.gw.metrics(t)
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatalf("/metrics %s: %v", name, err)
			}
			return v
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// waitNoCalls waits until the gateway reports no running call.
func (env *cbGateway) waitNoCalls(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(cbWait)
	for {
		n := env.metric(t, "frontdesk_calls")
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("frontdesk_calls is %v, %v after the call ended", n, cbWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cbNewRecording waits until the agent has a recording that was not among
// before, and returns its path.
func cbNewRecording(t *testing.T, a *testbed.Agent, before []string) string {
	t.Helper()
	deadline := time.Now().Add(cbWait)
	for {
		all, err := a.Recordings()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range all {
			if !slices.Contains(before, p) {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no new recording within %v (have %v)", a.Name(), cbWait, all)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func cbRecordings(t *testing.T, a *testbed.Agent) []string {
	t.Helper()
	all, err := a.Recordings()
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// cbToneReport is what a recording holds: per window of half a second, the
// strongest frequency and the level.
type cbToneReport struct {
	rate    int
	windows []cbToneWindow
}

type cbToneWindow struct {
	freq   float64 // cbStrongest frequency
	rms    float64 // of full scale 1.0
	purity float64 // share of the window's energy at freq (1 for a pure sine)
}

// matching counts the windows with sound whose strongest frequency is hz,
// and those with sound at all.
func (r cbToneReport) matching(hz float64) (match, sound int) {
	for _, w := range r.windows {
		if w.rms < cbRecordFloor {
			continue
		}
		sound++
		if math.Abs(w.freq-hz) <= cbTolerance {
			match++
		}
	}
	return match, sound
}

func (r cbToneReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d Hz, %d windows of 0.5 s:", r.rate, len(r.windows))
	// Runs of windows with the same strongest frequency (or silence).
	for i := 0; i < len(r.windows); {
		w, j := r.windows[i], i+1
		silent := w.rms < cbRecordFloor
		for j < len(r.windows) && (r.windows[j].rms < cbRecordFloor) == silent && (silent || r.windows[j].freq == w.freq) {
			j++
		}
		if silent {
			fmt.Fprintf(&b, " silence×%d", j-i)
		} else {
			fmt.Fprintf(&b, " %.0fHz×%d(rms %.3f, purity %.2f)", w.freq, j-i, w.rms, w.purity)
		}
		i = j
	}
	return b.String()
}

// median is the median strongest frequency of the windows at hz.
func (r cbToneReport) median(hz float64) float64 {
	var fs []float64
	for _, w := range r.windows {
		if w.rms >= cbRecordFloor && math.Abs(w.freq-hz) <= cbTolerance {
			fs = append(fs, w.freq)
		}
	}
	if len(fs) == 0 {
		return 0
	}
	slices.Sort(fs)
	return fs[len(fs)/2]
}

// cbAnalyseWAV reads a 16-bit PCM WAV file (the first channel) and finds the
// strongest frequency of each half second with a Goertzel scan in 5 Hz
// steps. A data chunk whose size is not final yet (baresip still writing)
// is read to the end of the file.
func cbAnalyseWAV(path string) (cbToneReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return cbToneReport{}, err
	}
	defer f.Close()
	var riff [12]byte
	if _, err := io.ReadFull(f, riff[:]); err != nil {
		return cbToneReport{}, fmt.Errorf("%s: header: %w", path, err)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return cbToneReport{}, fmt.Errorf("%s: not a WAV file", path)
	}
	var rate, channels, bits int
	var data []byte
	for data == nil {
		var hdr [8]byte
		if _, err := io.ReadFull(f, hdr[:]); err != nil {
			return cbToneReport{}, fmt.Errorf("%s: no data chunk: %w", path, err)
		}
		size := int64(binary.LittleEndian.Uint32(hdr[4:]))
		switch string(hdr[0:4]) {
		case "fmt ":
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(f, b); err != nil || size < 16 {
				return cbToneReport{}, fmt.Errorf("%s: fmt chunk: %v", path, err)
			}
			if format := binary.LittleEndian.Uint16(b[0:]); format != 1 && format != 0xfffe {
				return cbToneReport{}, fmt.Errorf("%s: WAV format %d, want PCM", path, format)
			}
			channels = int(binary.LittleEndian.Uint16(b[2:]))
			rate = int(binary.LittleEndian.Uint32(b[4:]))
			bits = int(binary.LittleEndian.Uint16(b[14:]))
		case "data":
			if data, err = io.ReadAll(f); err != nil {
				return cbToneReport{}, err
			}
			if size > 0 && size < int64(len(data)) {
				data = data[:size]
			}
		default:
			if _, err := f.Seek(size+size%2, io.SeekCurrent); err != nil {
				return cbToneReport{}, err
			}
		}
	}
	if bits != 16 || channels < 1 || rate <= 0 {
		return cbToneReport{}, fmt.Errorf("%s: %d-bit, %d channels, %d Hz; want 16-bit PCM", path, bits, channels, rate)
	}
	frame := 2 * channels
	samples := make([]float64, len(data)/frame)
	for i := range samples {
		samples[i] = float64(int16(binary.LittleEndian.Uint16(data[i*frame:]))) / 32768
	}
	rep := cbToneReport{rate: rate}
	n := rate / 2
	for start := 0; start+n <= len(samples); start += n {
		rep.windows = append(rep.windows, cbStrongest(samples[start:start+n], rate))
	}
	return rep, nil
}

// cbStrongest scans 100 Hz to just under Nyquist with Goertzel filters.
func cbStrongest(x []float64, rate int) cbToneWindow {
	var energy float64
	for _, v := range x {
		energy += v * v
	}
	w := cbToneWindow{rms: math.Sqrt(energy / float64(len(x)))}
	if energy == 0 {
		return w
	}
	best := 0.0
	for hz := 100.0; hz < float64(rate)/2-100; hz += 5 {
		coeff := 2 * math.Cos(2*math.Pi*hz/float64(rate))
		var s1, s2 float64
		for _, v := range x {
			s1, s2 = v+coeff*s1-s2, s1
		}
		power := s1*s1 + s2*s2 - coeff*s1*s2
		if power > best {
			best, w.freq = power, hz
		}
	}
	// A sine of amplitude A gives power (A·N/2)² and energy N·A²/2.
	w.purity = 2 * best / (float64(len(x)) * energy)
	return w
}

// cbWaitRecordingHears waits, while the call runs, until the agent's recording
// holds at least two seconds of hz.
func cbWaitRecordingHears(t *testing.T, a *testbed.Agent, path string, hz float64) {
	t.Helper()
	deadline := time.Now().Add(cbWait)
	for {
		rep, err := cbAnalyseWAV(path)
		if err == nil {
			if match, _ := rep.matching(hz); match >= 4 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not hear %v Hz within %v: %s (err %v)", a.Name(), hz, cbWait, rep, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cbCheckRecording analyses a finished recording: it must hold at least two
// seconds of hz, and hz must be the strongest frequency of nearly all of
// the windows with sound (the first and last may be cut).
func cbCheckRecording(t *testing.T, a *testbed.Agent, path string, hz float64) float64 {
	t.Helper()
	rep, err := cbAnalyseWAV(path)
	if err != nil {
		t.Fatalf("%s's recording: %v", a.Name(), err)
	}
	match, sound := rep.matching(hz)
	if match < 4 || match < sound-2 {
		t.Fatalf("%s's recording %s: %d of %d windows with sound are at %v Hz; %s", a.Name(), filepath.Base(path), match, sound, hz, rep)
	}
	t.Logf("%s heard %.0f Hz (median of %d of %d windows with sound; %s)", a.Name(), rep.median(hz), match, sound, rep)
	return rep.median(hz)
}

func cbFileTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	parts := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// TestCallBrowserEndToEnd: a visitor in Chromium calls baresip agents
// through the gateway and Kamailio. Audio crosses both ways (checked by
// frequency at each end), either side can hang up, and video calls work
// with a phone that takes video and fall back to audio with one that does
// not.
//
// It runs once per SIP transport toward the PBX: UDP (the default) and TCP.
func TestCallBrowserEndToEnd(t *testing.T) {
	shared := startCallBrowserEnv(t)
	for _, transport := range []string{"udp", "tcp"} {
		t.Run("sip over "+transport, func(t *testing.T) {
			testCallsThrough(t, shared.startGateway(t, transport))
		})
	}
	// Voice calls on the shared ICE-lite socket; video calls stay on pion.
	t.Run("sip over udp, webrtc_stack lite", func(t *testing.T) {
		testCallsThrough(t, shared.startGatewayStack(t, "udp", "lite"))
	})
}

func testCallsThrough(t *testing.T, env *cbGateway) {
	alice, bob, valerie := env.bed.Agent("alice"), env.bed.Agent("bob"), env.bed.Agent("valerie")

	t.Run("audio both ways, visitor hangs up", func(t *testing.T) {
		page, infos := env.openPage(t)
		if infos["alice"]["presence"] != "online" {
			t.Fatalf("alice's Info = %v, want online", infos["alice"])
		}
		before := cbRecordings(t, alice)
		s := page.call("alice", false)
		audio := cbFindMline(cbParseMlines(s.Answer), "audio")
		if audio == nil || audio.port == 0 || audio.dir != "sendrecv" {
			t.Fatalf("answer has no active audio m-line:\n%s", s.Answer)
		}
		if n := cbAgentActiveCalls(t, alice); n != 1 {
			t.Fatalf("alice has %d calls, want 1", n)
		}
		freq, db := page.waitHears(cbAliceHz)
		t.Logf("the page hears %.1f Hz at %.1f dB (alice plays %d Hz)", freq, db, cbAliceHz)

		rec := cbNewRecording(t, alice, before)
		cbWaitRecordingHears(t, alice, rec, cbMicHz)

		// baresip's SIP trace (-s) shows each request it receives; a BYE
		// for alice is addressed to her contact, sip:alice-….
		byes := strings.Count(cbReadFile(t, alice.LogPath()), "BYE sip:alice")
		page.eval("fd.hangup()", nil)
		page.waitTerminated("ended-by-visitor")
		cbWaitAgentIdle(t, alice)
		env.waitNoCalls(t)
		for deadline := time.Now().Add(cbWait); strings.Count(cbReadFile(t, alice.LogPath()), "BYE sip:alice") <= byes; {
			if time.Now().After(deadline) {
				t.Fatalf("alice's SIP trace shows no new BYE %v after the visitor hung up", cbWait)
			}
			time.Sleep(100 * time.Millisecond)
		}
		cbCheckRecording(t, alice, rec, cbMicHz)
	})

	t.Run("agent hangs up", func(t *testing.T) {
		page, _ := env.openPage(t)
		page.call("alice", false)
		page.waitHears(cbAliceHz)
		if err := alice.Hangup(ctxT(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
		page.waitTerminated("ended-by-agent")
		env.waitNoCalls(t)
		cbWaitAgentIdle(t, alice)
	})

	t.Run("video with a video phone", func(t *testing.T) {
		page, infos := env.openPage(t)
		if media, _ := infos["valerie"]["media"].([]any); !slices.Contains(media, any("video")) {
			t.Fatalf("valerie's Info = %v, want media with video", infos["valerie"])
		}
		var offer string
		before := cbRecordings(t, valerie)
		s := page.call("valerie", true)
		page.eval("fd.offer", &offer)
		if v := cbFindMline(cbParseMlines(offer), "video"); v == nil || v.port == 0 {
			t.Fatalf("the page offered no video:\n%s", offer)
		}
		ms := cbParseMlines(s.Answer)
		video := cbFindMline(ms, "video")
		if video == nil || video.port == 0 || video.dir != "sendrecv" {
			t.Fatalf("the answer has no sendrecv video m-line (valerie's phone sends and takes video):\n%s", s.Answer)
		}
		t.Logf("answer m-lines: %+v", ms)
		if !strings.Contains(strings.ToUpper(s.Answer), "VP8/90000") {
			t.Errorf("the answer's video is not VP8 (baresip has only vp8):\n%s", s.Answer)
		}
		deadline := time.Now().Add(cbWait)
		var in map[string]cbInbound
		for {
			in = page.inbound()
			// Ten frames: video keeps flowing, not just a first key frame.
			if in["video"].FramesDecoded >= 10 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page decoded fewer than 10 video frames within %v; inbound-rtp %+v", cbWait, in)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("the page decoded video: %+v", in["video"])
		freq, db := page.waitHears(cbValerieHz)
		t.Logf("the page hears %.1f Hz at %.1f dB in the video call", freq, db)
		rec := cbNewRecording(t, valerie, before)
		cbWaitRecordingHears(t, valerie, rec, cbMicHz)
		page.eval("fd.hangup()", nil)
		page.waitTerminated("ended-by-visitor")
		cbWaitAgentIdle(t, valerie)
		env.waitNoCalls(t)
		cbCheckRecording(t, valerie, rec, cbMicHz)
	})

	t.Run("video to an agent without video", func(t *testing.T) {
		page, _ := env.openPage(t)
		page.eval(`fd.createCallOnly("alice", true)`, nil)
		page.waitError("medium-not-allowed")
		if n := cbAgentActiveCalls(t, alice); n != 0 {
			t.Fatalf("alice has %d calls; nothing should have reached her", n)
		}
		if n := env.metric(t, "frontdesk_calls"); n != 0 {
			t.Fatalf("frontdesk_calls = %v after a refused CreateCall", n)
		}
		// The session is still usable: a voice call to her goes through.
		page.call("alice", false)
		page.waitHears(cbAliceHz)
		page.eval("fd.hangup()", nil)
		page.waitTerminated("ended-by-visitor")
		env.waitNoCalls(t)
	})

	t.Run("video to a phone without video falls back to audio", func(t *testing.T) {
		page, _ := env.openPage(t)
		before := cbRecordings(t, bob)
		s := page.call("bob", true)
		ms := cbParseMlines(s.Answer)
		if a := cbFindMline(ms, "audio"); a == nil || a.port == 0 || a.dir != "sendrecv" {
			t.Fatalf("the answer has no active audio m-line:\n%s", s.Answer)
		}
		if v := cbFindMline(ms, "video"); v != nil && v.port != 0 && v.dir != "inactive" {
			t.Fatalf("bob's phone has no video, yet the answer's video m-line is active (%+v):\n%s", *v, s.Answer)
		}
		t.Logf("answer m-lines: %+v", ms)
		freq, db := page.waitHears(cbBobHz)
		t.Logf("the page hears %.1f Hz at %.1f dB from bob (plays %d Hz)", freq, db, cbBobHz)
		rec := cbNewRecording(t, bob, before)
		cbWaitRecordingHears(t, bob, rec, cbMicHz)
		if in := page.inbound(); in["video"].FramesDecoded > 0 {
			t.Errorf("video frames decoded from a phone without video: %+v", in)
		}
		page.eval("fd.hangup()", nil)
		page.waitTerminated("ended-by-visitor")
		cbWaitAgentIdle(t, bob)
		env.waitNoCalls(t)
		cbCheckRecording(t, bob, rec, cbMicHz)
	})
}

func cbReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}
