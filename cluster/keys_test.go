package cluster

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/frontdesk-gw/frontdesk/sip"
)

// kvKeyRE is what NATS accepts as a key-value key.
var kvKeyRE = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

func TestTargetKeyRoundTrip(t *testing.T) {
	for _, tg := range []sip.Target{
		{URI: "sip:alice@pbx.example.com", Event: sip.EventPresence},
		{URI: "sip:+49 (30) 123@pbx.example.com;user=phone", Event: sip.EventDialog},
		{URI: "sips:ü@example.org", Event: sip.EventPresence},
	} {
		k := targetKey(tg)
		if !kvKeyRE.MatchString(k) {
			t.Errorf("targetKey(%v) = %q: not a valid KV key", tg, k)
		}
		got, ok := parseTargetKey(k)
		if !ok || got != tg {
			t.Errorf("parseTargetKey(%q) = %v, %v; want %v", k, got, ok, tg)
		}
	}
	for _, bad := range []string{"", "presence", "call.c2lw", "presence.!!"} {
		if _, ok := parseTargetKey(bad); ok {
			t.Errorf("parseTargetKey(%q) accepted", bad)
		}
	}
}

// TestPreferredSpreadsAndIsStable: leases spread over the nodes, and a
// node leaving moves only the keys it was preferred for.
func TestPreferredSpreadsAndIsStable(t *testing.T) {
	nodes := []string{"a", "b", "c"}
	count := map[string]int{}
	moved := 0
	for i := range 300 {
		key := fmt.Sprintf("presence.key%d", i)
		p := preferred(key, nodes)
		count[p]++
		if q := preferred(key, []string{"a", "b"}); p != "c" && q != p {
			moved++
		}
	}
	for _, n := range nodes {
		if count[n] < 60 {
			t.Errorf("node %s preferred for %d of 300 keys; want a fair share: %v", n, count[n], count)
		}
	}
	if moved != 0 {
		t.Errorf("%d keys not preferred for the leaving node moved", moved)
	}
	if preferred("k", nil) != "" {
		t.Error("preferred among no nodes is not empty")
	}
}
