package sip

import (
	"errors"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

const pidf = `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.test"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`

var alice = Target{URI: "sip:alice@example.test", Event: EventPresence}

// acceptSubscribe answers SUBSCRIBE with 200 and a fixed To tag.
func acceptSubscribe(req *sip.Request) *sip.Response {
	if req.Method != sip.SUBSCRIBE {
		return nil
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.To().Params.Add("tag", "notifier")
	res.AppendHeader(sip.NewHeader("Expires", "60"))
	return res
}

func TestSubscribeNotifyDelivered(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	f.setAnswer(acceptSubscribe)
	rec := newRecorder()
	u, _ := startUA(t, f, rec, nil, Options{})
	u.SetSubscriptions([]Target{alice, alice, {URI: " sip:alice@example.test", Event: "Presence"}})

	sub := f.next(sip.SUBSCRIBE)
	if sub.Recipient.String() != alice.URI || firstValue(sub, "Event") != "presence" ||
		!strings.Contains(firstValue(sub, "Accept"), "application/pidf+xml") || firstValue(sub, "Expires") != "60" {
		t.Errorf("SUBSCRIBE: %s Event=%s Accept=%s", sub.StartLine(), firstValue(sub, "Event"), firstValue(sub, "Accept"))
	}
	if code := f.notify(sub, "notifier", 1, "active;expires=60", "application/PIDF+xml; charset=utf-8", pidf); code != 200 {
		t.Fatalf("NOTIFY answered %d", code)
	}
	n := waitFor(t, rec.notes, "notification", func(Notification) bool { return true })
	if n.Target != alice || n.State != SubActive || n.ContentType != "application/pidf+xml" || string(n.Body) != pidf {
		t.Errorf("notification %+v", n)
	}
	if st := u.Status(); st.Subscriptions != 1 || st.Active != 1 || st.NotifiesReceived != 1 {
		t.Errorf("status %+v", st)
	}
	// An older NOTIFY than one already seen is refused and not delivered.
	if code := f.notify(sub, "notifier", 1, "active", "application/pidf+xml", pidf); code != 500 {
		t.Errorf("stale NOTIFY answered %d, want 500", code)
	}
	for len(f.reqs) > 0 {
		if r := <-f.reqs; r.Method == sip.SUBSCRIBE {
			t.Error("only one SUBSCRIBE expected for duplicate targets")
		}
	}
}

func TestNotifyBeforeSubscribeResponse(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	codes := make(chan int, 1)
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method != sip.SUBSCRIBE {
			return nil
		}
		codes <- f.notify(req, "early", 1, "pending", "", "")
		res := sip.NewResponseFromRequest(req, 202, "Accepted", nil)
		res.To().Params.Add("tag", "early")
		return res
	})
	rec := newRecorder()
	u, _ := startUA(t, f, rec, nil, Options{})
	u.SetSubscriptions([]Target{alice})
	if code := waitFor(t, codes, "NOTIFY answer", func(int) bool { return true }); code != 200 {
		t.Fatalf("NOTIFY before 2xx answered %d", code)
	}
	n := waitFor(t, rec.notes, "notification", func(Notification) bool { return true })
	if n.State != SubPending || len(n.Body) != 0 {
		t.Errorf("notification %+v", n)
	}
}

func TestTerminatedNotifyResubscribes(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	f.setAnswer(acceptSubscribe)
	rec := newRecorder()
	u, _ := startUA(t, f, rec, nil, Options{})
	u.SetSubscriptions([]Target{alice})
	sub := f.next(sip.SUBSCRIBE)
	if code := f.notify(sub, "notifier", 1, "terminated;reason=deactivated", "", ""); code != 200 {
		t.Fatalf("terminated NOTIFY answered %d", code)
	}
	if lost := waitFor(t, rec.lost, "lost", func(Target) bool { return true }); lost != alice {
		t.Errorf("lost %+v", lost)
	}
	again := f.next(sip.SUBSCRIBE)
	if *again.CallID() == *sub.CallID() {
		t.Error("re-subscription reused the terminated dialog")
	}
	if _, ok := again.To().Params.Get("tag"); ok {
		t.Error("re-subscription is not a new dialog")
	}
}

func TestRefusedSubscribeRetries(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method == sip.SUBSCRIBE {
			return sip.NewResponseFromRequest(req, 404, "Not Found", nil)
		}
		return nil
	})
	rec := newRecorder()
	u, _ := startUA(t, f, rec, nil, Options{})
	u.SetSubscriptions([]Target{alice})
	f.next(sip.SUBSCRIBE)
	waitFor(t, rec.lost, "lost", func(Target) bool { return true })
	f.next(sip.SUBSCRIBE)
}

func TestSetSubscriptionsReconciles(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	f.setAnswer(acceptSubscribe)
	rec := newRecorder()
	u, _ := startUA(t, f, rec, nil, Options{})
	bob := Target{URI: "sip:bob@example.test", Event: EventDialog}
	u.SetSubscriptions([]Target{alice})
	subA := f.next(sip.SUBSCRIBE)
	f.notify(subA, "notifier", 1, "active", "application/pidf+xml", pidf) // confirm the dialog
	waitFor(t, rec.notes, "alice's first NOTIFY", func(Notification) bool { return true })

	u.SetSubscriptions([]Target{bob, bob})
	var gotBob, gotUnsub bool
	for range 2 {
		r := f.next(sip.SUBSCRIBE)
		switch {
		case r.Recipient.User == "bob":
			gotBob = true
			if firstValue(r, "Event") != "dialog" || firstValue(r, "Accept") != "application/dialog-info+xml" {
				t.Errorf("bob SUBSCRIBE Event=%s Accept=%s", firstValue(r, "Event"), firstValue(r, "Accept"))
			}
		case *r.CallID() == *subA.CallID():
			gotUnsub = true
			tag, _ := r.To().Params.Get("tag")
			if firstValue(r, "Expires") != "0" || tag != "notifier" || r.CSeq().SeqNo <= subA.CSeq().SeqNo {
				t.Errorf("unsubscribe Expires=%s tag=%s CSeq=%d", firstValue(r, "Expires"), tag, r.CSeq().SeqNo)
			}
		default:
			t.Errorf("unexpected SUBSCRIBE %s", r.StartLine())
		}
	}
	if !gotBob || !gotUnsub {
		t.Errorf("bob subscribed %v, alice unsubscribed %v", gotBob, gotUnsub)
	}
	// The removal is reported once, as such: what was known of alice is
	// no longer current, and she is not subscribed again.
	if lost := waitFor(t, rec.lost, "removal", func(Target) bool { return true }); lost != alice {
		t.Errorf("removal reported for %+v", lost)
	}
	if err := <-rec.lostErrs; !errors.Is(err, ErrSubscriptionRemoved) {
		t.Errorf("removal reported with %v, want ErrSubscriptionRemoved", err)
	}
	// The notifier's final NOTIFY for the removed dialog still gets 200
	// and is not reported.
	if code := f.notify(subA, "notifier", 2, "terminated;reason=timeout", "", ""); code != 200 {
		t.Errorf("final NOTIFY answered %d", code)
	}
	select {
	case l := <-rec.lost:
		t.Errorf("removed subscription reported lost again: %+v", l)
	case n := <-rec.notes:
		if n.Target == alice {
			t.Errorf("final NOTIFY of a removed subscription delivered: %+v", n)
		}
	default:
	}
	if st := u.Status(); st.Subscriptions != 1 {
		t.Errorf("status %+v", st)
	}
}
