package sip

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
)

// fakeRegistrar keeps the bindings the UA registers and answers binding
// queries with them; forget drops them and every subscription dialog, as a
// PBX restart with in-memory state does.
type fakeRegistrar struct {
	mu       sync.Mutex
	bindings map[string]string // contact URI -> expires
	list     bool              // list the bindings in REGISTER answers
	dialogs  map[string]bool   // Call-IDs of accepted SUBSCRIBEs
}

func newFakeRegistrar(list bool) *fakeRegistrar {
	return &fakeRegistrar{bindings: map[string]string{}, list: list, dialogs: map[string]bool{}}
}

func (r *fakeRegistrar) forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.bindings)
	clear(r.dialogs)
}

func (r *fakeRegistrar) answer(req *sip.Request) *sip.Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch req.Method {
	case sip.REGISTER:
		if c := req.Contact(); c != nil {
			if exp := firstValue(req, "Expires"); exp == "0" {
				delete(r.bindings, c.Address.String())
			} else {
				r.bindings[c.Address.String()] = exp
			}
		}
		res := okWithTag(req)
		if r.list {
			for uri, exp := range r.bindings {
				res.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%s", uri, exp)))
			}
		}
		return res
	case sip.SUBSCRIBE:
		cid := string(*req.CallID())
		if _, inDialog := req.To().Params.Get("tag"); inDialog && !r.dialogs[cid] {
			return sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist", nil)
		}
		r.dialogs[cid] = true
		return acceptSubscribe(req)
	}
	return nil
}

var bob = Target{URI: "sip:bob@example.test", Event: EventDialog}

// recovery waits, after the PBX lost our state, for a REGISTER with Contact
// and then a new SUBSCRIBE dialog for each of want, in that order.
func waitRecovery(t *testing.T, f *fakePBX, want ...Target) {
	t.Helper()
	registered := false
	renewed := map[string]bool{}
	deadline := time.After(5 * time.Second)
	for len(renewed) < len(want) {
		select {
		case r := <-f.reqs:
			switch {
			case r.Method == sip.REGISTER && r.Contact() != nil && firstValue(r, "Expires") != "0":
				registered = true
			case r.Method == sip.SUBSCRIBE && r.To().Params.GetOr("tag", "") == "" && firstValue(r, "Expires") != "0":
				if !registered {
					t.Errorf("subscribed %s again before registering again", r.Recipient.String())
				}
				renewed[r.Recipient.String()+" "+firstValue(r, "Event")] = true
			}
		case <-deadline:
			t.Fatalf("after 5s: registered again %v, subscribed again %v; want all of %v", registered, renewed, want)
		}
	}
	for _, tg := range want {
		if !renewed[tg.URI+" "+string(tg.Event)] {
			t.Errorf("%v not subscribed again (got %v)", tg, renewed)
		}
	}
}

// nextQuery waits for a binding query: a REGISTER without Contact.
func nextQuery(t *testing.T, f *fakePBX) *sip.Request {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case r := <-f.reqs:
			if r.Method == sip.REGISTER && r.Contact() == nil {
				return r
			}
		case <-deadline:
			t.Fatal("no binding query (REGISTER without Contact) within 3s")
		}
	}
}

func keepaliveEvery(d time.Duration) func(*config.SIP) {
	return func(c *config.SIP) { c.KeepaliveInterval = d }
}

// A registrar that answers everything but no longer lists our binding (a
// PBX restarted between two keepalives) is noticed by the binding query:
// the UA registers again and subscribes every target anew, without
// reporting them lost (their state stands until the new NOTIFYs).
func TestBindingLostRegistersAndSubscribesAgain(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	reg := newFakeRegistrar(true)
	f.setAnswer(reg.answer)
	rec := newRecorder()
	u, _ := startUA(t, f, rec, keepaliveEvery(50*time.Millisecond), Options{})
	u.SetSubscriptions([]Target{alice, bob})
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
	q := nextQuery(t, f)
	if q.GetHeader("Expires") != nil || q.From().Address.String() != "sip:frontdesk@example.test" {
		t.Errorf("binding query %s", q.String())
	}

	reg.forget()
	waitRecovery(t, f, alice, bob)
	if st := u.Status(); st.PBXLost != 1 || st.Registration != RegRegistered {
		t.Errorf("status after recovery %+v", st)
	}
	select {
	case l := <-rec.lost:
		t.Errorf("%v reported lost during recovery (%v)", l, <-rec.lostErrs)
	default:
	}
}

