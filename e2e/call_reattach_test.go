//go:build integration

package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// The re-attach tests call a baresip agent through the product widget in
// Chromium and move the visitor to another page of the site, and reload
// it, in the middle of the call: the gateway keeps the SIP leg for
// calls.reattach_grace and the next page takes the call back. The browser's
// microphone plays 1000 Hz, alice plays 440 Hz; the page measures what it
// hears with WebAudio, alice records what she hears.

const (
	raWidget = "5e55a0d1ca114e4f9b1a0c2d3e4f5a6b"
	// raGrace is calls.reattach_grace: long enough for a page to come back
	// on a busy machine, short enough to wait for its end.
	raGrace = "5s"
)

func reattachConfig(pbx, site, moreAgents string) string {
	return gatewayHeadWith(pbx, site, "  reattach_grace: "+raGrace+"\n", "") + fmt.Sprintf(`widgets:
  - id: %s
    type: cards
    name: Our team
    agents:
      - {id: alice, sip: alice, name: Alice Adams, media: [voice]}
%s`, raWidget, moreAgents)
}

// raHoldMicJS, run in every document of the tab, holds getUserMedia while
// sessionStorage has ra-hold (until window.raRelease()): the page stays
// "Reconnecting…" for its screenshot.
const raHoldMicJS = `(() => {
  if (!sessionStorage.getItem('ra-hold') || !navigator.mediaDevices) return;
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  let release;
  const held = new Promise((r) => { release = r; });
  window.raRelease = () => { sessionStorage.removeItem('ra-hold'); release(); return true; };
  navigator.mediaDevices.getUserMedia = (c) => held.then(() => gum(c));
})()`

// raHearJS returns the strongest frequency the widget's call plays now
// and its level (dBFS), or null before it plays: WebAudio on the stream of
// the widget's own media element.
const raHearJS = `(() => {
  const v = fd(%q) && fd(%q).querySelector('video.rv');
  const s = v && v.srcObject;
  if (!s || !s.getAudioTracks().length || v.paused) return null;
  if (window.raStream !== s) {
    const ctx = new AudioContext({sampleRate: 48000});
    const an = ctx.createAnalyser();
    an.fftSize = 8192;
    an.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(s).connect(an);
    ctx.resume();
    Object.assign(window, {raStream: s, raCtx: ctx, raAn: an});
  }
  const bins = new Float32Array(raAn.frequencyBinCount);
  raAn.getFloatFrequencyData(bins);
  let best = 4;
  for (let i = 4; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  return {freq: best * raCtx.sampleRate / raAn.fftSize, db: bins[best]};
})()`

type raEnv struct {
	*browserEnv
	alice *testbed.Agent
	// tones holds the tone files; extra agents of a test play theirs from it.
	tones string
}

func startReattachEnv(t *testing.T) *raEnv {
	t.Helper()
	return startReattachEnvWith(t, nil, "")
}

// startReattachEnvWith is startReattachEnv with more agents on the PBX,
// made by extra from the tone directory, and widgetAgents, lines of the
// widget's agents after alice (each one subscribed to).
func startReattachEnvWith(t *testing.T, extra func(tones string) []testbed.AgentSpec, widgetAgents string) *raEnv {
	t.Helper()
	cbCheckPrereqs(t)
	env := &browserEnv{t: t}
	tones := t.TempDir()
	mic := cbMakeTone(t, filepath.Join(tones, "mic-1000.wav"), 48000, cbMicHz, 120)
	aliceTone := cbMakeTone(t, filepath.Join(tones, "alice-440.wav"), 8000, cbAliceHz, 120)
	env.site = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		title, ok := map[string]string{"/shop": "Kettles", "/about": "About us", "/shop-cut": "Kettles"}[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		gw := env.gw.httpURL
		if r.URL.Path == "/shop-cut" {
			gw = env.cut.url() // through a proxy the test can cut
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>%s</title></head><body>
<h1>%s</h1><p><a href="/shop">Shop</a> <a href="/about">About us</a></p><div data-frontdesk-cards="%s"></div>
<script async src="%s/frontdesk.js" data-frontdesk-widget="%s" data-frontdesk-gateway="%s"></script></body></html>`, title, title, raWidget, gw, raWidget, gw)
	}))
	t.Cleanup(env.site.Close)

	var more []testbed.AgentSpec
	if extra != nil {
		more = extra(tones)
	}
	bed := startAgentsBed(t, append([]testbed.AgentSpec{{Name: "alice", Password: "alice-pw", Presence: "online", AnswerCalls: true, ToneFile: aliceTone, Record: true}}, more...))
	env.bed = bed
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	env.cfgPath = filepath.Join(t.TempDir(), "frontdesk.yaml")
	env.writeConfig(reattachConfig(bed.Addr(), env.site.URL, widgetAgents))
	subs := 2.0 * float64(1+strings.Count(widgetAgents, "\n"))
	env.gw = startGateway(t, env.cfgPath)
	env.gw.waitHealth("registered, alice subscribed", 20*time.Second, func(code int, h map[string]any) bool {
		s, _ := h["sip"].(map[string]any)
		return code == 200 && h["calls_enabled"] == true && s["subscriptions"] == subs && s["active"] == subs
	})
	opts := chromiumOptions(t.TempDir(), chromedp.WindowSize(1280, 800),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("use-file-for-fake-audio-capture", mic))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	env.alloc = alloc
	env.startBrowser()
	var alice *testbed.Agent
	for _, a := range bed.Agents() {
		if a.Name() == "alice" {
			alice = a
		}
	}
	return &raEnv{browserEnv: env, alice: alice, tones: tones}
}

// sipCounts counts the INVITEs and BYEs alice received (re-INVITEs too).
func (env *raEnv) sipCounts() (invites, byes int) {
	log := flowAgentLog(env.alice)
	return strings.Count(log, "\nINVITE sip:"), strings.Count(log, "\nBYE sip:alice")
}

// placeCall opens page and calls alice through her card, as a visitor.
func (env *raEnv) placeCall(t *testing.T, tb *browserTab, page string) {
	t.Helper()
	tb.open(env.browserEnv, page, raWidget)
	tb.waitJS("alice available", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'online'`, raWidget, cardSel("alice")), flowWait)
	tb.clickAction(raWidget, "alice", "call")
	if tb.hostAttr(raWidget, "view") != "call" {
		tb.waitAttr(raWidget, "view", "name")
		tb.typeText("Vera Visitor")
		tb.press(kb.Enter)
	}
	tb.flowWaitCall(raWidget, "connected")
}

