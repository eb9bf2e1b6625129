package sip

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip/eventlist"
)

const listURI = "sip:agents@example.test"

func pidfOf(user, basic string) []byte {
	return []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:` + user + `@example.test"><tuple id="t"><status><basic>` + basic + `</basic></status></tuple></presence>`)
}

// listNotify builds the body of a list NOTIFY naming users as active with
// a PIDF document each.
func listNotify(version int, full bool, users ...string) (string, string) {
	n := &eventlist.Notification{URI: listURI, Version: version, FullState: full}
	for _, u := range users {
		n.Resources = append(n.Resources, eventlist.Resource{URI: "sip:" + u + "@example.test",
			Instances: []eventlist.Instance{{ID: "i1", State: eventlist.StateActive, ContentType: "application/pidf+xml", Body: pidfOf(u, "open")}}})
	}
	ct, body := n.Marshal(fmt.Sprintf("b%d", version))
	return ct, string(body)
}

// listPBX answers the list SUBSCRIBE with list (nil: 200 with Require:
// eventlist) and every other SUBSCRIBE with 200; it hands out the list
// SUBSCRIBEs and counts the others per user and event.
type listPBX struct {
	*fakePBX
	listSubs chan *sip.Request
	counts   subscribeCounter
	mu       sync.Mutex
	list     func(req *sip.Request) *sip.Response
}

func newListPBX(t *testing.T) *listPBX {
	p := &listPBX{fakePBX: newFakePBX(t, "127.0.0.1"), listSubs: make(chan *sip.Request, 20)}
	p.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method != sip.SUBSCRIBE {
			return nil
		}
		if req.To().Address.User != "agents" { // refreshes go to the notifier's Contact
			p.counts.add(req)
			return acceptSubscribe(req)
		}
		p.listSubs <- req
		p.mu.Lock()
		answer := p.list
		p.mu.Unlock()
		if answer != nil {
			return answer(req)
		}
		res := acceptSubscribe(req)
		res.AppendHeader(sip.NewHeader("Require", "eventlist"))
		return res
	})
	return p
}

func withList(c *config.SIP) { c.ResourceList = config.ResourceList{Presence: listURI} }

