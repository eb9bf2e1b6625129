package sip

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/sip/eventlist"
	"github.com/frontdesk-gw/frontdesk/sip/sipaddr"
)

// Resource lists (RFC 4662, see doc.go): with sip.resource_list, one
// subscription per event package covers every Target the list holds. Its
// loop is runSub with sub.list set; its NOTIFYs are split here into one
// Notification per Target. Targets the list does not hold, and all of
// them while the list fails, keep subscriptions of their own.

// maxListNotifyBody bounds a resource list NOTIFY body (over UDP a
// datagram carries at most 64 KiB anyway).
const maxListNotifyBody = 1 << 20

var (
	// errNotAList: the PBX accepted the list SUBSCRIBE as an ordinary one
	// (no Require: eventlist): it has no such list.
	errNotAList = errors.New("sip: the PBX took the list SUBSCRIBE without Require: eventlist: no such resource list")
	// errNoFullState: no full-state NOTIFY came after the list SUBSCRIBE.
	errNoFullState = errors.New("sip: no full-state NOTIFY for the resource list")
	// errNotInList: the list does not (or no longer) hold this Target; it
	// is subscribed to on its own.
	errNotInList = errors.New("sip: not in the resource list")
)

// listState is what a resource list subscription knows of its list;
// guarded by UA.mu.
type listState struct {
	event Event
	// waiting: from the start until the first full state settled (or the
	// list failed), every Target of the event counts as covered, so none
	// is subscribed on its own before the list could say.
	waiting bool
	// failed: the list does not work now; every Target has its own.
	failed bool
	// members are the sipaddr keys of the resources the list holds.
	members map[string]bool
	// settle ends the grace after a full-state NOTIFY (settleList).
	settle *time.Timer
	// gen tells a settle timer of an earlier full state from the current
	// one.
	gen uint64
	// refreshNow asks the list's loop to refresh at once: a partial NOTIFY
	// skipped a version, so full state is needed (RFC 4662 5.4).
	refreshNow chan struct{}
}

func newListState(ev Event) *listState {
	return &listState{event: ev, waiting: true, members: map[string]bool{}, refreshNow: make(chan struct{}, 1)}
}

// ListStatus is the state of one resource list subscription.
type ListStatus struct {
	Event Event
	URI   string
	// State is "subscribing" (no full state yet), "active" or "failed"
	// (its agents are subscribed one by one meanwhile).
	State string
	// Members is the number of wanted Targets the list holds.
	Members int
}

// addressKey is the identity of a SIP address (sipaddr.Key), "" if it
// does not parse.
func addressKey(uri string) string {
	a, err := sipaddr.Parse(uri)
	if err != nil {
		return ""
	}
	return a.Key()
}

// coveredLocked reports whether t's state comes from a resource list
// rather than a subscription of its own. The caller holds u.mu.
func (u *UA) coveredLocked(t Target) bool {
	sub := u.lists[t.Event]
	if sub == nil || sub.list.failed {
		return false
	}
	return sub.list.waiting || sub.list.members[u.wanted[t]]
}

// reconcileListsLocked starts a list subscription per event package that
// has a list URI and a wanted Target, and stops those no longer needed.
// The caller holds u.mu and reconciles the Targets after.
func (u *UA) reconcileListsLocked() {
	need := map[Event]bool{}
	for t := range u.wanted {
		need[t.Event] = true
	}
	for ev, sub := range u.lists {
		if uri, ok := u.set.lists[ev]; !ok || !need[ev] || uri.String() != sub.uri.String() {
			u.stopListLocked(sub)
			delete(u.lists, ev)
		}
	}
	for ev, uri := range u.set.lists {
		if !need[ev] || u.lists[ev] != nil {
			continue
		}
		sub := u.newSubscriptionLocked(Target{URI: uri.String(), Event: ev})
		sub.list = newListState(ev)
		u.lists[ev] = sub
	}
}

// stopListLocked ends a list subscription; its Targets are reconciled
// after (the caller holds u.mu).
func (u *UA) stopListLocked(sub *subscription) {
	sub.cancel()
	if sub.list.settle != nil {
		sub.list.settle.Stop()
	}
	sub.list.failed = true // covers nothing from now on
}

