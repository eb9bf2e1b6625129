//go:build integration

package cluster

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestHandoverDuringRenewals: SIGTERM reaches a node while it renews its
// leases (a round of a few hundred writes): what the round renews after
// the hand-over is given back too, so the draining node subscribes to
// nothing and the other node holds every lease at once, not a lease
// later.
func TestHandoverDuringRenewals(t *testing.T) {
	ns := startNATS(t)
	ts := testTargets(150) // 300 leases
	a := startNode(t, ns.URL(), "a")
	a.e.SetTargets(ts)
	waitFor(t, "a holds every lease", 3*testTTL, func() bool { return len(a.ua.subscribed()) == len(ts) })
	b := startNode(t, ns.URL(), "b")
	b.e.SetTargets(ts)
	waitFor(t, "both nodes see each other", 3*testTTL, func() bool {
		return a.e.Status().Nodes == 2 && b.e.Status().Nodes == 2
	})

	// Watch the leases for a's next renewal round.
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTTL)
	defer cancel()
	kv, err := js.KeyValue(ctx, "t-leases")
	if err != nil {
		t.Fatal(err)
	}
	w, err := kv.WatchAll(ctx, jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop() }()
	for renewed := false; !renewed; {
		select {
		case en := <-w.Updates():
			var rec leaseRecord
			renewed = en != nil && en.Operation() == jetstream.KeyValuePut &&
				json.Unmarshal(en.Value(), &rec) == nil && rec.Node == "a"
		case <-ctx.Done():
			t.Fatal("no renewal by a within three leases")
		}
	}
	start := time.Now()
	a.e.Handover(context.Background()) // the round goes on meanwhile
	waitFor(t, "b holds every lease", testTTL/2, func() bool { return len(b.ua.subscribed()) == len(ts) })
	t.Logf("b holds every lease %v after the hand-over", time.Since(start).Round(time.Millisecond))
	waitFor(t, "the draining node subscribes to nothing", testTTL/2, func() bool { return len(a.ua.subscribed()) == 0 })
}
