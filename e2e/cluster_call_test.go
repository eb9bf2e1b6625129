//go:build integration

package e2e

import (
	"log/slog"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// TestClusterCallNodeDies: SIGKILL of the node carrying a call: a
// surviving node ends the PBX leg with BYE (the agent's phone hangs up and
// shows available again) and the visitor's widget, reconnected through
// HAProxy, is told the call was lost.
func TestClusterCallNodeDies(t *testing.T) {
	if err := testbed.CheckBinaries(true); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	tb, err := testbed.Start(ctxT(t, time.Minute), testbed.Options{
		Dir:    t.TempDir(),
		Users:  []testbed.User{{Name: "frontdesk", Password: gwPassword}},
		Agents: []testbed.AgentSpec{{Name: "alice", Password: "alice-pw", Presence: "online", AnswerCalls: true}, {Name: "bob", Password: "bob-pw", Presence: "online"}},
		Log:    slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	ns := startClusterNATS(t)
	nodes := startClusterNodes(t, tb, ns, 2, "", "", clusterWidgets)
	lb := startClusterHAProxy(t, nodes)

	watcher := nodes[1].g.visit(e2eOrigin)
	if _, infos := watcher.start(e2eWidget); infos["alice"]["presence"] != "online" {
		watcher.waitFor("alice online", updateLimit, infoOf("alice", "online"))
	}
	v := nodes[0].g.visit(e2eOrigin)
	v.start(e2eWidget)
	p := newPhone(t, v, phoneOptions{})
	p.dial("alice", false)
	expectAnswered(p)
	p.waitMedia()
	watcher.waitFor("alice busy while she is on the call", updateLimit, infoOf("alice", "busy"))
	time.Sleep(clusterLease / 2) // the slot is renewed meanwhile: it must survive its renewals

	nodes[0].kill()
	killed := time.Now()
	_, took := watcher.waitFor("the PBX leg ended by the surviving node: alice available again", 3*clusterLease,
		infoOf("alice", "online"))
	t.Logf("PBX leg of the dead node's call ended %v after the kill", took)
	nodes[1].g.waitLog(t, "the BYE logged", func(l map[string]any) bool {
		return l["msg"] == "cluster call of a node that is gone ended with BYE" && l["code"] == float64(200)
	})

	w := reconnectVia(t, nodes[1].g, lb)
	w.start(e2eWidget)
	w.send(`{"mt":"CallResume"}`)
	if m, _ := w.waitFor("call fate", updateLimit, func(m map[string]any) bool { return m["mt"] == "CallInfo" }); m["state"] != "terminated" || m["reason"] != "lost" {
		t.Errorf("reconnected widget got %v, want terminated, lost", m)
	}
	t.Logf("reconnected widget told the call was lost %v after the kill", time.Since(killed))
	// The agent can be called again from the surviving node.
	q := newPhone(t, w, phoneOptions{})
	q.dial("alice", false)
	expectAnswered(q)
	q.hangUp()
	q.expectEnd("ended-by-visitor", callWait)
}

// expectAnswered waits for the call to be connected. The agent answers at
// once and Kamailio's UDP workers may relay her 180 after her 200, so the
// widget may be told alerting first, or not at all.
func expectAnswered(p *phone) {
	p.t.Helper()
	if m := p.nextMessage("alerting or connected", callWait); m["mt"] != "CallInfo" || m["state"] != "alerting" {
		p.queue = append([]map[string]any{m}, p.queue...) // for expect to check
	}
	p.expect("connected", callWait)
}
