//go:build integration

package cluster

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// byeUA is a UA that records the BYEs the engine sends for other nodes'
// calls.
type byeUA struct {
	fakeUA
	mu   sync.Mutex
	byes []sip.DialogID
	at   []time.Time
}

func (u *byeUA) Bye(_ context.Context, d sip.DialogID) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.byes = append(u.byes, d)
	u.at = append(u.at, time.Now())
	return 200, nil
}

func (u *byeUA) sent() ([]sip.DialogID, []time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]sip.DialogID(nil), u.byes...), append([]time.Time(nil), u.at...)
}

// startByeNode is startNode with a UA that can send BYE.
func startByeNode(t *testing.T, url, name string) (*testNode, *byeUA) {
	t.Helper()
	ua := &byeUA{}
	n := &testNode{ua: &ua.fakeUA, store: presence.NewStore(), done: make(chan struct{})}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("node", name)
	e, err := New(Options{
		Config: config.Cluster{URLs: []string{url}, Node: name, Name: "t", LeaseTTL: testTTL},
		UA:     ua, Store: n.store, Hub: presence.NewHub(0), Logger: log, ConfigHash: "h1",
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
	return n, ua
}

func callsBucket(t *testing.T, n *testNode) jetstream.KeyValue {
	t.Helper()
	kv, err := n.e.bucketOf(func(b *buckets) jetstream.KeyValue { return b.calls })
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// TestCallSlotFreedDespiteRenewal: a call ends while its slot's renewal
// is on its way (the slot was written after the revision the node knew):
// the slot is free at once for the agent's next call, not a lease later.
func TestCallSlotFreedDespiteRenewal(t *testing.T) {
	ns := startNATS(t)
	a := startNode(t, ns.URL(), "a")
	waitFor(t, "connected", 3*testTTL, func() bool { return a.e.Status().Connected })
	const agent = "sip:alice@pbx.test"
	release, ok, err := a.e.AcquireCall(agent, "s1", 1)
	if err != nil || !ok {
		t.Fatalf("first call's slot: ok %v, err %v", ok, err)
	}
	// The renewal lands: the slot's revision moves past the one a knows.
	kv := callsBucket(t, a)
	ctx, cancel := opCtx()
	defer cancel()
	key := "s." + agentKey(agent) + ".0"
	en, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update(ctx, key, en.Value(), en.Revision()); err != nil {
		t.Fatal(err)
	}
	release()
	if _, ok, err := a.e.AcquireCall(agent, "s2", 1); err != nil || !ok {
		t.Errorf("the next call's slot right after the first call ended: ok %v, err %v; want it free", ok, err)
	}
}

// TestCallsOfSilentNodeKeptForLease: a node with an answered call stops
// answering on NATS (as for a moment while it reconnects, or for good
// when it died). Its call is not ended while its last heartbeat is
// younger than the lease; once it is older, one surviving node ends the
// call's PBX leg with BYE, before the slot runs out.
func TestCallsOfSilentNodeKeptForLease(t *testing.T) {
	ns := startNATS(t)
	a := startNode(t, ns.URL(), "a")
	b, ua := startByeNode(t, ns.URL(), "b")
	waitFor(t, "both nodes see each other", 3*testTTL, func() bool {
		return a.e.Status().Nodes == 2 && b.e.Status().Nodes == 2
	})
	if _, ok, err := a.e.AcquireCall("sip:alice@pbx.test", "s1", 1); err != nil || !ok {
		t.Fatalf("call slot: ok %v, err %v", ok, err)
	}
	d := sip.DialogID{CallID: "call-1", LocalTag: "l", RemoteTag: "r", Target: "sip:alice@127.0.0.1"}
	a.e.RecordCall("s1", d)
	a.stop() // no responder on a's subject from now on; its heartbeat is at most a third of a lease old
	stopped := time.Now()
	// a's last heartbeat was at most ttl/3 before it stopped: for 2/3 of
	// a lease more it was heard within the lease.
	for time.Since(stopped) < 2*testTTL/3-100*time.Millisecond {
		if byes, at := ua.sent(); len(byes) > 0 {
			t.Fatalf("BYE %v after %v, while the node's last heartbeat was younger than the lease", byes, at[0].Sub(stopped))
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, "b ends the call with BYE", callSlotTTL*testTTL, func() bool {
		byes, _ := ua.sent()
		return len(byes) > 0
	})
	byes, at := ua.sent()
	if len(byes) != 1 || byes[0].CallID != "call-1" {
		t.Errorf("BYEs %+v, want one for call-1", byes)
	}
	t.Logf("BYE for the silent node's call %v after it stopped (lease %v)", at[0].Sub(stopped).Round(10*time.Millisecond), testTTL)
}
