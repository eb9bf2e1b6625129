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
// real gateway to the echo far end, holds them for a few seconds and checks
// that every call connected, its packets were echoed back, and everything
// was released. Timings are logged, not asserted.
func TestCallsSmoke(t *testing.T) {
	if err := testbed.CheckBinaries(false); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	const calls = 3
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	o := defaultCallsOptions()
	o.Steps, o.Hold, o.Settle = []int{calls}, 3*time.Second, time.Second
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
	if st.GatewayCalls != calls {
		t.Errorf("gateway reported %v running calls during the hold, want %d", st.GatewayCalls, calls)
	}
	if st.Sent == 0 || st.Received == 0 || st.CallsWithoutEcho != 0 {
		t.Errorf("sent %d, received %d, calls without echo %d; want packets echoed on every call",
			st.Sent, st.Received, st.CallsWithoutEcho)
	}
	if st.Received > st.Sent {
		t.Errorf("received %d packets of %d sent", st.Received, st.Sent)
	}
	if st.EchoPackets == 0 {
		t.Errorf("the echo far end echoed no packets during the hold")
	}
	if st.Dropped != 0 {
		t.Errorf("%d calls ended on their own: %v", st.Dropped, st.DropReasons)
	}
	if res.EchoInvites != calls || res.EchoRejected != 0 || res.EchoByes != calls || res.EchoActiveAfter != 0 {
		t.Errorf("echo far end: %d INVITEs answered, %d rejected, %d BYEs, %d calls left; want %d, 0, %d, 0",
			res.EchoInvites, res.EchoRejected, res.EchoByes, res.EchoActiveAfter, calls, calls)
	}
	if res.Opened != calls || res.HungUp != calls || res.GatewayCallsAfter != 0 {
		t.Errorf("opened %d, hung up %d, gateway calls after %v; want %d, %d, 0",
			res.Opened, res.HungUp, res.GatewayCallsAfter, calls, calls)
	}
	if res.BadPackets != 0 {
		t.Errorf("%d echoed packets carried a payload no visitor sent", res.BadPackets)
	}
	if res.GatewayExit != "exit 0" {
		t.Errorf("gateway after SIGTERM: %s", res.GatewayExit)
	}
}
