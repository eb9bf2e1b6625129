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

// TestSessionsSmoke runs a small load against the real test bed and a real
// gateway and checks that every session got every presence update. Timings
// are logged, not asserted.
func TestSessionsSmoke(t *testing.T) { sessionsSmoke(t, 1, 500) }

// TestSessionsClusterSmoke is the smoke run over three nodes of a
// cluster: every session on every node gets every update, and the PBX holds
// one SUBSCRIBE dialog per (agent, event), not one per node.
func TestSessionsClusterSmoke(t *testing.T) { sessionsSmoke(t, 3, 300) }

func sessionsSmoke(t *testing.T, nodes, sessions int) {
	if err := testbed.CheckBinaries(false); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	const rounds = 3
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	o := defaultOptions()
	o.Sessions, o.Rounds, o.GCWait, o.Nodes = sessions, rounds, 0, nodes
	o.Timeout = 3 * time.Minute
	o.Dir = t.TempDir()
	o.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))

	res, err := runSessions(ctx, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var table strings.Builder
	printTable(&table, res)
	t.Logf("result:\n%s", table.String())

	if got := res.InitialPresence["online"]; got != sessions {
		t.Errorf("%d sessions started with %s online, want %d (all: %v)", got, flipAgent, sessions, res.InitialPresence)
	}
	if res.PBXSubscriptions != wantSubscriptions() {
		t.Errorf("the PBX holds %d SUBSCRIBE dialogs with %d nodes, want %d", res.PBXSubscriptions, nodes, wantSubscriptions())
	}
	if len(res.RoundsDetail) != rounds {
		t.Fatalf("%d rounds ran, want %d", len(res.RoundsDetail), rounds)
	}
	for r, rr := range res.RoundsDetail {
		if rr.Reached != sessions {
			t.Errorf("round %d (%s): %d sessions got the Info, want %d", r, rr.Presence, rr.Reached, sessions)
		}
	}
	if res.ExpectedInfos != int64(sessions*rounds) || res.ReceivedInfos != res.ExpectedInfos {
		t.Errorf("received %d of %d updates, want %d", res.ReceivedInfos, res.ExpectedInfos, sessions*rounds)
	}
	if res.Missing != 0 || res.Stray != 0 || res.Duplicates != 0 || res.Lost != 0 {
		t.Errorf("missing %d, stray %d, duplicate %d, lost sessions %d; want none",
			res.Missing, res.Stray, res.Duplicates, res.Lost)
	}
	if res.Closed == nil || res.Closed.Sessions != 0 {
		t.Errorf("gateway did not release every session after they closed: %+v", res.Closed)
	}
	if res.GatewayExit != "exit 0" {
		t.Errorf("gateway after SIGTERM: %s", res.GatewayExit)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
