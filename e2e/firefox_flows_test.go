//go:build integration

package e2e

import "testing"

// TestFirefoxFlows runs the visitor flows of TestBrowserFlows, the same
// steps, in Firefox ESR: a chat with a reload resume and a move to a second
// tab, and a message left when nobody is available, on the strict-CSP page
// (flowPageClean: no CSP violations, no console errors). The voice call
// runs in TestFirefoxCalls, inside a network namespace.
func TestFirefoxFlows(t *testing.T) {
	browserFlows(t, startFlowsEnvIn(t, engineFirefox, flowsConfig, 8),
		"chat round trip through the UI", "nobody available: the widget offers to leave a message", "a chat resumed in a second tab moves there")
}

// TestFirefoxWidgets runs the steps of TestBrowserWidgets shared by the
// engines in Firefox ESR: both widget types render with the configured
// style, the keyboard reaches every control, axe-core finds nothing
// serious, and a presence change redraws a card.
func TestFirefoxWidgets(t *testing.T) {
	browserWidgetFlows(t, startBrowserEnvIn(t, engineFirefox))
}
