package cluster

import (
	"encoding/base64"
	"hash/fnv"
	"strings"

	"github.com/frontdesk-gw/frontdesk/sip"
)

// targetKey is a Target as a key of the leases and availability buckets:
// KV keys allow only letters, digits and -_=., so the event and URI are
// base64url-encoded (reversible, for operators reading the bucket).
func targetKey(t sip.Target) string {
	return string(t.Event) + "." + base64.RawURLEncoding.EncodeToString([]byte(t.URI))
}

// parseTargetKey reverses targetKey.
func parseTargetKey(k string) (sip.Target, bool) {
	ev, enc, ok := strings.Cut(k, ".")
	if !ok {
		return sip.Target{}, false
	}
	uri, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || (ev != string(sip.EventPresence) && ev != string(sip.EventDialog)) {
		return sip.Target{}, false
	}
	return sip.Target{URI: string(uri), Event: sip.Event(ev)}, true
}

// preferred picks the node that should hold key's lease among live nodes
// (rendezvous hashing: every node computes the same answer from the same
// list, and a node leaving moves only its own keys). "" when none.
func preferred(key string, live []string) string {
	var best string
	var bestScore uint64
	for _, n := range live {
		h := fnv.New64a()
		_, _ = h.Write([]byte(n))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(key))
		if s := h.Sum64(); best == "" || s > bestScore {
			best, bestScore = n, s
		}
	}
	return best
}