// listFailedLocked records that the list does not work: what it said of
// every Target is no longer current, and each gets a subscription of its
// own. It returns the Targets to drain. The caller holds u.mu.
func (u *UA) listFailedLocked(sub *subscription, err error) []Target {
	l := sub.list
	var lost []Target
	for t := range u.wanted {
		if t.Event == l.event && u.coveredLocked(t) {
			lost = append(lost, t)
		}
	}
	l.failed, l.waiting = true, false
	clear(l.members)
	l.gen++
	if l.settle != nil {
		l.settle.Stop()
	}
	for _, t := range lost {
		u.enqueueLocked(t, event{lost: fmt.Errorf("resource list %s: %w", sub.t.URI, err)})
	}
	u.reconcileLocked()
	return lost
}

// listVersions follow the RLMI versions of one list dialog. A list
// server that splits its full state (or sends updates back to back) has
// several NOTIFYs in flight at once, and they are handled concurrently, so
// they are taken in any order: each resource keeps the version it was last
// set from and older news of it is ignored; a version that has not come a
// grace after a later one counts as missed, and full state is asked for.
type listVersions struct {
	max      int                     // highest version seen
	full     int                     // version of the latest full-state NOTIFY, -1 before one
	resource map[string]resourceSeen // by address key
	missing  map[int]bool            // versions below max not seen yet (at most maxMissing)

	// stateless checks, while wanted members have had no state, that they
	// get one (watchStatelessLocked).
	stateless *time.Timer
}

type resourceSeen struct {
	version int
	gone    bool // its instance was terminated
	stated  bool // some NOTIFY carried an instance of it
}

// maxMissing bounds the versions a list dialog waits for.
const maxMissing = 64

// onListNotifyLocked applies a NOTIFY of a list dialog d: each
// resource's state goes to its Target, the list's members are updated, and
// Targets move between the list and subscriptions of their own. It returns
// the SIP status to answer and the Targets to drain. The caller holds u.mu
// and has checked the CSeq.
func (u *UA) onListNotifyLocked(d *dialog, req *sip.Request, st subState, n *eventlist.Notification, perr error) (code int, reason string, drain []Target) {
	sub := d.sub
	l := sub.list
	match := u.listMatcherLocked(l.event)
	if n != nil {
		for _, r := range n.Resources {
			if t, _, ok := match(r.URI); ok && u.pendingLocked(t) >= maxPendingNotifies {
				// Not taken: the notifier sends it again.
				u.log.Warn("sip resource list NOTIFY refused: earlier ones still being applied", "list", sub.t.URI)
				return sip.StatusInternalServerError, "Busy Applying Earlier NOTIFYs", nil
			}
		}
	}
	d.remoteSeq = max(d.remoteSeq, req.CSeq().SeqNo)
	d.updateFromNotify(req)
	if d.closing || sub.d != d {
		return sip.StatusOK, "OK", nil
	}
	if st.state == SubTerminated {
		select {
		case sub.lost <- lostEvent{d: d, err: &terminatedError{reason: st.reason, retryAfter: st.retryAfter}}:
		default:
		}
		return sip.StatusOK, "OK", nil
	}
	if n == nil {
		if perr == nil {
			return sip.StatusOK, "OK", nil // no body yet (pending)
		}
		u.log.Warn("sip resource list NOTIFY unreadable; subscribing to each agent instead", "list", sub.t.URI, "error", perr)
		select {
		case sub.lost <- lostEvent{d: d, err: &abandonError{fmt.Errorf("resource list NOTIFY: %w", perr)}}:
		default:
		}
		return sip.StatusOK, "OK", nil
	}
	u.trackVersionLocked(d, n)
	sub.workingLocked()
	lv := d.list
	if n.FullState && n.Version >= lv.full {
		lv.full = n.Version
		l.failed = false
		l.gen++
		gen := l.gen
		if l.settle != nil {
			l.settle.Stop()
		}
		l.settle = time.AfterFunc(u.tm.listGrace, func() { u.settleList(sub, gen) })
	}
	var lost []Target
	for _, r := range n.Resources {
		t, key, wanted := match(r.URI)
		if key == "" {
			continue
		}
		seen := lv.resource[key]
		if seen.version > n.Version {
			continue // a later NOTIFY already said more of it
		}
		in, ok := chooseInstance(r.Instances)
		gone := ok && in.State == eventlist.StateTerminated
		lv.resource[key] = resourceSeen{version: n.Version, gone: gone, stated: ok || seen.stated}
		if gone {
			// The list server's own subscription to it ended: on its own
			// it may still work (or be refused for itself).
			delete(l.members, key)
			if wanted && u.subs[t] == nil && !l.failed {
				lost = append(lost, t)
				u.enqueueLocked(t, event{lost: fmt.Errorf("resource list %s: %w", sub.t.URI, &terminatedError{reason: in.Reason})})
			}
			continue
		}
		l.members[key] = true
		if !wanted || !ok || !u.coveredLocked(t) {
			continue // not ours, no state known yet, or subscribed on its own
		}
		state := SubActive
		if in.State == eventlist.StatePending {
			state = SubPending
		}
		u.enqueueLocked(t, event{note: &Notification{Target: t, State: state, ContentType: in.ContentType,
			Body: append([]byte(nil), in.Body...)}})
		drain = append(drain, t)
	}
	removed := u.reconcileLocked() // members moved off their own subscriptions, or onto them
	drain = append(drain, lost...)
	return sip.StatusOK, "OK", append(drain, removed...)
}

