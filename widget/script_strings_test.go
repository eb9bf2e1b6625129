package widget

import (
	"encoding/json"
	"regexp"
	"sort"
	"testing"
)

// scriptKeyUse finds where the widget's scripts name string keys:
// t(…), label(node, 'key'), field('key', …), and the keys Team.blocker
// returns. keyInCall finds the keys in t(…)'s argument: the literals it
// starts with or a ternary chooses ('a' ? 'b' : 'c'), not those compared.
var (
	scriptKeyUse = regexp.MustCompile(`\bt\(([^()]*)\)|\blabel\([^,()]+(?:\([^()]*\))?, '(\w+)'|\bfield\('(\w+)'|return '(reconnecting|unavailableReason|agentBusy|noWebRTC|insecure)'`)
	keyInCall    = regexp.MustCompile(`(?:^|[?:]\s*)'(\w+)'`)
)

// TestScriptStringsShipped checks that every string key the served scripts
// name is in en.json (and so, by TestTranslationsComplete, in every
// language): a key missing there shows an empty label.
func TestScriptStringsShipped(t *testing.T) {
	data, err := i18nFS.ReadFile("i18n/en.json")
	if err != nil {
		t.Fatal(err)
	}
	var en map[string]string
	if err := json.Unmarshal(data, &en); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, script := range []func() ([]byte, error){widgetScript, callScript, waitScript} {
		js, err := script()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range scriptKeyUse.FindAllSubmatch(js, -1) {
			for _, k := range keyInCall.FindAllSubmatch(m[1], -1) {
				used[string(k[1])] = true
			}
			for _, g := range m[2:] {
				if len(g) > 0 {
					used[string(g)] = true
				}
			}
		}
	}
	if len(used) < 60 {
		t.Fatalf("found only %d string keys in the scripts; the pattern no longer matches how they name them", len(used))
	}
	var missing []string
	for k := range used {
		if _, ok := en[k]; !ok {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the widget scripts use string keys that en.json lacks: %v", missing)
	}
}
