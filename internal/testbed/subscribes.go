package testbed

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// SubscribeSeen is an initial SUBSCRIBE Kamailio accepted for handling
// (after authentication), as its log tells.
type SubscribeSeen struct {
	Source string // host:port it came from
	Event  string
	URI    string // Request-URI
}

var subscribeLine = regexp.MustCompile(`initial SUBSCRIBE from (\S+) event (\S+) to (\S+)`)

// InitialSubscribes lists the initial SUBSCRIBEs from outside Kamailio
// since it last started (its own back-end subscriptions of resource lists
// are not among them): what a PBX admin would count as subscriptions.
func (t *Testbed) InitialSubscribes() ([]SubscribeSeen, error) {
	f, err := os.Open(filepath.Join(t.dir, "kamailio.log"))
	if err != nil {
		return nil, fmt.Errorf("testbed: kamailio log: %w", err)
	}
	defer f.Close()
	var out []SubscribeSeen
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := subscribeLine.FindStringSubmatch(sc.Text()); m != nil {
			out = append(out, SubscribeSeen{Source: m[1], Event: m[2], URI: m[3]})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("testbed: kamailio log: %w", err)
	}
	return out, nil
}
