package bridge

import "testing"

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
