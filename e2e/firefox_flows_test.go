//go:build integration

package e2e

import "testing"

// TestFirefoxFlows runs the visitor flows of TestBrowserFlows, the same
// steps, in Firefox ESR: a voice call through the UI with the keypad (DTMF)
// and a hang-up from each side, a chat with a reload resume and a move to a
// second tab, and a message left when nobody is available, all on the
// strict-CSP page (flowPageClean: no CSP violations, no console errors).
func TestFirefoxFlows(t *testing.T) {
	browserFlows(t, startFlowsEnvIn(t, engineFirefox, flowsConfig, 8))
}
