package main

import (
	"strings"
	"testing"
)

// TestCompareRatios: the ratio table pairs the steps both systems ran and
// divides frontdesk's figures by Janus's.
func TestCompareRatios(t *testing.T) {
	c := &CompareResult{
		Frontdesk: &CallsResult{System: systemFrontdesk, LargestHealthy: 300, Steps: []stepResult{
			{Target: 100, CPUPerCallSecond: 0.001, SetupP99: 20, RTTP99: 2, Healthy: true},
			{Target: 200, CPUPerCallSecond: 0.0012, SetupP99: 30, RTTP99: 3, Healthy: true},
			{Target: 300, CPUPerCallSecond: 0.0011, SetupP99: 40, RTTP99: 5, Healthy: true},
		}},
		Janus: &CallsResult{System: systemJanus, LargestHealthy: 100, Steps: []stepResult{
			{Target: 100, CPUPerCallSecond: 0.004, SetupP99: 200, RTTP99: 4, Healthy: true},
			{Target: 200, CPUPerCallSecond: 0.003, SetupP99: 900, RTTP99: 60, Healthy: false},
		}},
	}
	c.ratios()
	if len(c.Rows) != 2 || c.Rows[0].Calls != 100 || c.Rows[1].Calls != 200 {
		t.Fatalf("rows %+v, want steps 100 and 200", c.Rows)
	}
	if r := c.Rows[0].CPURatio; r != 0.25 {
		t.Errorf("CPU ratio at 100 calls %v, want 0.25", r)
	}
	if r := c.Rows[1].CPURatio; r < 0.399 || r > 0.401 {
		t.Errorf("CPU ratio at 200 calls %v, want 0.4", r)
	}
	if r := c.Rows[1].RTTP99Ratio; r != 0.05 {
		t.Errorf("RTT p99 ratio at 200 calls %v, want 0.05", r)
	}
	if c.HealthyRatio != 3 {
		t.Errorf("largest healthy ratio %v, want 3", c.HealthyRatio)
	}
	var out strings.Builder
	printCompare(&out, c)
	for _, want := range []string{"frontdesk / Janus", "0.0010 / 0.0040", "largest healthy step: frontdesk 300, Janus 100 (ratio 3.00)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("compare table lacks %q:\n%s", want, out.String())
		}
	}
}