// listMatcherLocked returns what finds the wanted Target of a list
// resource: by address (sipaddr.Key), else by user part alone when one
// Target of the package has that user, for list servers that name
// resources by their own host (an IP address) rather than the agents'
// domain. The key it returns identifies the resource (the Target's own
// key when there is one). The caller holds u.mu.
func (u *UA) listMatcherLocked(ev Event) func(uri string) (Target, string, bool) {
	byKey, byUser := map[string]Target{}, map[string]Target{}
	ambiguous := map[string]bool{}
	for t, key := range u.wanted {
		if t.Event != ev {
			continue
		}
		byKey[key] = t
		if a, err := sipaddr.Parse(t.URI); err == nil {
			if _, dup := byUser[a.User]; dup {
				ambiguous[a.User] = true
			}
			byUser[a.User] = t
		}
	}
	return func(uri string) (Target, string, bool) {
		a, err := sipaddr.Parse(uri)
		if err != nil {
			return Target{}, "", false
		}
		if t, ok := byKey[a.Key()]; ok {
			return t, a.Key(), true
		}
		if t, ok := byUser[a.User]; ok && a.User != "" && !ambiguous[a.User] {
			return t, u.wanted[t], true
		}
		return Target{}, a.Key(), false
	}
}

// trackVersionLocked notes n's version in d and, when versions below it are
// missing, checks a grace later whether they came; if not, the list is
// refreshed for full state (RFC 4662 5.4). The caller holds u.mu.
func (u *UA) trackVersionLocked(d *dialog, n *eventlist.Notification) {
	lv := d.list
	if lv == nil {
		lv = &listVersions{max: n.Version, full: -1, resource: map[string]resourceSeen{}, missing: map[int]bool{}}
		d.list = lv
		if !n.FullState {
			u.log.Info("sip resource list: first NOTIFY without full state", "list", d.sub.t.URI)
		}
		return
	}
	delete(lv.missing, n.Version)
	if n.FullState {
		for v := range lv.missing {
			if v < n.Version {
				delete(lv.missing, v) // full state says all there is
			}
		}
	}
	if n.Version <= lv.max {
		return
	}
	gap := false
	for v := lv.max + 1; v < n.Version && len(lv.missing) < maxMissing; v++ {
		lv.missing[v], gap = true, true
	}
	lv.max = n.Version
	if !gap {
		return
	}
	sub, want := d.sub, n.Version-1
	time.AfterFunc(u.tm.listGrace, func() {
		u.mu.Lock()
		stillMissing := false
		for v := range lv.missing {
			stillMissing = stillMissing || v <= want
		}
		if stillMissing {
			clear(lv.missing)
		}
		u.mu.Unlock()
		if stillMissing {
			u.log.Info("sip resource list NOTIFY missed; asking for full state", "list", sub.t.URI)
			select {
			case sub.list.refreshNow <- struct{}{}:
			default:
			}
		}
	})
}

// chooseInstance picks the instance that best tells a resource's state:
// active with a document, active, pending, terminated.
func chooseInstance(ins []eventlist.Instance) (eventlist.Instance, bool) {
	best, rank := eventlist.Instance{}, 0
	for _, in := range ins {
		r := 1
		switch {
		case in.State == eventlist.StateActive && in.ContentType != "":
			r = 4
		case in.State == eventlist.StateActive:
			r = 3
		case in.State == eventlist.StatePending:
			r = 2
		}
		if r > rank {
			best, rank = in, r
		}
	}
	return best, rank > 0
}

