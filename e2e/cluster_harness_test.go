//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// clusterLease is the lease of the cluster tests' nodes: a dead node's
// subscriptions move within it.
const clusterLease = 3 * time.Second

// clusterNode is one `frontdesk serve` of a cluster test, on a loopback
// address of its own (127.0.0.2, .3, …) with a fixed HTTP port so that a
// restarted node is where the load balancer expects it.
type clusterNode struct {
	name, ip string
	httpPort int
	// adminPort is fixed too: the load balancer checks /readyz there.
	adminPort int
	cfgPath   string
	g         *gatewayProc
}

func (n *clusterNode) httpAddr() string { return fmt.Sprintf("%s:%d", n.ip, n.httpPort) }

// startClusterNATS runs a nats-server with JetStream for the test.
func startClusterNATS(t *testing.T) *testbed.NATS {
	t.Helper()
	ns, err := testbed.StartNATS(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("start nats-server: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nats-server log tail:\n%s", ns.LogTail(30))
		}
		_ = ns.Stop()
	})
	return ns
}

// freePortOn finds a TCP port free on ip.
func freePortOn(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// clusterConfig is a test gateway's config as node name on ip: the same
// widgets, limits and cluster settings on every node; only the listen
// addresses and the node name differ. body holds the widgets (and any
// other sections) and is the same for every node.
//
// A limits line for calls, chats or messages_left replaces the test
// default that lifts that limit; other lines are added.
func clusterConfig(pbx, natsURL, name, ip string, httpPort, adminPort int, calls, limits, body string) string {
	var extra []string
	head := gatewayHeadWith(pbx, e2eOrigin, calls, "")
	for _, line := range strings.Split(strings.TrimRight(limits, "\n"), "\n") {
		key, _, _ := strings.Cut(strings.TrimSpace(line), ":")
		if i := strings.Index(head, "\n  "+key+": {per_session: off"); line != "" && i >= 0 {
			end := i + 1 + strings.Index(head[i+1:], "\n")
			head = head[:i+1] + line + head[end:]
		} else if line != "" {
			extra = append(extra, line)
		}
	}
	if len(extra) > 0 {
		head = strings.Replace(head, "http:\n", strings.Join(extra, "\n")+"\nhttp:\n", 1)
	}
	head = strings.Replace(head, "  listen: 127.0.0.1:0\n  register_expiry", "  listen: "+ip+":0\n  register_expiry", 1)
	head = strings.Replace(head, "http:\n  listen: 127.0.0.1:0\n", fmt.Sprintf("http:\n  listen: %s:%d\n", ip, httpPort), 1)
	return head + fmt.Sprintf(`admin:
  listen: %s:%d
cluster:
  urls: [%s]
  node: %s
  lease_ttl: %s
`, ip, adminPort, natsURL, name, clusterLease) + body
}

// startClusterNodes writes the configs of n nodes (node1 on 127.0.0.2, …)
// and starts them.
func startClusterNodes(t *testing.T, tb *testbed.Testbed, ns *testbed.NATS, n int, calls, limits, body string) []*clusterNode {
	t.Helper()
	var nodes []*clusterNode
	for i := range n {
		nodes = append(nodes, addClusterNode(t, tb, ns, i, calls, limits, body))
	}
	return nodes
}

// addClusterNode starts node number i (127.0.0.<i+2>).
func addClusterNode(t *testing.T, tb *testbed.Testbed, ns *testbed.NATS, i int, calls, limits, body string) *clusterNode {
	t.Helper()
	n := &clusterNode{name: fmt.Sprintf("node%d", i+1), ip: fmt.Sprintf("127.0.0.%d", i+2)}
	n.httpPort, n.adminPort = freePortOn(t, n.ip), freePortOn(t, n.ip)
	n.cfgPath = filepath.Join(t.TempDir(), n.name+".yaml")
	if err := os.WriteFile(n.cfgPath, []byte(clusterConfig(tb.Addr(), ns.URL(), n.name, n.ip, n.httpPort, n.adminPort, calls, limits, body)), 0o600); err != nil {
		t.Fatal(err)
	}
	n.start(t)
	return n
}

// start runs the node's gateway (again) and waits until it is registered
// and reaches the engine.
func (n *clusterNode) start(t *testing.T) {
	t.Helper()
	n.g = startGateway(t, n.cfgPath)
	n.g.waitHealth(n.name+" registered and in the cluster", 30*time.Second, func(code int, h map[string]any) bool {
		c, _ := h["cluster"].(map[string]any)
		return code == 200 && c != nil && c["connected"] == true
	})
}

// kill ends the node's process at once (SIGKILL), as a crash would.
func (n *clusterNode) kill() {
	_ = n.g.cmd.Process.Signal(syscall.SIGKILL)
	<-n.g.done
}

// sipAddr is the node's SIP listening address, from its log.
func (n *clusterNode) sipAddr(t *testing.T) string {
	t.Helper()
	for _, l := range n.g.logLines() {
		if l["msg"] == "sip listening" {
			return l["addr"].(string)
		}
	}
	t.Fatalf("%s: no sip listening line", n.name)
	return ""
}

// clusterStatus is the node's /healthz cluster object.
func (n *clusterNode) clusterStatus() map[string]any {
	_, h := n.g.health()
	c, _ := h["cluster"].(map[string]any)
	return c
}

// dialogsByTarget counts the PBX's live SUBSCRIBE dialogs per "user event",
// leaving out those from the given sources (dead nodes, whose dialogs stay
// until they expire).
func dialogsByTarget(t *testing.T, tb *testbed.Testbed, exclude ...string) map[string]int {
	t.Helper()
	ds, err := tb.SubscriptionDialogs()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, d := range ds {
		skip := false
		for _, x := range exclude {
			skip = skip || d.Source == x
		}
		if !skip {
			out[d.User+" "+d.Event]++
		}
	}
	return out
}

// waitUntil polls cond (bounded) and returns how long it took.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}
