package bridge

import (
	"strings"
	"testing"
)

// TestFirefoxOffers answers offers captured from Firefox ESR 153 (headless,
// fake devices; testdata/offer-firefox-*.sdp) on both WebRTC stacks: Opus
// on Firefox's payload type 109, telephone-event on its 101, rtcp-mux,
// one BUNDLE mid, a DTLS role against Firefox's actpass, and a candidate
// of ours, although Firefox's own candidates lie outside the tests'
// candidate_networks (its host address and TCP active candidates, port 9).
func TestFirefoxOffers(t *testing.T) {
	for _, stack := range []string{"pion", "lite"} {
		for _, name := range []string{"offer-firefox-audio.sdp", "offer-firefox-audio-video.sdp"} {
			t.Run(stack+"/"+name, func(t *testing.T) {
				e := testEngine(t, engineCfg{lite: stack == "lite"})
				c, err := e.NewCall(readTestdata(t, name), CallOptions{ID: "firefox", AllowVideo: strings.Contains(name, "video")})
				if err != nil {
					t.Fatalf("Firefox's offer refused: %v", err)
				}
				defer c.Close()
				// pion takes DTLS's client role; the ICE-lite socket its
				// server role (it never starts a handshake).
				setup := "a=setup:active"
				if stack == "lite" && !strings.Contains(name, "video") {
					setup = "a=setup:passive"
				}
				p := newPBX(t)
				ans, err := c.SIPAnswer(pbxAnswer(p.port(), "sendrecv", "0 PCMU/8000", "101 telephone-event/8000"), true)
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{"a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=rtcp-mux",
					"a=mid:0", setup, "a=fingerprint:sha-256 ", "a=candidate:", "a=group:BUNDLE 0"} {
					if !strings.Contains(ans, want) {
						t.Errorf("answer lacks %q:\n%s", want, ans)
					}
				}
				t.Logf("answer:\n%s", ans)
			})
		}
	}
}