// TestResourceListCoversItsMembers: with a presence list, the members'
// presence comes from one subscription: one SUBSCRIBE with Supported:
// eventlist, each member's state delivered as its own Target's
// Notification; a wanted agent the list does not hold is subscribed on its
// own after the grace; a partial NOTIFY updates one member, and one that
// skips a version makes the gateway refresh the list for full state;
// dialog state (no list) stays per agent.
func TestResourceListCoversItsMembers(t *testing.T) {
	p := newListPBX(t)
	rec := newRecorder()
	u, _ := startUA(t, p.fakePBX, rec, withList, Options{})
	targets := []Target{
		{URI: "sip:alice@example.test", Event: EventPresence}, {URI: "sip:bob@example.test", Event: EventPresence},
		{URI: "sip:carol@example.test", Event: EventPresence}, {URI: "sip:alice@example.test", Event: EventDialog},
	}
	u.SetSubscriptions(targets)
	sub := waitFor(t, p.listSubs, "list SUBSCRIBE", func(*sip.Request) bool { return true })
	if firstValue(sub, "Supported") != "eventlist" || !strings.Contains(firstValue(sub, "Accept"), "multipart/related") ||
		!strings.Contains(firstValue(sub, "Accept"), "application/rlmi+xml") || firstValue(sub, "Event") != "presence" {
		t.Errorf("list SUBSCRIBE: Supported=%q Accept=%q Event=%q", firstValue(sub, "Supported"), firstValue(sub, "Accept"), firstValue(sub, "Event"))
	}
	ct, body := listNotify(1, true, "alice", "bob", "zed")
	if code := p.notify(sub, "notifier", 1, "active;expires=60", ct, body); code != 200 {
		t.Fatalf("list NOTIFY answered %d", code)
	}
	got := map[string]Notification{}
	for len(got) < 2 {
		n := waitFor(t, rec.notes, "members' notifications", func(n Notification) bool { return n.Target.Event == EventPresence })
		got[n.Target.URI] = n
	}
	if n := got["sip:alice@example.test"]; n.State != SubActive || n.ContentType != "application/pidf+xml" || !strings.Contains(string(n.Body), "open") {
		t.Errorf("alice from the list: %+v", n)
	}
	// carol is not in the list: after the grace she is on her own.
	lost := waitFor(t, rec.lost, "carol not in the list", func(tg Target) bool { return true })
	if err := <-rec.lostErrs; lost.URI != "sip:carol@example.test" || !errors.Is(err, errNotInList) {
		t.Errorf("lost %v: %v, want carol not in the list", lost, err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for p.counts.count("carol presence") == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.counts.count("carol presence") != 1 || p.counts.count("alice presence") != 0 || p.counts.count("bob presence") != 0 ||
		p.counts.count("alice dialog") != 1 {
		t.Errorf("own SUBSCRIBEs %v, want carol's presence and alice's dialog only", p.counts.got)
	}
	st := u.Status()
	if len(st.Lists) != 1 || st.Lists[0].State != "active" || st.Lists[0].Members != 2 {
		t.Errorf("lists %+v, want one active with 2 members", st.Lists)
	}

	// A partial NOTIFY updates bob alone.
	n := &eventlist.Notification{URI: listURI, Version: 2, Resources: []eventlist.Resource{{URI: "sip:bob@example.test",
		Instances: []eventlist.Instance{{ID: "i1", State: eventlist.StateActive, ContentType: "application/pidf+xml", Body: pidfOf("bob", "closed")}}}}}
	ct, b := n.Marshal("p2")
	p.notify(sub, "notifier", 2, "active", ct, string(b))
	bob := waitFor(t, rec.notes, "bob's update", func(n Notification) bool { return n.Target.Event == EventPresence })
	if bob.Target.URI != "sip:bob@example.test" || !strings.Contains(string(bob.Body), "closed") {
		t.Errorf("partial update delivered %+v", bob)
	}
	// Version 4 after 2: one NOTIFY was missed; the list is refreshed.
	n.Version = 4
	ct, b = n.Marshal("p4")
	p.notify(sub, "notifier", 3, "active", ct, string(b))
	refresh := waitFor(t, p.listSubs, "list refresh", func(*sip.Request) bool { return true })
	if tag, _ := refresh.To().Params.Get("tag"); tag != "notifier" || *refresh.CallID() != *sub.CallID() {
		t.Errorf("refresh %s not in the list's dialog", refresh.StartLine())
	}
}

// TestResourceListFailsOver: a list the PBX refuses (404), or accepts as
// an ordinary subscription (no Require: eventlist), or that ends, leaves
// every agent to a subscription of its own; the list shows as failed and
// degraded, and is not reported to the Handler as a Target.
func TestResourceListFailsOver(t *testing.T) {
	for _, tc := range []struct {
		name string
		list func(req *sip.Request) *sip.Response
	}{
		{name: "404", list: func(req *sip.Request) *sip.Response { return sip.NewResponseFromRequest(req, 404, "Not Found", nil) }},
		{name: "not a list", list: func(req *sip.Request) *sip.Response {
			if firstValue(req, "Expires") == "0" {
				return okWithTag(req)
			}
			return acceptSubscribe(req)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newListPBX(t)
			p.mu.Lock()
			p.list = tc.list
			p.mu.Unlock()
			rec := newRecorder()
			u, _ := startUA(t, p.fakePBX, rec, withList, Options{})
			u.SetSubscriptions([]Target{{URI: "sip:alice@example.test", Event: EventPresence}, {URI: "sip:bob@example.test", Event: EventPresence}})
			waitFor(t, p.listSubs, "list SUBSCRIBE", func(*sip.Request) bool { return true })
			deadline := time.Now().Add(3 * time.Second)
			for (p.counts.count("alice presence") == 0 || p.counts.count("bob presence") == 0) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if p.counts.count("alice presence") != 1 || p.counts.count("bob presence") != 1 {
				t.Fatalf("own SUBSCRIBEs %v after the list failed, want one each", p.counts.got)
			}
			st := u.Status()
			if len(st.Lists) != 1 || st.Lists[0].State != "failed" {
				t.Errorf("lists %+v, want failed", st.Lists)
			}
			var listDegraded bool
			for _, d := range st.Degraded {
				listDegraded = listDegraded || d.Target.URI == listURI
			}
			if !listDegraded {
				t.Errorf("degraded %+v does not name the list", st.Degraded)
			}
			for len(rec.lost) > 0 {
				if lt := <-rec.lost; lt.URI == listURI {
					t.Errorf("the list itself reported to the Handler")
				}
			}
		})
	}

	t.Run("terminated", func(t *testing.T) {
		p := newListPBX(t)
		rec := newRecorder()
		u, _ := startUA(t, p.fakePBX, rec, withList, Options{})
		u.SetSubscriptions([]Target{{URI: "sip:alice@example.test", Event: EventPresence}})
		sub := waitFor(t, p.listSubs, "list SUBSCRIBE", func(*sip.Request) bool { return true })
		ct, body := listNotify(1, true, "alice")
		p.notify(sub, "notifier", 1, "active", ct, body)
		waitFor(t, rec.notes, "alice from the list", func(Notification) bool { return true })
		p.notify(sub, "notifier", 2, "terminated;reason=giveup", "", "")
		lost := waitFor(t, rec.lost, "alice's state lost with the list", func(Target) bool { return true })
		if err := <-rec.lostErrs; lost.URI != "sip:alice@example.test" || errors.Is(err, ErrRefused) {
			t.Errorf("lost %v with %v, want alice, not as a refusal of her presence", lost, err)
		}
		deadline := time.Now().Add(3 * time.Second)
		for p.counts.count("alice presence") == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if p.counts.count("alice presence") != 1 {
			t.Errorf("alice not subscribed on her own after the list ended")
		}
		// The list is asked again; once it gives full state, alice is back on it.
		again := waitFor(t, p.listSubs, "list SUBSCRIBE again", func(r *sip.Request) bool { return *r.CallID() != *sub.CallID() })
		ct, body = listNotify(1, true, "alice")
		p.notify(again, "notifier", 1, "active", ct, body)
		deadline = time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			if st := u.Status(); len(st.Lists) == 1 && st.Lists[0].State == "active" && st.Lists[0].Members == 1 && st.Active == 1 {
				u.mu.Lock()
				own := len(u.subs)
				u.mu.Unlock()
				if own == 0 {
					return
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("alice not moved back onto the list: %+v", u.Status())
	})
}

// TestResourceListOutOfOrder: a list's NOTIFYs are taken in any CSeq
// order (a server splitting its full state sends several at once): a
// resource keeps the newest version's state, one named only in a later
// partial NOTIFY is still a member, and none is refused.
func TestResourceListOutOfOrder(t *testing.T) {
	p := newListPBX(t)
	rec := newRecorder()
	u, _ := startUA(t, p.fakePBX, rec, withList, Options{})
	u.SetSubscriptions([]Target{{URI: "sip:alice@example.test", Event: EventPresence}, {URI: "sip:bob@example.test", Event: EventPresence}})
	sub := waitFor(t, p.listSubs, "list SUBSCRIBE", func(*sip.Request) bool { return true })

	later := &eventlist.Notification{URI: listURI, Version: 2, Resources: []eventlist.Resource{{URI: "sip:bob@example.test",
		Instances: []eventlist.Instance{{ID: "i1", State: eventlist.StateActive, ContentType: "application/pidf+xml", Body: pidfOf("bob", "closed")}}}}}
	lct, lbody := later.Marshal("v2")
	if code := p.notify(sub, "notifier", 2, "active", lct, string(lbody)); code != 200 {
		t.Fatalf("the later NOTIFY (CSeq 2 first) answered %d", code)
	}
	ct, body := listNotify(1, true, "alice", "bob") // bob "open", older
	if code := p.notify(sub, "notifier", 1, "active", ct, body); code != 200 {
		t.Fatalf("the earlier NOTIFY (CSeq 1 second) answered %d, want it taken", code)
	}
	got := map[string]string{}
	deadline := time.After(3 * time.Second)
	for len(got) < 2 {
		select {
		case n := <-rec.notes:
			got[n.Target.URI] = string(n.Body)
		case <-deadline:
			t.Fatalf("notifications %v", got)
		}
	}
	if !strings.Contains(got["sip:bob@example.test"], "closed") {
		t.Errorf("bob's state %q, want the newer (closed) one", got["sip:bob@example.test"])
	}
	time.Sleep(400 * time.Millisecond) // past the grace: nobody dropped
	select {
	case l := <-rec.lost:
		t.Errorf("%v lost after the grace: %v", l, <-rec.lostErrs)
	default:
	}
	if st := u.Status(); len(st.Lists) != 1 || st.Lists[0].Members != 2 {
		t.Errorf("lists %+v, want 2 members", st.Lists)
	}
	if p.counts.count("alice presence")+p.counts.count("bob presence") != 0 {
		t.Errorf("own SUBSCRIBEs %v, want none", p.counts.got)
	}
}

// TestResourceListMatchesByUser: a list server that names resources by
// its own address (Asterisk, with an IP) still covers the agents, by user
// part, when that user is one Target's alone.
func TestResourceListMatchesByUser(t *testing.T) {
	p := newListPBX(t)
	rec := newRecorder()
	u, _ := startUA(t, p.fakePBX, rec, withList, Options{})
	u.SetSubscriptions([]Target{{URI: "sip:alice@example.test", Event: EventPresence}})
	sub := waitFor(t, p.listSubs, "list SUBSCRIBE", func(*sip.Request) bool { return true })
	n := &eventlist.Notification{URI: listURI, Version: 0, FullState: true, Resources: []eventlist.Resource{{URI: "sip:alice@192.0.2.1:5060",
		Instances: []eventlist.Instance{{ID: "x", State: eventlist.StateActive, ContentType: "application/pidf+xml", Body: pidfOf("alice", "open")}}}}}
	ct, body := n.Marshal("ip")
	p.notify(sub, "notifier", 1, "active", ct, string(body))
	if got := waitFor(t, rec.notes, "alice by user", func(Notification) bool { return true }); got.Target.URI != "sip:alice@example.test" {
		t.Errorf("delivered to %v", got.Target)
	}
	time.Sleep(400 * time.Millisecond) // past the grace
	if st := u.Status(); len(st.Lists) != 1 || st.Lists[0].Members != 1 || p.counts.count("alice presence") != 0 {
		t.Errorf("lists %+v, own SUBSCRIBEs %v", st.Lists, p.counts.got)
	}
}

// TestResourceListAsksAgainForMissingState: a member the full state names
// without any instance, and of which no state comes after, makes the UA
// refresh the list for full state (a busy Kamailio rls loses members'
// states so); once every member has a state the asking stops.
func TestResourceListAsksAgainForMissingState(t *testing.T) {
	p := newListPBX(t)
	rec := newRecorder()
	u, _ := startUA(t, p.fakePBX, rec, withList, Options{})
	u.SetSubscriptions([]Target{{URI: "sip:alice@example.test", Event: EventPresence}, {URI: "sip:bob@example.test", Event: EventPresence}})
	sub := waitFor(t, p.listSubs, "list SUBSCRIBE", func(*sip.Request) bool { return true })

	n := &eventlist.Notification{URI: listURI, Version: 1, FullState: true, Resources: []eventlist.Resource{
		{URI: "sip:alice@example.test", Instances: []eventlist.Instance{{ID: "i1", State: eventlist.StateActive,
			ContentType: "application/pidf+xml", Body: pidfOf("alice", "open")}}},
		{URI: "sip:bob@example.test"}, // named, no state yet
	}}
	ct, body := n.Marshal("v1")
	if code := p.notify(sub, "notifier", 1, "active;expires=60", ct, string(body)); code != 200 {
		t.Fatalf("list NOTIFY answered %d", code)
	}
	waitFor(t, rec.notes, "alice's state", func(n Notification) bool { return n.Target.URI == "sip:alice@example.test" })
	refresh := waitFor(t, p.listSubs, "a refresh for bob's state", func(*sip.Request) bool { return true })
	if tag, _ := refresh.To().Params.Get("tag"); tag != "notifier" || *refresh.CallID() != *sub.CallID() {
		t.Errorf("refresh %s not in the list's dialog", refresh.StartLine())
	}

	ct, b := listNotify(2, true, "alice", "bob")
	if code := p.notify(sub, "notifier", 2, "active;expires=60", ct, b); code != 200 {
		t.Fatalf("full state NOTIFY answered %d", code)
	}
	waitFor(t, rec.notes, "bob's state", func(n Notification) bool { return n.Target.URI == "sip:bob@example.test" })
	// Past the longest wait (listStatelessMax in tests): asked no more.
	select {
	case again := <-p.listSubs:
		t.Errorf("list SUBSCRIBE %s after every member had a state", again.StartLine())
	case <-time.After(1500 * time.Millisecond):
	}
	if p.counts.count("alice presence")+p.counts.count("bob presence") != 0 {
		t.Errorf("own SUBSCRIBEs %v, want none", p.counts.got)
	}
}
