//go:build integration

package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/testbed"
	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// fakeUA records what the engine asks the SIP side to subscribe to.
type fakeUA struct {
	mu   sync.Mutex
	want []sip.Target
}

func (u *fakeUA) SetSubscriptions(want []sip.Target) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.want = slices.Clone(want)
}

func (u *fakeUA) subscribed() []sip.Target {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.want)
}

// testNode is one engine with its own store, as one gateway has.
type testNode struct {
	e      *Engine
	ua     *fakeUA
	store  *presence.Store
	cancel context.CancelFunc
	done   chan struct{}
}

const testTTL = 3 * time.Second

func startNode(t *testing.T, url, name string) *testNode {
	t.Helper()
	n := &testNode{ua: &fakeUA{}, store: presence.NewStore(), done: make(chan struct{})}
	hub := presence.NewHub(0)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("node", name)
	e, err := New(Options{
		Config: config.Cluster{URLs: []string{url}, Node: name, Name: "t", LeaseTTL: testTTL},
		UA:     n.ua, Store: n.store, Hub: hub, Logger: log, ConfigHash: "h1",
	})
	if err != nil {
		t.Fatal(err)
	}
	n.e = e
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() {
		defer close(n.done)
		_ = e.Run(ctx)
	}()
	t.Cleanup(n.stop)
	return n
}

// stop ends the node without handing over (as if it died).
func (n *testNode) stop() {
	n.cancel()
	<-n.done
}

func startNATS(t *testing.T) *testbed.NATS {
	t.Helper()
	ns, err := testbed.StartNATS(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ns.Stop() })
	return ns
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func testTargets(n int) []sip.Target {
	var ts []sip.Target
	for i := range n {
		uri := fmt.Sprintf("sip:agent%d@pbx.test", i)
		ts = append(ts, sip.Target{URI: uri, Event: sip.EventPresence}, sip.Target{URI: uri, Event: sip.EventDialog})
	}
	return ts
}

// holders counts, per target, the nodes subscribing to it.
func holders(nodes []*testNode) map[sip.Target]int {
	out := map[sip.Target]int{}
	for _, n := range nodes {
		for _, t := range n.ua.subscribed() {
			out[t]++
		}
	}
	return out
}

// exactlyOnce reports whether every target is subscribed by exactly one
// node.
func exactlyOnce(nodes []*testNode, ts []sip.Target) bool {
	h := holders(nodes)
	if len(h) != len(ts) {
		return false
	}
	for _, t := range ts {
		if h[t] != 1 {
			return false
		}
	}
	return true
}

// TestLeasesOneHolderEach: three nodes share ten agents' subscriptions,
// each (agent, event) held by exactly one of them, spread over all three.
func TestLeasesOneHolderEach(t *testing.T) {
	ns := startNATS(t)
	ts := testTargets(10)
	var nodes []*testNode
	for _, name := range []string{"a", "b", "c"} {
		nodes = append(nodes, startNode(t, ns.URL(), name))
	}
	// Targets only once every node sees the others: a free lease goes to
	// its preferred node among the live ones, so a node that is not seen
	// yet would be left without any (renewals keep leases where they are).
	waitFor(t, "every node sees three", 3*testTTL, func() bool {
		for _, n := range nodes {
			if st := n.e.Status(); !st.Connected || st.Nodes != 3 {
				return false
			}
		}
		return true
	})
	for _, n := range nodes {
		n.e.SetTargets(ts)
	}
	waitFor(t, "every target subscribed by exactly one node", 3*testTTL, func() bool { return exactlyOnce(nodes, ts) })
	for _, n := range nodes {
		if len(n.ua.subscribed()) == 0 {
			t.Errorf("node %s holds no lease: %v", n.e.Node(), holders(nodes))
		}
		if st := n.e.Status(); !st.Connected || st.Nodes != 3 {
			t.Errorf("node %s status %+v, want connected with 3 nodes", n.e.Node(), st)
		}
	}
	// It stays so: renewals keep the leases where they are.
	time.Sleep(2 * testTTL)
	if !exactlyOnce(nodes, ts) {
		t.Errorf("after two lease periods: %v", holders(nodes))
	}
}

// TestTakeoverAfterDeath: a node that stops without handing over loses
// its leases within the lease time; the others take them.
func TestTakeoverAfterDeath(t *testing.T) {
	ns := startNATS(t)
	ts := testTargets(4)
	a, b := startNode(t, ns.URL(), "a"), startNode(t, ns.URL(), "b")
	a.e.SetTargets(ts)
	b.e.SetTargets(ts)
	nodes := []*testNode{a, b}
	waitFor(t, "leases spread", 3*testTTL, func() bool { return exactlyOnce(nodes, ts) })
	dead := a
	if len(a.ua.subscribed()) == 0 {
		dead = b
	}
	survivor := b
	if dead == b {
		survivor = a
	}
	dead.stop()
	took := waitFor(t, "survivor holds every lease", 3*testTTL, func() bool { return len(survivor.ua.subscribed()) == len(ts) })
	t.Logf("takeover after a node died: %v (lease %v)", took, testTTL)
	if took > testTTL+testTTL/2 {
		t.Errorf("takeover took %v, more than the lease %v and a half", took, testTTL)
	}
}