// A PBX that answers nothing is reported after keepaliveFailures probes:
// registration failed with ErrPBXUnreachable and every subscription lost.
// Once it answers again, registration and subscriptions come back.
func TestPBXUnreachableThenBack(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	reg := newFakeRegistrar(true)
	f.setAnswer(reg.answer)
	rec := newRecorder()
	u, _ := startUA(t, f, rec, keepaliveEvery(50*time.Millisecond), Options{})
	u.SetSubscriptions([]Target{alice, bob})
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
	nextQuery(t, f)

	f.setSilent(true)
	ev := waitFor(t, rec.regs, "registration failed", func(e regEvent) bool { return e.state == RegFailed })
	if !errors.Is(ev.err, ErrPBXUnreachable) {
		t.Errorf("registration failed with %v, want ErrPBXUnreachable", ev.err)
	}
	if st := u.Status(); st.Registration != RegFailed || st.LastError != ErrPBXUnreachable.Error() || st.Active != 0 {
		t.Errorf("status while the PBX is away %+v", st)
	}
	lost := map[Target]bool{}
	for len(lost) < 2 {
		tg := waitFor(t, rec.lost, "subscriptions lost", func(Target) bool { return true })
		if err := <-rec.lostErrs; errors.Is(err, ErrPBXUnreachable) {
			lost[tg] = true
		}
	}

	reg.forget() // it restarted meanwhile
	for len(f.reqs) > 0 {
		<-f.reqs
	}
	f.setSilent(false)
	waitRecovery(t, f, alice, bob)
	waitFor(t, rec.regs, "registered again", func(e regEvent) bool { return e.state == RegRegistered })
	if st := u.Status(); st.PBXLost != 1 {
		t.Errorf("one outage counted %d times", st.PBXLost)
	}
}

// With a registrar that lists no bindings (binding queries cannot tell), the
// keepalive is OPTIONS, and a subscription refresh answered 481 is taken as
// a restart: register again, subscribe every target anew.
func TestOptionsKeepaliveAnd481Recovery(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	reg := newFakeRegistrar(false)
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method == sip.SUBSCRIBE {
			res := reg.answer(req)
			if res.StatusCode == 200 {
				res.RemoveHeader("Expires")
				res.AppendHeader(sip.NewHeader("Expires", "1")) // refresh after ~500ms
			}
			return res
		}
		return reg.answer(req)
	})
	rec := newRecorder()
	u, _ := startUA(t, f, rec, keepaliveEvery(50*time.Millisecond), Options{})
	u.SetSubscriptions([]Target{alice, bob})
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
	opts := f.next(sip.OPTIONS)
	if opts.Recipient.Host != "127.0.0.1" || opts.Recipient.User != "" {
		t.Errorf("keepalive OPTIONS to %s, want the registrar", opts.Recipient.String())
	}
	reg.forget()
	waitRecovery(t, f, alice, bob)
	if st := u.Status(); st.PBXLost < 1 {
		t.Errorf("status after recovery %+v", st)
	}
}

func TestRenewSpacing(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{n: 1, want: 0},
		{n: 2, want: 50 * time.Millisecond},
		{n: 200, want: 50 * time.Millisecond},
		{n: 400, want: 25 * time.Millisecond},
		{n: 4000, want: 2500 * time.Microsecond},
	} {
		got := renewSpacing(tc.n, 50*time.Millisecond, 10*time.Second)
		if got != tc.want || time.Duration(tc.n-1)*got > 10*time.Second {
			t.Errorf("renewSpacing(%d) = %v, want %v (last after %v)", tc.n, got, tc.want, time.Duration(tc.n-1)*got)
		}
	}
}

// A registrar that lists our binding when we register but never in answers
// to queries would have us re-register forever: after one recovery that
// changes nothing, the UA stops querying and keeps alive with OPTIONS.
func TestBindingQueriesThatNeverListUsStopped(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	reg := newFakeRegistrar(true)
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method == sip.REGISTER && req.Contact() == nil {
			return okWithTag(req) // a query: no bindings listed
		}
		return reg.answer(req)
	})
	rec := newRecorder()
	u, _ := startUA(t, f, rec, keepaliveEvery(50*time.Millisecond), Options{})
	u.SetSubscriptions([]Target{alice})
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
	nextQuery(t, f)
	waitRecovery(t, f, alice) // the first such answer is believed
	f.next(sip.OPTIONS)       // then OPTIONS
	deadline := time.After(3 * time.Second)
	for options := 0; options < 5; { // and only OPTIONS: no more queries, no more registering
		select {
		case r := <-f.reqs:
			switch r.Method {
			case sip.OPTIONS:
				options++
			case sip.REGISTER:
				t.Fatalf("REGISTER after queries were given up: %s (Contact %v)", r.StartLine(), r.Contact())
			}
		case <-deadline:
			t.Fatalf("%d keepalive OPTIONS within 3s", options)
		}
	}
	if st := u.Status(); st.PBXLost != 1 {
		t.Errorf("PBX counted lost %d times, want once", st.PBXLost)
	}
}
