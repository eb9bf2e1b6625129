package config

import (
	"strings"
	"testing"
	"time"
)

func TestQueue(t *testing.T) {
	c, _ := mustParse(t, widgetYAML("    queue: {}", "    agents:", "      - sip: bob"), "")
	q := c.Widgets[0].Queue
	if q.MaxWait != 10*time.Minute || q.MaxWaiting != 5 || *q.ConfirmAfter != 2*time.Minute || q.Hold != 30*time.Second {
		t.Errorf("queue defaults %+v (confirm_after %v)", q, *q.ConfirmAfter)
	}
	if c.Limits.MaxWaiting != 1000 {
		t.Errorf("limits.max_waiting = %d, want 1000", c.Limits.MaxWaiting)
	}
	c, _ = mustParse(t, widgetYAML("    queue: {confirm_after: 0s}", "    agents:", "      - sip: bob"), "")
	if *c.Widgets[0].Queue.ConfirmAfter != 0 {
		t.Errorf("confirm_after 0s became %v; it means always ask", *c.Widgets[0].Queue.ConfirmAfter)
	}
	for _, tc := range []struct{ line, want string }{
		{"queue: {max_wait: 10s}", "t.yaml:8: widgets[0].queue.max_wait: 10s is shorter than 30s"},
		{"queue: {max_wait: 3h}", "t.yaml:8: widgets[0].queue.max_wait: 3h0m0s is longer than 2h"},
		{"queue: {max_waiting: -1}", "t.yaml:8: widgets[0].queue.max_waiting: -1 is negative"},
		{"queue: {max_waiting: 5000}", "t.yaml:8: widgets[0].queue.max_waiting: 5000 is more than 1000"},
		{"queue: {confirm_after: -1s}", "t.yaml:8: widgets[0].queue.confirm_after: -1s is negative"},
		{"queue: {hold: 1s}", "t.yaml:8: widgets[0].queue.hold: 1s is shorter than 10s"},
		{"queue: {hold: 10m}", "t.yaml:8: widgets[0].queue.hold: 10m0s is longer than 5m"},
		{"queue: {wait: 1m}", `t.yaml:8: widgets[0].queue: unknown key "wait"`},
	} {
		_, _, err := Parse("t.yaml", []byte(widgetYAML("    "+tc.line, "    agents:", "      - sip: bob")), "")
		if err == nil {
			t.Errorf("%s: accepted", tc.line)
			continue
		}
		if got := strings.Join(problemStrings(t, err), "\n"); !strings.Contains(got, tc.want) {
			t.Errorf("%s:\n%s\nwant %q", tc.line, got, tc.want)
		}
	}
}
