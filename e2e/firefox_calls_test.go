//go:build integration

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// Firefox ESR gathers ICE host candidates only on the machine's real
// interfaces, never on loopback (media.peerconnection.ice.loopback
// notwithstanding), and the tests send nothing off loopback. So its calls
// run inside a network namespace of their own: loopback plus a veth pair
// with a private address (firefoxCallIP) and a default route, on which
// Firefox gathers and the gateway offers its candidate. The test bed, the gateway, the site and
// Firefox all run in there, and every packet stays in it.
const (
	firefoxCallIP  = "10.77.0.1"
	firefoxCallNet = "10.77.0.0/24"
	firefoxCallGW  = "10.77.0.2" // no one has it
	// flowVideo is a cards widget with valerie, whose phone takes video.
	flowVideo = "f10cf1de0a1b2c3d4e5f6a7b8c9d0e1f"
)

// TestFirefoxCalls runs the call flows of TestBrowserFlows in Firefox ESR:
// a voice call through the widget's UI that carries audio both ways
// (measured by frequency), a key on the keypad reaching the agent, hang-up
// from the visitor and from the agent; a video call whose agent's picture
// plays; and a video call to a phone without video, shown as the audio
// call it is. It needs network namespaces (root) and skips without.
func TestFirefoxCalls(t *testing.T) {
	requireNetns(t, "kamailio", "baresip")
	firefoxCheck(t)
	ctx := ctxT(t, 3*time.Minute)
	n, ns := newNetwork(t, ctx, "fx")
	netExec(t, ctx, n, ns["fx"],
		"ip link add fx0 type veth peer name fx1",
		"ip addr add "+firefoxCallIP+"/24 dev fx0",
		"ip link set fx0 up",
		"ip link set fx1 up",
		// Without a default route Firefox gathers no candidate at all. This
		// one leads to fx1, which has no address: nothing leaves.
		"ip route add default via "+firefoxCallGW+" dev fx0",
	)
	runInside(t, ns["fx"], "firefox-calls", nil, 150*time.Second)
}

// firefoxCallsConfig is flowsConfig with the media on firefoxCallIP and a
// video widget.
func firefoxCallsConfig(pbx, site string) string {
	cfg := flowsConfig(pbx, site)
	cfg = strings.Replace(cfg, "webrtc_ips: [127.0.0.1]", "webrtc_ips: ["+firefoxCallIP+"]", 1)
	cfg = strings.Replace(cfg, "candidate_networks: [127.0.0.0/8]", "candidate_networks: ["+firefoxCallNet+"]", 1)
	return cfg + fmt.Sprintf(`  - id: %s
    type: cards
    name: Video
    agents:
      - {id: valerie, sip: valerie, name: Valerie Vance, media: [voice, video]}
      - {id: alice, sip: alice, name: Alice Adams, media: [voice, video]} # her phone has no video
`, flowVideo)
}

// firefoxCallsSide runs inside TestFirefoxCalls's namespace.
func firefoxCallsSide(t *testing.T) {
	env := startFlowsEnvIn(t, engineFirefox, firefoxCallsConfig, 10,
		testbed.AgentSpec{Name: "valerie", Password: "valerie-pw", AnswerCalls: true, Video: true, Record: true})
	browserFlows(t, env, "a voice call through the UI connects and hangs up")
	t.Run("a video call shows the agent's picture", func(t *testing.T) { flowVideoCall(t, env) })
	t.Run("a video call to a phone without video is an audio call", func(t *testing.T) { flowVideoAudioOnly(t, env) })
}

