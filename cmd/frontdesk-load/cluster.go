package main

// Cluster runs (--nodes N > 1): a nats-server of the run's own and N
// gateways with one config but their own addresses, node i on 127.0.0.(i+1).

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// clusterLease is the nodes' lease_ttl.
const clusterLease = 5 * time.Second

// nodeIP is node i's loopback address (node 0 on 127.0.0.2).
func nodeIP(i int) string { return fmt.Sprintf("127.0.0.%d", i+2) }

// clusterGatewayConfig is gatewayConfig for node i of a cluster on NATS at
// natsURL: its own listen addresses and name, the same everything else.
func clusterGatewayConfig(registrar, natsURL string, i int) string {
	cfg := gatewayConfig(registrar)
	ip := nodeIP(i)
	cfg = strings.Replace(cfg, "  listen: 127.0.0.1:0\n  trusted_sources", "  listen: "+ip+":0\n  trusted_sources", 1)
	cfg = strings.Replace(cfg, "http:\n  listen: 127.0.0.1:0\n", "http:\n  listen: "+ip+":0\n", 1)
	return cfg + fmt.Sprintf(`admin:
  listen: %s:0
cluster:
  urls: [%s]
  node: node%d
  lease_ttl: %s
`, ip, natsURL, i+1, clusterLease)
}

// startCluster starts NATS and n gateways; the caller stops them (stop)
// and the NATS server.
func startCluster(ctx context.Context, bin, dir, registrar string, n int) ([]*gateway, *testbed.NATS, error) {
	ns, err := testbed.StartNATS(ctx, filepath.Join(dir, "nats"))
	if err != nil {
		return nil, nil, err
	}
	changes := make(chan time.Time, 4*maxRounds)
	var gws []*gateway
	for i := range n {
		cfgDir := filepath.Join(dir, fmt.Sprintf("config-node%d", i+1))
		if err := os.MkdirAll(cfgDir, 0o700); err != nil {
			return gws, ns, fmt.Errorf("config directory: %w", err)
		}
		cfgPath := filepath.Join(cfgDir, "frontdesk.yaml")
		if err := os.WriteFile(cfgPath, []byte(clusterGatewayConfig(registrar, ns.URL(), i)), 0o600); err != nil {
			return gws, ns, fmt.Errorf("write node config: %w", err)
		}
		gw, err := startGatewayTo(ctx, bin, cfgPath, filepath.Join(dir, fmt.Sprintf("frontdesk-node%d.log", i+1)), "debug", -1, changes)
		if err != nil {
			return gws, ns, err
		}
		gws = append(gws, gw)
	}
	return gws, ns, nil
}

// waitClusterReady waits until every node is registered and in the
// cluster and the nodes together hold want active subscriptions.
func waitClusterReady(ctx context.Context, gws []*gateway, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		subs, active, ready := 0, 0, true
		for _, g := range gws {
			code, h, err := g.health(ctx)
			if err != nil || code != http.StatusOK || h.SIP.Registration != "registered" || h.Cluster == nil || !h.Cluster.Connected {
				ready = false
			}
			subs += h.SIP.Subscriptions
			active += h.SIP.Active
			if !g.alive() {
				return fmt.Errorf("gateway exited: %v; see %s", g.exited(), g.logPath)
			}
		}
		if ready && subs == want && active == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster not ready with %d active subscriptions within %v (subscriptions %d, active %d)",
				want, timeout, subs, active)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// pbxSubscriptions counts the SUBSCRIBE dialogs Kamailio holds.
func pbxSubscriptions(tb *testbed.Testbed) (int, error) {
	ds, err := tb.SubscriptionDialogs()
	return len(ds), err
}
