//go:build integration

package e2e

import (
	"flag"
	"testing"
)

// TestFirefoxFlows runs the visitor flows of TestBrowserFlows, the same
// steps, in Firefox ESR: a chat with a reload resume and a move to a second
// tab, and a message left when nobody is available, on the strict-CSP page
// (flowPageClean: no CSP violations, no console errors).
//
// The voice call flow is not among them yet: Firefox ESR here gathers no
// loopback ICE candidate (media.peerconnection.ice.loopback notwithstanding;
// only the machine's own interface address), so its media never reaches
// the gateway's 127.0.0.1 candidate; the call connects in SIP and the agent
// hears nothing. Run it with -run 'TestFirefoxFlows' -args -firefox-call.
func TestFirefoxFlows(t *testing.T) {
	flows := []string{"chat round trip through the UI", "nobody available: the widget offers to leave a message", "a chat resumed in a second tab moves there"}
	if *firefoxCall {
		flows = append(flows, "a voice call through the UI connects and hangs up")
	}
	browserFlows(t, startFlowsEnvIn(t, engineFirefox, flowsConfig, 8), flows...)
}

// firefoxCall adds the voice call flow to TestFirefoxFlows.
var firefoxCall = flag.Bool("firefox-call", false, "TestFirefoxFlows: run the voice call flow too")
