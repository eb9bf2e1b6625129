package config

import (
	"slices"
	"time"
)

// Defaults of waiting in line (widgets[].queue, limits.max_waiting).
const (
	DefaultQueueMaxWait      = 10 * time.Minute
	DefaultQueueMaxWaiting   = 5
	DefaultQueueConfirmAfter = 2 * time.Minute
	DefaultQueueHold         = 30 * time.Second
	DefaultMaxWaiting        = 1000
	DefaultGroupRingTime     = 20 * time.Second
	maxGroupMembers          = 50
)

func (v *validator) queue(path string, q *Queue) {
	v.duration(path+".max_wait", &q.MaxWait, DefaultQueueMaxWait, 30*time.Second)
	if q.MaxWait > 2*time.Hour {
		v.p.errf(path+".max_wait", "%v is longer than 2h", q.MaxWait)
	}
	v.count(path+".max_waiting", &q.MaxWaiting, DefaultQueueMaxWaiting)
	if q.MaxWaiting > 1000 {
		v.p.errf(path+".max_waiting", "%d is more than 1000", q.MaxWaiting)
	}
	switch c := q.ConfirmAfter; {
	case c == nil:
		d := DefaultQueueConfirmAfter
		q.ConfirmAfter = &d
	case *c < 0:
		v.p.errf(path+".confirm_after", "%v is negative", *c)
	}
	v.duration(path+".hold", &q.Hold, DefaultQueueHold, 10*time.Second)
	if q.Hold > 5*time.Minute {
		v.p.errf(path+".hold", "%v is longer than 5m", q.Hold)
	}
}

// groups checks w's hunt groups and contact_us (after its agents).
func (v *validator) groups(wpath string, w *Widget, c *Config) {
	agents := map[string]bool{}
	for _, a := range w.Agents {
		agents[a.ID] = true
	}
	ids := map[string]string{}
	for i := range w.Groups {
		path := indexPath(wpath+".groups", i)
		g := &w.Groups[i]
		switch {
		case g.ID == "":
			v.p.errf(path+".id", "is required (the group's id in the Widget-API)")
		case !agentIDRe.MatchString(g.ID):
			v.p.errf(path+".id", "%q may only have letters, digits, '.', '_' and '-' (at most 64)", g.ID)
		case agents[g.ID]:
			v.p.errf(path+".id", "%q is the id of an agent of this widget", g.ID)
		case ids[g.ID] != "":
			v.p.errf(path+".id", "%q is already the id of %s (line %d)", g.ID, ids[g.ID], v.p.line(ids[g.ID]))
		default:
			ids[g.ID] = path
		}
		if g.Name == "" {
			g.Name = g.ID
		}
		if len(g.Members) == 0 {
			for _, a := range w.Agents {
				g.Members = append(g.Members, a.ID)
			}
		}
		if len(g.Members) > maxGroupMembers {
			v.p.errf(path+".members", "has %d members, more than %d", len(g.Members), maxGroupMembers)
		}
		for j, m := range g.Members {
			switch {
			case !agents[m]:
				v.p.errf(indexPath(path+".members", j), "%q is not an agent id of this widget", m)
			case slices.Index(g.Members, m) != j:
				v.p.errf(indexPath(path+".members", j), "%q is listed twice", m)
			}
		}
		switch g.Order {
		case "":
			g.Order = OrderSequential
		case OrderSequential, OrderRandom:
		default:
			v.p.errf(path+".order", "%s", oneOf(g.Order, OrderSequential, OrderRandom))
		}
		v.ringTime(path+".ring_time", &g.RingTime, c.Calls)
	}
	if w.ContactUs != "" {
		switch {
		case w.Type != WidgetSidebar:
			v.p.errf(wpath+".contact_us", "is for sidebars, whose \"contact us\" button calls it")
		case ids[w.ContactUs] == "":
			v.p.errf(wpath+".contact_us", "%q is not the id of a group of this widget", w.ContactUs)
		}
	}
}

// ringTime defaults and checks a group's ring time: each member rings at
// most calls.ring_timeout, and at most calls.rtp_timeout, since a member's
// early media is held back from the browser until the call is answered
// (the next member may answer instead).
func (v *validator) ringTime(path string, d *time.Duration, calls Calls) {
	if *d == 0 {
		*d = DefaultContactRingTime(calls)
		return
	}
	v.duration(path, d, 0, 5*time.Second)
	switch {
	case *d > calls.RingTimeout:
		v.p.errf(path, "%v is longer than calls.ring_timeout (%v)", *d, calls.RingTimeout)
	case *d > calls.RTPTimeout:
		v.p.errf(path, "%v is longer than calls.rtp_timeout (%v): a member's early media waits for the answer", *d, calls.RTPTimeout)
	}
}

// DefaultContactRingTime is how long each member of a group without
// ring_time rings, and each agent "contact us" tries without a group.
func DefaultContactRingTime(calls Calls) time.Duration {
	return min(DefaultGroupRingTime, calls.RingTimeout, calls.RTPTimeout)
}
