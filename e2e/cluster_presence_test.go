//go:build integration

package e2e

import (
	"fmt"
	"maps"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// clusterWidgets is the widget every cluster test node serves.
var clusterWidgets = fmt.Sprintf(`widgets:
  - id: %s
    type: cards
    name: Team
    agents:
      - {id: alice, sip: alice, name: Alice, media: [voice, chat]}
      - {id: bob, sip: bob, name: Bob, media: [voice, chat]}
`, e2eWidget)

// wantOneDialogEach is what the PBX must hold whatever the node count:
// one SUBSCRIBE dialog per (agent, event).
var wantOneDialogEach = map[string]int{"alice presence": 1, "alice dialog": 1, "bob presence": 1, "bob dialog": 1}

func startClusterTestbed(t *testing.T) (*testbed.Testbed, *testbed.NATS) {
	t.Helper()
	tb := startTestbed(t)
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	return tb, startClusterNATS(t)
}

// TestClusterOneSubscriptionPerAgent: with 1, 3 and 5 nodes the PBX holds
// exactly one SUBSCRIBE dialog per (agent, event), the leases spread over
// the nodes, and a presence change reaches visitors on every node.
func TestClusterOneSubscriptionPerAgent(t *testing.T) {
	tb, ns := startClusterTestbed(t)
	var nodes []*clusterNode
	for _, size := range []int{1, 3, 5} {
		for len(nodes) < size {
			nodes = append(nodes, addClusterNode(t, tb, ns, len(nodes), "", "", clusterWidgets))
		}
		// Wait until every node is past the grace of free leases and the
		// lease holders have subscribed.
		waitUntil(t, fmt.Sprintf("one dialog per (agent, event) with %d nodes", size), 4*clusterLease, func() bool {
			return maps.Equal(dialogsByTarget(t, tb), wantOneDialogEach)
		})
		leases := 0
		for _, n := range nodes {
			c := n.clusterStatus()
			leases += int(c["leases"].(float64))
			if c["nodes"].(float64) != float64(size) {
				t.Errorf("%s sees %v nodes, want %d", n.name, c["nodes"], size)
			}
		}
		if leases != 4 {
			t.Errorf("%d nodes hold %d leases together, want 4", size, leases)
		}
		t.Logf("nodes %d: PBX-side SUBSCRIBE dialogs %v", size, dialogsByTarget(t, tb))
	}
	// It stays one each over several lease periods (renewals, no churn).
	time.Sleep(2 * clusterLease)
	if got := dialogsByTarget(t, tb); !maps.Equal(got, wantOneDialogEach) {
		t.Errorf("after two lease periods with 5 nodes: dialogs %v, want %v", got, wantOneDialogEach)
	}

	// Every node's visitors see a presence change, whichever node holds
	// the subscription.
	var visitors []*visitor
	for _, n := range nodes {
		v := n.g.visit(e2eOrigin)
		_, infos := v.start(e2eWidget)
		if infos["alice"]["presence"] != "online" {
			t.Fatalf("%s: alice starts %v, want online (from the cluster's snapshot)", n.name, infos["alice"])
		}
		visitors = append(visitors, v)
	}
	if err := tb.Agent("alice").SetPresence(ctxT(t, 10*time.Second), testbed.StatusBusy); err != nil {
		t.Fatal(err)
	}
	for i, v := range visitors {
		_, took := v.waitFor(nodes[i].name+": alice busy", updateLimit, infoOf("alice", "busy"))
		t.Logf("%s: presence change reached its visitor in %v", nodes[i].name, took)
	}
}

// holderOf is the node whose address holds the PBX's dialog for target
// ("alice presence"), among nodes, leaving out dead sources.
func holderOf(t *testing.T, tb *testbed.Testbed, nodes []*clusterNode, target string, exclude ...string) *clusterNode {
	t.Helper()
	ds, err := tb.SubscriptionDialogs()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.User+" "+d.Event != target || slices.Contains(exclude, d.Source) {
			continue
		}
		for _, n := range nodes {
			if n.ip == d.Source {
				return n
			}
		}
	}
	return nil
}

// TestClusterSubscriptionTakeover: SIGKILL of the node holding an agent's
// subscription: another node subscribes within the lease and presence
// flows again to the visitors of the survivors; SIGTERM of the next holder
// hands over at once.
func TestClusterSubscriptionTakeover(t *testing.T) {
	tb, ns := startClusterTestbed(t)
	nodes := startClusterNodes(t, tb, ns, 3, "", "", clusterWidgets)
	waitUntil(t, "one dialog each", 4*clusterLease, func() bool { return maps.Equal(dialogsByTarget(t, tb), wantOneDialogEach) })

	holder := holderOf(t, tb, nodes, "alice presence")
	if holder == nil {
		t.Fatal("no node holds alice's presence dialog")
	}
	var survivors []*clusterNode
	for _, n := range nodes {
		if n != holder {
			survivors = append(survivors, n)
		}
	}
	v := survivors[0].g.visit(e2eOrigin)
	if _, infos := v.start(e2eWidget); infos["alice"]["presence"] != "online" {
		t.Fatalf("alice starts %v, want online", infos["alice"])
	}
	holder.kill()
	killedAt := time.Now()
	var next *clusterNode
	took := waitUntil(t, "a survivor subscribes to alice's presence", 3*clusterLease, func() bool {
		next = holderOf(t, tb, survivors, "alice presence", holder.ip)
		return next != nil
	})
	t.Logf("takeover after SIGKILL of the holder: new SUBSCRIBE dialog %v after the kill (lease %v)", took, clusterLease)
	if took > clusterLease+clusterLease/2+2*time.Second {
		t.Errorf("takeover took %v; the lease is %v", took, clusterLease)
	}
	if err := tb.Agent("alice").SetPresence(ctxT(t, 10*time.Second), testbed.StatusAway); err != nil {
		t.Fatal(err)
	}
	v.waitFor("alice away after the takeover", updateLimit, infoOf("alice", "offline"))
	t.Logf("presence flows again %v after the kill", time.Since(killedAt))

	// SIGTERM: the holder hands its leases over before it drains.
	stoppedAt := time.Now()
	go next.g.stop(syscall.SIGTERM)
	var third *clusterNode
	took = waitUntil(t, "the last node subscribes after the handover", clusterLease, func() bool {
		third = holderOf(t, tb, survivors, "alice presence", holder.ip, next.ip)
		return third != nil
	})
	t.Logf("handover on SIGTERM: new SUBSCRIBE dialog %v after the signal", took)
	if err := tb.Agent("alice").SetPresence(ctxT(t, 10*time.Second), testbed.StatusOnline); err != nil {
		t.Fatal(err)
	}
	w := third.g.visit(e2eOrigin)
	if _, infos := w.start(e2eWidget); infos["alice"]["presence"] != "online" {
		w.waitFor("alice online after the handover", updateLimit, infoOf("alice", "online"))
	}
	t.Logf("presence flows on the last node %v after SIGTERM", time.Since(stoppedAt))
}