// waitPageHears waits until the page hears hz in three readings in a row.
func (env *raEnv) waitPageHears(t *testing.T, tb *browserTab, hz float64) {
	t.Helper()
	type reading struct {
		Freq float64 `json:"freq"`
		DB   float64 `json:"db"`
	}
	deadline := time.Now().Add(cbWait)
	inRow := 0
	var last *reading
	for inRow < 3 {
		last = nil
		tb.eval(fmt.Sprintf(raHearJS, raWidget, raWidget), &last)
		if last != nil && last.DB > cbPageFloorDB && math.Abs(last.Freq-hz) <= cbTolerance {
			inRow++
		} else {
			inRow = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page does not hear %v Hz within %v (last %+v); call %s", hz, cbWait, last, tb.hostAttr(raWidget, "call"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the page hears %.0f Hz at %.0f dBFS", last.Freq, last.DB)
}

// waitAliceHearsMore waits until alice's recording holds four more windows
// of hz than the count given, and returns the new count.
func (env *raEnv) waitAliceHearsMore(t *testing.T, path string, hz float64, before int) int {
	t.Helper()
	deadline := time.Now().Add(cbWait)
	for {
		rep, err := cbAnalyseWAV(path)
		if err == nil {
			if match, _ := rep.matching(hz); match >= before+4 {
				return match
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice does not hear %v Hz again within %v: %s (err %v)", hz, cbWait, rep, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestCallSurvivesNavigationAndReload: a call placed on one page of the
// site goes on when the visitor opens another page and when they reload:
// the new page shows "Reconnecting…", takes the call back, and audio flows
// both ways again, while the PBX sees neither a BYE nor a new INVITE, and
// the page never asks "Leave site?". Hanging up on the last page ends the
// call with one BYE.
func TestCallSurvivesNavigationAndReload(t *testing.T) {
	env := startReattachEnv(t)
	tb := env.newTab(t)
	tb.preload("hold the microphone on request", raHoldMicJS)
	before := cbRecordings(t, env.alice)
	env.placeCall(t, tb, "/shop")
	rec := cbNewRecording(t, env.alice, before)
	env.waitPageHears(t, tb, cbAliceHz)
	heard := env.waitAliceHearsMore(t, rec, cbMicHz, 0)
	invites, byes := env.sipCounts()
	if invites != 1 || byes != 0 {
		t.Fatalf("before moving: alice got %d INVITEs and %d BYEs, want 1 and 0", invites, byes)
	}

	moves := []struct {
		name string
		move func()
	}{
		{"another page of the site", func() { tb.open(env.browserEnv, "/about", raWidget) }},
		{"a reload", func() {
			tb.eval(`sessionStorage.setItem('ra-hold', '1')`, nil)
			tb.reload()
			tb.waitAttr(raWidget, "call", "reconnecting")
			var words string
			tb.eval(fmt.Sprintf(`fd(%q).querySelector('.callv .cst').textContent`, raWidget), &words)
			if words != "Reconnecting…" {
				t.Errorf("the reloaded page says %q, want Reconnecting…", words)
			}
			tb.screenshots("call-reconnecting")
			tb.eval(`window.raRelease()`, nil)
		}},
	}
	for i, m := range moves {
		tb.eval(`window.raMark = 1`, nil)
		m.move()
		var mark int
		tb.eval(`window.raMark || 0`, &mark)
		if mark != 0 {
			t.Fatalf("%s: the page did not change", m.name)
		}
		tb.flowWaitCall(raWidget, "connected")
		env.flowWaitMetric(t, "frontdesk_calls_reattached_total", float64(i+1))
		env.waitPageHears(t, tb, cbAliceHz)
		heard = env.waitAliceHearsMore(t, rec, cbMicHz, heard)
		if inv, bye := env.sipCounts(); inv != invites || bye != byes {
			t.Fatalf("after %s: alice got %d INVITEs and %d BYEs, want %d and %d", m.name, inv, bye, invites, byes)
		}
		if v := tb.hostAttr(raWidget, "view"); v != "call" {
			t.Errorf("after %s the widget shows %q, want the call", m.name, v)
		}
	}
	if slices.ContainsFunc(tb.logs(), func(l string) bool { return strings.HasPrefix(l, "dialog beforeunload") }) {
		t.Errorf("leaving a page during the call asked first; browser log %q", tb.logs())
	}
	if n := metricValue(t, env.gw.metrics(t), "frontdesk_calls"); n != 1 {
		t.Errorf("frontdesk_calls %v, want 1 (one call throughout)", n)
	}

	// The last page holds the call: its Hang up sends the BYE.
	tb.click(raWidget, tb.flowButton(raWidget, ".ctl", "Hang up"))
	tb.flowWaitCall(raWidget, "ended")
	flowWaitAgentLog(t, env.alice, "the BYE of the hang-up", func(string) bool { _, b := env.sipCounts(); return b == byes+1 })
	env.flowWaitMetric(t, "frontdesk_calls", 0)
	if inv, _ := env.sipCounts(); inv != invites {
		t.Errorf("alice got %d INVITEs, want %d", inv, invites)
	}
	cbCheckRecording(t, env.alice, rec, cbMicHz)
}

// TestParkedCallEndsAfterGrace: a visitor who leaves the site during a
// call does not come back; the gateway keeps the call for the grace, then
// hangs up with a BYE.
func TestParkedCallEndsAfterGrace(t *testing.T) {
	env := startReattachEnv(t)
	tb := env.newTab(t)
	env.placeCall(t, tb, "/shop")
	env.waitPageHears(t, tb, cbAliceHz)
	_, byes := env.sipCounts()
	tb.navigate("about:blank") // the visitor leaves the site
	env.flowWaitMetric(t, "frontdesk_calls_parked", 1)
	if _, b := env.sipCounts(); b != byes {
		t.Fatalf("leaving the page sent a BYE at once; the call should wait %s", raGrace)
	}
	flowWaitAgentLog(t, env.alice, "the BYE after the grace", func(string) bool { _, b := env.sipCounts(); return b == byes+1 })
	env.flowWaitMetric(t, "frontdesk_calls_parked_expired_total", 1)
	env.flowWaitMetric(t, "frontdesk_calls_parked", 0)
	env.flowWaitMetric(t, "frontdesk_calls", 0)
}

// TestCallSurvivesLostConnection: the visitor's network goes away for a
// moment during a call; the page shows "Reconnecting…", connects again and
// takes the call back with a new PeerConnection, without a BYE or a new
// INVITE toward the PBX.
func TestCallSurvivesLostConnection(t *testing.T) {
	env := startReattachEnv(t)
	env.cut = startCutProxy(t, strings.TrimPrefix(env.gw.httpURL, "http://"))
	tb := env.newTab(t)
	before := cbRecordings(t, env.alice)
	env.placeCall(t, tb, "/shop-cut")
	rec := cbNewRecording(t, env.alice, before)
	env.waitPageHears(t, tb, cbAliceHz)
	heard := env.waitAliceHearsMore(t, rec, cbMicHz, 0)
	invites, byes := env.sipCounts()

	env.cut.cut()
	tb.waitAttr(raWidget, "call", "reconnecting")
	env.flowWaitMetric(t, "frontdesk_calls_parked", 1)
	env.cut.restore()
	tb.flowWaitCall(raWidget, "connected")
	env.flowWaitMetric(t, "frontdesk_calls_reattached_total", 1)
	env.waitPageHears(t, tb, cbAliceHz)
	env.waitAliceHearsMore(t, rec, cbMicHz, heard)
	if inv, bye := env.sipCounts(); inv != invites || bye != byes {
		t.Fatalf("after the lost connection: alice got %d INVITEs and %d BYEs, want %d and %d", inv, bye, invites, byes)
	}
	tb.click(raWidget, tb.flowButton(raWidget, ".ctl", "Hang up"))
	flowWaitAgentLog(t, env.alice, "the BYE of the hang-up", func(string) bool { _, b := env.sipCounts(); return b == byes+1 })
}
