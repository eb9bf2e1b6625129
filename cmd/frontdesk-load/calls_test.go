//go:build integration

package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// TestCallsSmoke places three visitor calls through the real test bed and a
// real gateway to the sipp echo far end, holds them for a few seconds and
// checks that every call connected, its packets were echoed back, and
// everything was released. Timings are logged, not asserted.
func TestCallsSmoke(t *testing.T) {
	smokeCalls(t, systemFrontdesk, false)
}

// TestCallsSmokeJanus is TestCallsSmoke against Janus's SIP plugin, pinned
// as in a comparison: the same visitors, packets and far end.
func TestCallsSmokeJanus(t *testing.T) {
	smokeCalls(t, systemJanus, true)
}

func smokeCalls(t *testing.T, system string, pin bool) {
	if err := testbed.CheckBinaries(false); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	const calls = 3
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	o := defaultCallsOptions()
	o.Steps, o.Hold, o.Settle = []int{calls}, 3*time.Second, time.Second
	o.System, o.Pin = system, pin
	// Health thresholds are about timing and load; the test checks counts.
	o.MaxLoss, o.MaxRTT = 100, time.Minute
	o.Timeout = 3 * time.Minute
	o.Dir = t.TempDir()
	o.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))

	res, err := runCalls(ctx, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var table strings.Builder
	printCalls(&table, res)
	t.Logf("result:\n%s", table.String())

	if len(res.Steps) != 1 {
		t.Fatalf("%d steps ran, want 1", len(res.Steps))
	}
	st := res.Steps[0]
	if st.Added != calls || st.SetupFailed != 0 || st.Calls != calls {
		t.Errorf("calls added %d, failed %d, up during the hold %d; want %d, 0, %d (errors: %v)",
			st.Added, st.SetupFailed, st.Calls, calls, calls, st.SetupErrors)
	}
	if system == systemFrontdesk && st.GatewayCalls != calls {
		t.Errorf("gateway reported %v running calls during the hold, want %d", st.GatewayCalls, calls)
	}
	if pin && res.Pinning == "" {
		t.Errorf("the run was not pinned")
	}
	if st.Sent == 0 || st.Received == 0 || st.CallsWithoutEcho != 0 {
		t.Errorf("sent %d, received %d, calls without echo %d; want packets echoed on every call",
			st.Sent, st.Received, st.CallsWithoutEcho)
	}
	if st.Received > st.Sent {
		t.Errorf("received %d packets of %d sent", st.Received, st.Sent)
	}
	if st.Dropped != 0 {
		t.Errorf("%d calls ended on their own: %v", st.Dropped, st.DropReasons)
	}
	if e := res.Echo; e.Incoming != calls || e.Successful != calls || e.Failed != 0 || e.Current != 0 {
		t.Errorf("far end (sipp): %d INVITEs, %d ended by BYE, %d failed, %d in progress; want %d, %d, 0, 0",
			e.Incoming, e.Successful, e.Failed, e.Current, calls, calls)
	}
	wantAfter := 0.0
	if system == systemJanus {
		wantAfter = -1 // Janus has no call count
	}
	if res.Opened != calls || res.HungUp != calls || res.SystemCallsAfter != wantAfter {
		t.Errorf("opened %d, hung up %d, calls after %v; want %d, %d, %v",
			res.Opened, res.HungUp, res.SystemCallsAfter, calls, calls, wantAfter)
	}
	if res.BadPackets != 0 {
		t.Errorf("%d echoed packets carried a payload no visitor sent", res.BadPackets)
	}
	if res.SystemExit != "exit 0" {
		t.Errorf("%s after SIGTERM: %s", system, res.SystemExit)
	}
}