// flowVideoAudioOnly: a video call to alice, whose phone takes no video:
// the widget says it is an audio call, which carries audio; alice hangs up.
func flowVideoAudioOnly(t *testing.T, env *browserEnv) {
	alice := env.tbAgent("alice")
	tb := env.newTab(t)
	tb.open(env, "/w/"+flowVideo, flowVideo)
	tb.waitJS("alice available", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'online'`, flowVideo, cardSel("alice")), flowWait)
	tb.clickAction(flowVideo, "alice", "video")
	tb.waitAttr(flowVideo, "view", "name")
	tb.typeText("Vera Visitor")
	tb.press("\r")
	tb.flowWaitCall(flowVideo, "connected")
	tb.waitAttr(flowVideo, "call-audio-only", "1")
	tb.flowWaitText(flowVideo, ".callv .note", "The other side answered without video, so this is an audio call.")
	tb.flowWaitJS("the camera is off", fmt.Sprintf(`(() => { const v = fd(%q).querySelector('video.lv'); return !v.srcObject || v.srcObject.getVideoTracks().length === 0; })()`, flowVideo))
	freq, _ := tb.flowWaitHears(flowVideo, flowAliceHz)
	t.Logf("the visitor hears %.0f Hz", freq)
	if err := alice.Hangup(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	tb.flowWaitCall(flowVideo, "ended")
	if r := tb.hostAttr(flowVideo, "call-reason"); r != "ended-by-agent" {
		t.Errorf("call-reason %q, want ended-by-agent", r)
	}
	env.flowWaitMetric(t, "frontdesk_calls", 0)
	tb.flowPageClean()
}

// flowVideoCall: a video call through the UI to an agent whose phone
// takes video: the agent's picture plays, the visitor's camera preview
// shows, audio flows both ways, and the visitor hangs up.
func flowVideoCall(t *testing.T, env *browserEnv) {
	valerie := env.tbAgent("valerie")
	tb := env.newTab(t)
	tb.open(env, "/w/"+flowVideo, flowVideo)
	tb.waitJS("valerie available", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'online'`, flowVideo, cardSel("valerie")), flowWait)
	recsBefore := cbRecordings(t, valerie)
	tb.clickAction(flowVideo, "valerie", "video")
	tb.waitAttr(flowVideo, "view", "name")
	tb.typeText("Vera Visitor")
	tb.press("\r")
	tb.flowWaitCall(flowVideo, "connected")
	if a := tb.hostAttr(flowVideo, "call-audio-only"); a != "0" {
		t.Errorf("call-audio-only %q, want 0: valerie's phone answers with video", a)
	}
	// The agent's picture arrives and plays; the visitor sees their own.
	tb.flowWaitJS("the agent's video plays", fmt.Sprintf(`(() => { const v = fd(%q).querySelector('video.rv'); return shown(v) && v.videoWidth > 0 && v.srcObject.getVideoTracks().length === 1 && !v.paused; })()`, flowVideo))
	tb.flowWaitJS("the visitor's preview plays", fmt.Sprintf(`(() => { const v = fd(%q).querySelector('video.lv'); return !!v && !!v.srcObject && v.srcObject.getVideoTracks().length === 1; })()`, flowVideo))
	// The INVITE (and its SDP, after the headers) offers valerie video.
	trace := flowAgentLog(valerie)
	if i := strings.LastIndex(trace, "\nINVITE sip:"); i < 0 || !strings.Contains(trace[i:], "\nm=video ") {
		t.Errorf("valerie's INVITE offers no video:\n%s", flowLastRequest(trace, "INVITE"))
	}
	freq, _ := tb.flowWaitHears(flowVideo, flowAliceHz) // baresip's own sine
	t.Logf("the visitor hears %.0f Hz", freq)
	rec := cbNewRecording(t, valerie, recsBefore)
	cbWaitRecordingHears(t, valerie, rec, cbMicHz)

	tb.click(flowVideo, tb.flowButton(flowVideo, ".ctl", "Hang up"))
	tb.flowWaitCall(flowVideo, "ended")
	if r := tb.hostAttr(flowVideo, "call-reason"); r != "ended-by-visitor" {
		t.Errorf("call-reason %q, want ended-by-visitor", r)
	}
	env.flowWaitMetric(t, "frontdesk_calls", 0)
	cbCheckRecording(t, valerie, rec, cbMicHz)
	tb.flowPageClean()
}