// TestHandover: a draining node gives its leases back and another one
// subscribes at once, not after the lease.
func TestHandover(t *testing.T) {
	ns := startNATS(t)
	ts := testTargets(4)
	a, b := startNode(t, ns.URL(), "a"), startNode(t, ns.URL(), "b")
	a.e.SetTargets(ts)
	b.e.SetTargets(ts)
	waitFor(t, "leases spread", 3*testTTL, func() bool { return exactlyOnce([]*testNode{a, b}, ts) })
	start := time.Now()
	a.e.Handover(context.Background())
	if got := a.ua.subscribed(); len(got) != 0 {
		t.Errorf("draining node still subscribes to %v", got)
	}
	waitFor(t, "b holds every lease", testTTL, func() bool { return len(b.ua.subscribed()) == len(ts) })
	t.Logf("handover took %v", time.Since(start))
}

// TestAvailabilityShared: what the holder's store hears reaches the other
// nodes' stores, and a node that joins later gets it from the snapshot.
func TestAvailabilityShared(t *testing.T) {
	ns := startNATS(t)
	ts := testTargets(1)
	a, b := startNode(t, ns.URL(), "a"), startNode(t, ns.URL(), "b")
	a.e.SetTargets(ts)
	b.e.SetTargets(ts)
	nodes := []*testNode{a, b}
	waitFor(t, "leases taken", 3*testTTL, func() bool { return exactlyOnce(nodes, ts) })
	holder, other := a, b
	if !a.e.Holds(ts[0]) {
		holder, other = b, a
	}
	uri := ts[0].URI
	pidf := `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + uri + `"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`
	if _, err := holder.store.ApplyPresence(uri, "application/pidf+xml", []byte(pidf)); err != nil {
		t.Fatal(err)
	}
	holder.e.Changed(ts[0])
	agent := config.Agent{Mode: config.ModePresence, URI: uri}
	waitFor(t, "the other node sees the agent online", 5*time.Second, func() bool {
		return other.store.Availability(agent) == presence.Available
	})
	late := startNode(t, ns.URL(), "c")
	late.e.SetTargets(ts)
	waitFor(t, "a node joining later sees it from the snapshot", 5*time.Second, func() bool {
		return late.store.Availability(agent) == presence.Available
	})
}

// TestOutageStandaloneAndConverge: NATS stops: nodes say so, and after the
// lease each subscribes to everything itself; NATS returns: one holder per
// target again.
func TestOutageStandaloneAndConverge(t *testing.T) {
	ns := startNATS(t)
	ts := testTargets(3)
	a, b := startNode(t, ns.URL(), "a"), startNode(t, ns.URL(), "b")
	a.e.SetTargets(ts)
	b.e.SetTargets(ts)
	nodes := []*testNode{a, b}
	waitFor(t, "leases spread", 3*testTTL, func() bool { return exactlyOnce(nodes, ts) })
	ns.Kill()
	waitFor(t, "nodes notice the outage", 3*testTTL, func() bool {
		return !a.e.Status().Connected && !b.e.Status().Connected
	})
	waitFor(t, "standalone: every node subscribes to everything", 3*testTTL, func() bool {
		return len(a.ua.subscribed()) == len(ts) && len(b.ua.subscribed()) == len(ts) && a.e.Status().Standalone
	})
	if err := ns.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("holders %v; a %+v b %+v", holders(nodes), a.e.Status(), b.e.Status())
		}
	}()
	waitFor(t, "converged: one holder per target", 4*testTTL, func() bool {
		return a.e.Status().Connected && b.e.Status().Connected && exactlyOnce(nodes, ts)
	})
	if d := a.e.Status().Disconnects; d < 1 {
		t.Errorf("disconnects = %d, want at least 1", d)
	}
}

// TestConfigMismatch: a node whose config hash differs is named by the
// others.
func TestConfigMismatch(t *testing.T) {
	ns := startNATS(t)
	a, b := startNode(t, ns.URL(), "a"), startNode(t, ns.URL(), "b")
	waitFor(t, "both see two nodes, same config", 3*testTTL, func() bool {
		return a.e.Status().Nodes == 2 && b.e.Status().Nodes == 2
	})
	if m := a.e.Status().ConfigMismatch; len(m) != 0 {
		t.Fatalf("mismatch %v with equal configs", m)
	}
	b.e.SetConfigHash("h2")
	waitFor(t, "a names b", 2*testTTL, func() bool {
		m := a.e.Status().ConfigMismatch
		return len(m) == 1 && m[0] == "b"
	})
}
