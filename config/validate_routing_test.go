package config

import (
	"slices"
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

func TestGroups(t *testing.T) {
	c, _ := mustParse(t, widgetYAML(
		"    contact_us: all",
		"    groups:",
		"      - {id: all}",
		"      - {id: pair, name: Pair, members: [carl, ann], order: random, ring_time: 10s}",
		"    agents:",
		"      - sip: ann",
		"      - sip: bob",
		"      - sip: carl",
	), "")
	w := c.Widgets[0]
	all, pair := w.Groups[0], w.Groups[1]
	if all.Name != "all" || !slices.Equal(all.Members, []string{"ann", "bob", "carl"}) || all.Order != OrderSequential || all.RingTime != 20*time.Second {
		t.Errorf("group defaults: %+v", all)
	}
	if pair.Order != OrderRandom || pair.RingTime != 10*time.Second || !slices.Equal(pair.Members, []string{"carl", "ann"}) {
		t.Errorf("group: %+v", pair)
	}
	// A short call timeout makes a short default ring time.
	c, _ = mustParse(t, sipYAML()+"calls: {rtp_timeout: 8s}\nwidgets:\n  - id: "+testWidgetID+"\n    type: sidebar\n    groups: [{id: g}]\n    agents: [{sip: ann}]\n", "")
	if got := c.Widgets[0].Groups[0].RingTime; got != 8*time.Second {
		t.Errorf("default ring time with rtp_timeout 8s: %v", got)
	}
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{"    groups: [{name: G}]"}, "t.yaml:8: widgets[0].groups[0].id is required"},
		{[]string{"    groups: [{id: bob}]"}, `widgets[0].groups[0].id: "bob" is the id of an agent of this widget`},
		{[]string{"    groups: [{id: g}, {id: g}]"}, `widgets[0].groups[1].id: "g" is already the id of widgets[0].groups[0]`},
		{[]string{"    groups: [{id: g, members: [bob, zed]}]"}, `widgets[0].groups[0].members[1]: "zed" is not an agent id of this widget`},
		{[]string{"    groups: [{id: g, members: [bob, bob]}]"}, `widgets[0].groups[0].members[1]: "bob" is listed twice`},
		{[]string{"    groups: [{id: g, order: shuffle}]"}, `widgets[0].groups[0].order: "shuffle" is not one of sequential, random`},
		{[]string{"    groups: [{id: g, ring_time: 2s}]"}, "widgets[0].groups[0].ring_time: 2s is shorter than 5s"},
		{[]string{"    groups: [{id: g, ring_time: 45s}]"}, "widgets[0].groups[0].ring_time: 45s is longer than calls.rtp_timeout (30s)"},
		{[]string{"    groups: [{id: g, ring_time: 2m}]"}, "widgets[0].groups[0].ring_time: 2m0s is longer than calls.ring_timeout (1m0s)"},
		{[]string{"    contact_us: nobody"}, `t.yaml:8: widgets[0].contact_us: "nobody" is not the id of a group of this widget`},
	} {
		lines := append(tc.lines, "    agents:", "      - sip: bob")
		_, _, err := Parse("t.yaml", []byte(widgetYAML(lines...)), "")
		if err == nil {
			t.Errorf("%v: accepted", tc.lines)
			continue
		}
		if got := strings.Join(problemStrings(t, err), "\n"); !strings.Contains(got, tc.want) {
			t.Errorf("%v:\n%s\nwant %q", tc.lines, got, tc.want)
		}
	}
}