// settleList ends the grace after a full-state NOTIFY: what the list has
// not named since (in that NOTIFY or later ones) is not in it, and those
// Targets are subscribed on their own.
func (u *UA) settleList(sub *subscription, gen uint64) {
	u.mu.Lock()
	l := sub.list
	d := sub.d
	if u.lists[l.event] != sub || l.gen != gen || d == nil || d.list == nil || u.stopping {
		u.mu.Unlock()
		return
	}
	members := map[string]bool{}
	for key, seen := range d.list.resource {
		if seen.version >= d.list.full && !seen.gone {
			members[key] = true
		}
	}
	var dropped []Target
	for t, key := range u.wanted {
		if t.Event == l.event && u.coveredLocked(t) && !members[key] {
			dropped = append(dropped, t)
			u.enqueueLocked(t, event{lost: fmt.Errorf("resource list %s: %w", sub.t.URI, errNotInList)})
		}
	}
	l.members, l.waiting = members, false
	if d.list.stateless == nil {
		u.watchStatelessLocked(sub, d, u.tm.listStateless)
	}
	removed := u.reconcileLocked()
	n := len(members)
	u.mu.Unlock()
	if len(dropped) > 0 {
		u.log.Info("sip resource list does not hold every agent; those are subscribed to on their own",
			"list", sub.t.URI, "members", n, "on_their_own", len(dropped))
	}
	for _, t := range append(dropped, removed...) {
		u.drain(t)
	}
}

// watchStatelessLocked checks, wait from now, that every wanted member of
// the list in d has had a state; while some have none, the list is
// refreshed and the check repeats, its wait doubled up to
// timing.listStatelessMax. A busy Kamailio rls has been seen to mark
// members' states as sent without sending them; on a refresh it renews its
// own subscriptions to the members, and their states come again (RFC 4662
// servers may send full state instead). A member the list server never
// learns of costs a refresh every few minutes. The caller holds u.mu.
func (u *UA) watchStatelessLocked(sub *subscription, d *dialog, wait time.Duration) {
	lv := d.list
	lv.stateless = time.AfterFunc(wait, func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		n := 0
		if u.lists[sub.list.event] == sub && sub.d == d && !u.stopping {
			n = u.statelessMembersLocked(sub.list, lv)
		}
		if n == 0 {
			lv.stateless = nil
			return
		}
		u.log.Info("sip resource list members still without state; refreshing the list",
			"list", sub.t.URI, "without_state", n, "after", wait)
		select {
		case sub.list.refreshNow <- struct{}{}:
		default:
		}
		u.watchStatelessLocked(sub, d, min(2*wait, u.tm.listStatelessMax))
	})
}

// statelessMembersLocked counts the wanted Targets the list l holds of
// which lv has had no state. The caller holds u.mu.
func (u *UA) statelessMembersLocked(l *listState, lv *listVersions) int {
	n := 0
	for t, key := range u.wanted {
		if t.Event == l.event && l.members[key] && !lv.resource[key].stated {
			n++
		}
	}
	return n
}

// listStatusLocked describes the list subscriptions. The caller holds u.mu.
func (u *UA) listStatusLocked() []ListStatus {
	var out []ListStatus
	for _, ev := range []Event{EventPresence, EventDialog} {
		sub := u.lists[ev]
		if sub == nil {
			continue
		}
		ls := ListStatus{Event: ev, URI: sub.t.URI, State: "active"}
		switch {
		case sub.list.failed:
			ls.State = "failed"
		case sub.d == nil || sub.d.list == nil:
			ls.State = "subscribing"
		}
		for t, key := range u.wanted {
			if t.Event == ev && !sub.list.failed && sub.list.members[key] {
				ls.Members++
			}
		}
		out = append(out, ls)
	}
	return out
}

// addListHeaders makes a SUBSCRIBE one for a resource list (RFC 4662 4).
func addListHeaders(req *sip.Request, ev Event) {
	req.RemoveHeader("Accept")
	req.AppendHeader(sip.NewHeader("Accept", eventlist.ContentTypeMultipart+", "+eventlist.ContentTypeRLMI+", "+accept[ev]))
	req.AppendHeader(sip.NewHeader("Supported", "eventlist"))
}

// requiresEventlist reports whether a 2xx to a list SUBSCRIBE says the
// notifier took it as a list.
func requiresEventlist(res *sip.Response) bool {
	for _, v := range headerValues(res, "Require") {
		for tag := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tag), "eventlist") {
				return true
			}
		}
	}
	return false
}

// abandonError ends a dialog the UA gives up on itself (unreadable list
// bodies, no full state): it is unsubscribed rather than just dropped.
type abandonError struct{ err error }

func (e *abandonError) Error() string { return e.err.Error() }
func (e *abandonError) Unwrap() error { return e.err }
