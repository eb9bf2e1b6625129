package config

import (
	"strings"
	"testing"
	"time"
)

func TestClusterAbsent(t *testing.T) {
	c, _ := mustParse(t, sipYAML(), "")
	if c.Cluster != nil {
		t.Fatalf("Cluster = %+v, want nil without a cluster section", c.Cluster)
	}
}

func TestClusterDefaults(t *testing.T) {
	t.Setenv(NodeEnv, "node-b")
	t.Setenv("FD_TEST_NATS_PW", "s3cret")
	c, _ := mustParse(t, sipYAML()+"cluster:\n  urls: [nats://127.0.0.1:4222]\n  user: fd\n  password_env: FD_TEST_NATS_PW\n", "")
	cl := c.Cluster
	if cl == nil {
		t.Fatal("Cluster is nil")
	}
	if cl.Node != "node-b" || cl.Name != "frontdesk" || cl.LeaseTTL != 10*time.Second || cl.ResolvedPassword != "s3cret" {
		t.Errorf("cluster = %+v, want node from %s, name frontdesk, lease 10s, the password", cl, NodeEnv)
	}
}

func TestClusterProblems(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"no urls", "cluster:\n  node: a\n", "t.yaml:5: cluster.urls: at least one NATS server URL is required"},
		{"bad url", "cluster:\n  urls: [\"http://x:1\"]\n  node: a\n", `t.yaml:6: cluster.urls[0]: "http://x:1" is not a NATS URL`},
		{"bad node", "cluster:\n  urls: [nats://x:4222]\n  node: a.b\n", `t.yaml:7: cluster.node: "a.b" is not a node name`},
		{"lease too short", "cluster:\n  urls: [nats://x:4222]\n  node: a\n  lease_ttl: 1s\n", "t.yaml:8: cluster.lease_ttl: 1s is outside 3s to 5m0s"},
		{"user without password", "cluster:\n  urls: [nats://x:4222]\n  node: a\n  user: u\n", "t.yaml:8: cluster.user: user and password_env must be set together"},
		{"missing creds file", "cluster:\n  urls: [nats://x:4222]\n  node: a\n  credentials_file: /nonexistent/x.creds\n", `t.yaml:8: cluster.credentials_file: cannot use "/nonexistent/x.creds"`},
		{"cert without key", "cluster:\n  urls: [nats://x:4222]\n  node: a\n  tls_cert: c.pem\n", "t.yaml:8: cluster.tls_cert: tls_cert and tls_key must be set together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse("t.yaml", []byte(sipYAML()+tt.yaml), "")
			if err == nil {
				t.Fatalf("no error for\n%s", numbered(sipYAML()+tt.yaml))
			}
			got := problemStrings(t, err)
			if len(got) != 1 || !strings.HasPrefix(got[0], tt.want) {
				t.Errorf("problems = %q, want one starting %q", got, tt.want)
			}
		})
	}
}

// TestSharedHash: nodes differ in their addresses and names, not in what
// they serve; a different widget or limit is a different hash.
func TestSharedHash(t *testing.T) {
	base := func(listen, node, limit string) string {
		return "sip:\n  registrar: pbx.test\n  username: gw\n  password: x\n  listen: " + listen + ":5060\n" +
			"http:\n  listen: " + listen + ":8080\n" +
			"calls:\n  max_calls_per_agent: " + limit + "\n" +
			"cluster:\n  urls: [nats://127.0.0.1:4222]\n  node: " + node + "\n" +
			"widgets:\n  - id: " + testWidgetID + "\n    type: sidebar\n    agents:\n      - sip: bob\n"
	}
	a, _ := mustParse(t, base("127.0.0.2", "a", "1"), "")
	b, _ := mustParse(t, base("127.0.0.3", "b", "1"), "")
	c, _ := mustParse(t, base("127.0.0.2", "a", "2"), "")
	if a.SharedHash() == "" || a.SharedHash() != b.SharedHash() {
		t.Errorf("hashes of nodes that differ only in addresses and names: %q, %q; want equal", a.SharedHash(), b.SharedHash())
	}
	if a.SharedHash() == c.SharedHash() {
		t.Errorf("hash unchanged by max_calls_per_agent")
	}
}
