// Package e2e holds the end-to-end tests: the frontdesk binary against real
// peers (Kamailio, baresip, sipp, Chromium) on loopback. They need the build
// tag "integration" and the test bed installed (testbed/install.sh):
//
//	go test -tags integration ./e2e/...
//
// The browser tests run in Chromium (chromedp) and, for the core visitor
// flows, in Firefox ESR over WebDriver BiDi: firefox_test.go has the helper
// (startFirefox, firefoxTab) and firefox/driver.mjs the node side.
package e2e
