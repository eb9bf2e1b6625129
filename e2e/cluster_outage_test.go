//go:build integration

package e2e

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// TestClusterEngineOutage: NATS stops: every node says so on /healthz and
// /metrics and goes on serving: a chat held by one node keeps working,
// and after the lease each node subscribes to the agents itself, so
// presence still reaches visitors on every node. NATS comes back: the
// nodes converge to one SUBSCRIBE dialog per (agent, event) again and
// presence and chat go on.
func TestClusterEngineOutage(t *testing.T) {
	tb, ns := startClusterTestbed(t)
	body := "chat:\n  resume_grace: 30s\n  send_timeout: 2s\n" + clusterWidgets
	nodes := startClusterNodes(t, tb, ns, 3, "", "", body)
	ctx := ctxT(t, 3*time.Minute)
	waitUntil(t, "one dialog each", 4*clusterLease, func() bool { return maps.Equal(dialogsByTarget(t, tb), wantOneDialogEach) })

	var visitors []*visitor
	for _, n := range nodes {
		v := n.g.visit(e2eOrigin)
		v.start(e2eWidget)
		visitors = append(visitors, v)
	}
	chatter := &chatVisitor{t: t, name: "chatting visitor", v: visitors[0]}
	chatter.v.send(`{"mt":"ChatOpen","dest":"bob","dn":"Vera"}`)
	opened, _ := chatter.v.waitFor("chat opened", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatOpened" })
	chatter.token = opened["token"].(string)
	nodes[0].g.waitLog(t, "bob's notice accepted", func(l map[string]any) bool { return l["msg"] == "chat notice accepted" })
	reply := func(text string) {
		t.Helper()
		code, err := tb.SendMessageAs(ctx, "bob", "bob-pw", "frontdesk", "text/plain", []byte(text))
		if err != nil || code != 200 {
			t.Errorf("bob's reply %q: %d %v, want 200", text, code, err)
		}
		chatter.await(text)
	}
	reply("before the outage")

	ns.Kill()
	for _, n := range nodes {
		h := n.g.waitHealth(n.name+" says the engine is out of reach", 3*clusterLease, func(code int, h map[string]any) bool {
			c, _ := h["cluster"].(map[string]any)
			return code == 200 && c != nil && c["connected"] == false && c["standalone"] == true
		})
		if ws := strings.Join(toStrings(h["warnings"]), "\n"); !strings.Contains(ws, "engine (NATS) is out of reach") {
			t.Errorf("%s: warnings %q do not name the outage", n.name, ws)
		}
		if m := n.g.metrics(t); !strings.Contains(m, "frontdesk_cluster_connected 0") || !strings.Contains(m, "frontdesk_cluster_standalone 1") {
			t.Errorf("%s: metrics do not show the outage", n.name)
		}
	}
	reply("during the outage")
	if err := tb.Agent("alice").SetPresence(ctxT(t, 10*time.Second), testbed.StatusBusy); err != nil {
		t.Fatal(err)
	}
	for i, v := range visitors {
		if i == 0 {
			continue // the chatter's messages are read by chatVisitor
		}
		v.waitFor(nodes[i].name+": alice busy during the outage", updateLimit, infoOf("alice", "busy"))
	}

	if err := ns.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		n.g.waitHealth(n.name+" back in the cluster", 3*clusterLease, func(code int, h map[string]any) bool {
			c, _ := h["cluster"].(map[string]any)
			return c != nil && c["connected"] == true
		})
	}
	took := waitUntil(t, "converged to one dialog each", 4*clusterLease, func() bool {
		return maps.Equal(dialogsByTarget(t, tb), wantOneDialogEach)
	})
	t.Logf("converged to one SUBSCRIBE dialog per (agent, event) %v after every node was back", took)
	if err := tb.Agent("alice").SetPresence(ctxT(t, 10*time.Second), testbed.StatusOnline); err != nil {
		t.Fatal(err)
	}
	for i, v := range visitors[1:] {
		v.waitFor(nodes[i+1].name+": alice online after the outage", updateLimit, infoOf("alice", "online"))
	}
	reply("after the outage")
	if want := "before the outage|during the outage|after the outage"; strings.Join(chatter.texts, "|") != want {
		t.Errorf("the chatting visitor saw %q, want %q", chatter.texts, want)
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		out = append(out, x.(string))
	}
	return out
}
