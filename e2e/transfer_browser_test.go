//go:build integration

package e2e

import (
	"testing"
)

// TestTransferBrowser: a visitor in Chromium talks to alice (baresip), who
// transfers the call with baresip's transfer command to bob. The page's
// WebRTC connection stays as it is and hears bob's tone instead of alice's,
// bob hears the page's microphone, the page saw transferring and then
// connected, and hanging up ends bob's call.
func TestTransferBrowser(t *testing.T) {
	env := startCallBrowserEnv(t).startGateway(t, "udp")
	alice, bob := env.bed.Agent("alice"), env.bed.Agent("bob")
	page, _ := env.openPage(t)
	before := cbRecordings(t, bob)
	page.call("alice", false)
	page.waitHears(cbAliceHz)

	if _, err := alice.Command(ctxT(t, cbWait), "transfer", bob.URI()); err != nil {
		t.Fatalf("alice's transfer command: %v", err)
	}
	page.waitStatus("CallInfo transferring, then connected", func(s cbPageStatus) bool {
		transferring := false
		for _, ci := range s.CallInfos {
			switch {
			case ci["state"] == "transferring":
				transferring = true
			case transferring && ci["state"] == "connected":
				if ci["reason"] != nil {
					t.Fatalf("the transfer failed: %v", ci)
				}
				return true
			}
		}
		return false
	})
	freq, db := page.waitHears(cbBobHz)
	t.Logf("after the transfer the page hears %.1f Hz at %.1f dB (bob plays %d Hz)", freq, db, cbBobHz)
	rec := cbNewRecording(t, bob, before)
	cbWaitRecordingHears(t, bob, rec, cbMicHz)
	cbWaitAgentIdle(t, alice)

	page.eval("fd.hangup()", nil)
	page.waitTerminated("ended-by-visitor")
	cbWaitAgentIdle(t, bob)
	env.waitNoCalls(t)
	cbCheckRecording(t, bob, rec, cbMicHz)
}
