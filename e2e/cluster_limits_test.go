//go:build integration

package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestClusterLimits: limits hold across the nodes, not per node: chats
// started from one client address (limits.chats.per_ip) count on every
// node together, and calls.max_calls_per_agent counts the calls of every
// node; a call slot of a node that dies frees within the lease.
func TestClusterLimits(t *testing.T) {
	tb, ns := startClusterTestbed(t)
	body := "chat:\n  reply_routing: subaddress\n  max_per_agent: 5\n" + clusterWidgets
	nodes := startClusterNodes(t, tb, ns, 3, "  max_calls_per_agent: 1\n", "  chats: {per_session: off, per_ip: 2/min, per_agent: off}\n", body)

	// Chats: two from this address on node1 and node2, the third (on
	// node3) is refused although node3 saw none.
	for i, n := range nodes {
		v := n.g.visit(e2eOrigin)
		if _, infos := v.start(e2eWidget); infos["alice"]["presence"] != "online" {
			v.waitFor("alice online", updateLimit, infoOf("alice", "online"))
		}
		v.send(`{"mt":"ChatOpen","dest":"alice","dn":"Vera"}`)
		m, _ := v.waitFor(n.name+": chat answer", updateLimit, func(m map[string]any) bool {
			return m["mt"] == "ChatOpened" || m["mt"] == "Error"
		})
		switch {
		case i < 2 && m["mt"] != "ChatOpened":
			t.Errorf("%s: chat %d from this address: %v, want it opened", n.name, i+1, m)
		case i == 2 && m["code"] != "retry-later":
			t.Errorf("%s: third chat from this address within a minute: %v, want retry-later", n.name, m)
		}
		if m["mt"] == "ChatOpened" {
			v.send(`{"mt":"ChatClose"}`)
		}
	}

	// Calls: alice takes one call at a time across the cluster.
	a := nodes[0].g.visit(e2eOrigin)
	a.start(e2eWidget)
	b := nodes[1].g.visit(e2eOrigin)
	b.start(e2eWidget)
	a.send(`{"mt":"CreateCall","dest":"alice"}`)
	a.quiet("the first call is not refused", 500*time.Millisecond, func(m map[string]any) bool { return m["mt"] == "Error" })
	b.send(`{"mt":"CreateCall","dest":"alice"}`)
	if m, _ := b.waitFor("second call refused", updateLimit, func(m map[string]any) bool { return m["mt"] == "Error" }); m["code"] != "too-many-calls" {
		t.Errorf("a second call to alice on another node: %v, want too-many-calls", m)
	}
	a.send(`{"mt":"ClearCall"}`)
	a.waitFor("call cleared", updateLimit, func(m map[string]any) bool { return m["mt"] == "CallInfo" && m["state"] == "terminated" })
	b.send(`{"mt":"CreateCall","dest":"alice"}`)
	b.quiet("the call after the first one ended is not refused", 500*time.Millisecond, func(m map[string]any) bool { return m["mt"] == "Error" })
	b.send(`{"mt":"ClearCall"}`)
	b.waitFor("call cleared", updateLimit, func(m map[string]any) bool { return m["mt"] == "CallInfo" && m["state"] == "terminated" })

	// A node that dies with a call: its slot frees within the lease.
	a.send(`{"mt":"CreateCall","dest":"alice"}`)
	a.quiet("the call is not refused", 500*time.Millisecond, func(m map[string]any) bool { return m["mt"] == "Error" })
	nodes[0].kill()
	c := nodes[2].g.visit(e2eOrigin)
	c.start(e2eWidget)
	took := waitUntil(t, "the dead node's call slot frees", 3*clusterLease, func() bool {
		c.send(`{"mt":"CreateCall","dest":"alice"}`)
		select {
		case m := <-c.msgs:
			if m["mt"] == "Error" && m["code"] == "too-many-calls" {
				// Not yet; ask again at a pace below the session's
				// message rate limit (10 a second).
				time.Sleep(250 * time.Millisecond)
				return false
			}
			t.Fatalf("unexpected %v", m)
		case <-time.After(300 * time.Millisecond):
		}
		return true
	})
	t.Logf("call slot of a killed node free again %v after the kill (lease %v)", took, clusterLease)
}

// TestClusterConfigMismatch: a node started with a config that differs
// from the others' (another agent name) says so on /readyz and /healthz,
// and so do the others; it stays ready.
func TestClusterConfigMismatch(t *testing.T) {
	tb, ns := startClusterTestbed(t)
	same := startClusterNodes(t, tb, ns, 1, "", "", clusterWidgets)[0]
	other := addClusterNode(t, tb, ns, 1, "", "", strings.Replace(clusterWidgets, "name: Bob", "name: Robert", 1))
	for _, n := range []*clusterNode{same, other} {
		peer := other.name
		if n == other {
			peer = same.name
		}
		n.g.waitHealth(n.name+" names "+peer, 3*clusterLease, func(code int, h map[string]any) bool {
			c, _ := h["cluster"].(map[string]any)
			return code == 200 && c != nil && strings.Contains(strings.Join(toStrings(c["config_mismatch"]), ","), peer) &&
				strings.Contains(strings.Join(toStrings(h["warnings"]), "\n"), "the config differs on nodes "+peer)
		})
		if r := httpGet(t, n.g.adminURL+"/readyz"); !strings.Contains(r, "config differs on nodes "+peer) {
			t.Errorf("%s /readyz does not say so:\n%s", n.name, r)
		}
	}
}
