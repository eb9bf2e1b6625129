package bridge

import (
	"strings"
	"testing"
)

// TestLiteStack runs the call tests on calls.webrtc_stack lite: a pion
// browser against the gateway's ICE-lite shared socket, with the same PBX
// side, latching, SDES, DTMF, hold, re-INVITE and timeouts.
func TestLiteStack(t *testing.T) {
	t.Setenv("FRONTDESK_TEST_WEBRTC_STACK", "lite")
	for _, tc := range []struct {
		name string
		test func(*testing.T)
	}{
		{"AudioBothWaysWithPTMapping", TestAudioBothWaysWithPTMapping},
		{"SendDTMF", TestSendDTMF},
		{"SendDTMFWithoutTelephoneEvent", TestSendDTMFWithoutTelephoneEvent},
		{"SDESRoundTrip", TestSDESRoundTrip},
		{"LatchingAndReinvite", TestLatchingAndReinvite},
		{"AnswerAfterEarlyMedia", TestAnswerAfterEarlyMedia},
		{"HoldPausesTimeout", TestHoldPausesTimeout},
		{"NoCommonCodec", TestNoCommonCodec},
		{"VideoAllowedOrNot", TestVideoAllowedOrNot},
		{"HostileSenderPlainRTP", TestHostileSenderPlainRTP},
		{"HostileSenderSDES", TestHostileSenderSDES},
		{"RTCPLatch", TestRTCPLatch},
		{"EndedCallDoesNotSpin", TestEndedCallDoesNotSpin},
		{"DTMFQueueInMedia", TestDTMFQueueInMedia},
		{"PortsQuarantined", TestPortsQuarantined},
		{"DTMFQueueBounded", TestDTMFQueueBounded},
	} {
		t.Run(tc.name, tc.test)
	}
}

// TestLiteAnswerAnnouncesPublicIP: behind a 1:1 NAT the lite answer's one
// candidate names calls.public_ip with the shared socket's port, and a
// browser offer's other m-lines are rejected with their mid.
func TestLiteAnswerAnnouncesPublicIP(t *testing.T) {
	e := testEngine(t, engineCfg{lite: true, publicIP: "203.0.113.10"})
	b := newBrowser(t, true)
	c, err := e.NewCall(b.offer(), CallOptions{ID: "nat"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := newPBX(t)
	ans, err := c.SIPAnswer(pbxAnswer(p.port(), "sendrecv", "0 PCMU/8000"), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a=candidate:1 1 udp 2130706431 203.0.113.10 41000 typ host", "a=ice-lite",
		"m=video 0 UDP/TLS/RTP/SAVPF", "a=group:BUNDLE 0\r\n"} {
		if !strings.Contains(ans, want) {
			t.Errorf("answer lacks %q:\n%s", want, ans)
		}
	}
	if strings.Contains(ans, "127.0.0.1 41000") {
		t.Errorf("answer announces the local address:\n%s", ans)
	}
}
