// Package e2e holds the end-to-end tests: the frontdesk binary against real
// peers (Kamailio, baresip, sipp, Chromium) on loopback. They need the build
// tag "integration" and the test bed installed (testbed/install.sh):
//
//	go test -tags integration ./e2e/...
package e2e
