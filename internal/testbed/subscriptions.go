package testbed

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// SubscriptionDialog is one SUBSCRIBE dialog Kamailio holds: who watches
// which user's event, from which address.
type SubscriptionDialog struct {
	Event, User, CallID, Source string
}

var subscribeLogRE = regexp.MustCompile(`subscription-dialog event=(\S+) user=(\S+) callid=(\S+) expires=(\S+) source=(\S+)`)

// SubscriptionDialogs lists the SUBSCRIBE dialogs Kamailio holds now, read
// from its log (the test bed's config logs each authenticated SUBSCRIBE):
// a dialog (Call-ID) counts from its first SUBSCRIBE until one with
// Expires: 0. Dialogs that ran out without an unsubscribe still count, so
// give tests' dialogs expiries longer than the test. The log starts anew
// when the PBX restarts, as Kamailio's in-memory dialogs do.
func (t *Testbed) SubscriptionDialogs() ([]SubscriptionDialog, error) {
	f, err := os.Open(filepath.Join(t.dir, "kamailio.log"))
	if err != nil {
		return nil, fmt.Errorf("testbed: read kamailio log: %w", err)
	}
	defer f.Close()
	live := map[string]SubscriptionDialog{}
	var order []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := subscribeLogRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		d := SubscriptionDialog{Event: m[1], User: m[2], CallID: m[3], Source: m[5]}
		if n, err := strconv.Atoi(m[4]); err == nil && n == 0 {
			delete(live, d.CallID)
			continue
		}
		if _, ok := live[d.CallID]; !ok {
			order = append(order, d.CallID)
		}
		live[d.CallID] = d
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("testbed: read kamailio log: %w", err)
	}
	var out []SubscriptionDialog
	for _, id := range order {
		if d, ok := live[id]; ok {
			out = append(out, d)
			delete(live, id)
		}
	}
	return out, nil
}
