package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
)

// subscribeCounter records the SUBSCRIBEs a fake PBX got per Request-URI
// user and event, and when.
type subscribeCounter struct {
	mu  sync.Mutex
	got map[string][]time.Time // "user event"
}

func (c *subscribeCounter) add(req *sip.Request) string {
	key := req.Recipient.User + " " + firstValue(req, "Event")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got == nil {
		c.got = map[string][]time.Time{}
	}
	c.got[key] = append(c.got[key], time.Now())
	return key
}

func (c *subscribeCounter) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got[key])
}

// TestRefusalsAskedAgainRarely: a PBX that has no dialog package (489),
// forbids (403) or does not know (404) a subscription, or ends one as
// rejected, is asked again only after sip.refused_retry, while an error
// that may pass (500) is retried with backoff; each refusal is reported to
// the Handler once, as ErrRefused, and logged once at warning level, and
// Status lists the failing subscriptions with their reasons and counts.
func TestRefusalsAskedAgainRarely(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	var counts subscribeCounter
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method != sip.SUBSCRIBE {
			return nil
		}
		code := 200
		switch key := counts.add(req); key {
		case "alice dialog":
			code = 489
		case "bob presence":
			code = 403
		case "carol presence":
			code = 404
		case "erin presence":
			code = 500
		case "dave presence":
			if counts.count(key) > 1 {
				code = 403
			} else {
				go func() { f.notify(req, "notifier", 1, "terminated;reason=rejected", "", "") }()
			}
		}
		if code != 200 {
			return sip.NewResponseFromRequest(req, code, "No", nil)
		}
		return acceptSubscribe(req)
	})
	rec := newRecorder()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	u, _ := startUA(t, f, rec, func(c *config.SIP) { c.RefusedRetry = 400 * time.Millisecond }, Options{Logger: log})
	targets := []Target{
		{URI: "sip:alice@example.test", Event: EventDialog},
		{URI: "sip:bob@example.test", Event: EventPresence},
		{URI: "sip:carol@example.test", Event: EventPresence},
		{URI: "sip:dave@example.test", Event: EventPresence},
		{URI: "sip:erin@example.test", Event: EventPresence},
	}
	u.SetSubscriptions(targets)
	time.Sleep(1000 * time.Millisecond) // the window the counts are over

	// Refused: asked at 0, then after 360-400 ms each: 3 times in 1 s.
	for _, key := range []string{"alice dialog", "bob presence", "carol presence", "dave presence"} {
		if n := counts.count(key); n < 2 || n > 3 {
			t.Errorf("%s: %d SUBSCRIBEs in 1s, want 2-3 (refused: asked again after sip.refused_retry)", key, n)
		}
	}
	// A server error backs off from 20 ms to the 200 ms cap: far more.
	if n := counts.count("erin presence"); n < 6 {
		t.Errorf("erin presence (500): %d SUBSCRIBEs in 1s, want at least 6 (backoff 20ms doubling to 200ms)", n)
	}

	refused := map[string]int{}
	for len(rec.lost) > 0 {
		lt, err := <-rec.lost, <-rec.lostErrs
		if errors.Is(err, ErrRefused) {
			refused[lt.URI]++
		} else if lt.URI != "sip:erin@example.test" {
			t.Errorf("%s lost with %v, want ErrRefused", lt.URI, err)
		}
	}
	for _, tg := range targets[:4] {
		if refused[tg.URI] != 1 {
			t.Errorf("%s reported refused %d times, want once", tg.URI, refused[tg.URI])
		}
	}
	out := logs.String()
	for _, user := range []string{"alice", "bob", "carol", "dave"} {
		if n := strings.Count(out, "refused by the PBX; asking again only after sip.refused_retry\" uri=sip:"+user+"@"); n != 1 {
			t.Errorf("refusal of %s logged %d times at warning level, want once:\n%s", user, n, out)
		}
	}

	st := u.Status()
	reasons := map[string]string{}
	for _, d := range st.Degraded {
		reasons[d.Target.URI+" "+string(d.Target.Event)] = fmt.Sprintf("%s refused=%v", d.Reason, d.Refused)
		if d.Retry.Before(d.Since) || d.Error == "" {
			t.Errorf("degraded %+v", d)
		}
	}
	want := map[string]string{
		"sip:alice@example.test dialog":   "bad-event refused=true",
		"sip:bob@example.test presence":   "forbidden refused=true",
		"sip:carol@example.test presence": "not-found refused=true",
		"sip:dave@example.test presence":  "forbidden refused=true",
		"sip:erin@example.test presence":  "server-error refused=false",
	}
	for k, v := range want {
		if reasons[k] != v {
			t.Errorf("degraded %s = %q, want %q (all: %v)", k, reasons[k], v, reasons)
		}
	}
	if !slices.IsSortedFunc(st.Degraded, func(a, b Degraded) int { return strings.Compare(a.Target.URI, b.Target.URI) }) {
		t.Errorf("degraded not sorted: %+v", st.Degraded)
	}
	if st.SubscribeFailures[FailBadEvent] < 2 || st.SubscribeFailures[FailRejected] != 1 || st.SubscribeFailures[FailServerError] < 6 {
		t.Errorf("failure counts %v", st.SubscribeFailures)
	}
}

// TestRetryAfterHonoured: a 503 with Retry-After is not asked again sooner,
// although the backoff alone would retry after 10-20 ms.
func TestRetryAfterHonoured(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	var counts subscribeCounter
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method != sip.SUBSCRIBE {
			return nil
		}
		counts.add(req)
		res := sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
		res.AppendHeader(sip.NewHeader("Retry-After", "2"))
		return res
	})
	u, _ := startUA(t, f, newRecorder(), func(c *config.SIP) { c.SubscribeBackoffMax = 10 * time.Second }, Options{})
	u.SetSubscriptions([]Target{alice})
	time.Sleep(1500 * time.Millisecond)
	if n := counts.count("alice presence"); n != 1 {
		t.Errorf("%d SUBSCRIBEs in 1.5s after 503 Retry-After: 2, want 1", n)
	}
}

// TestDegradedClearsWhenWorking: a subscription that failed and then works
// (an active NOTIFY) is no longer listed as degraded, and a later failure
// is reported again.
func TestDegradedClearsWhenWorking(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	var mu sync.Mutex
	n := 0
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method != sip.SUBSCRIBE {
			return nil
		}
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			return sip.NewResponseFromRequest(req, 500, "Oops", nil)
		}
		return acceptSubscribe(req)
	})
	rec := newRecorder()
	u, _ := startUA(t, f, rec, nil, Options{})
	u.SetSubscriptions([]Target{alice})
	f.next(sip.SUBSCRIBE)
	waitFor(t, rec.lost, "first failure reported", func(Target) bool { return true })
	sub := f.next(sip.SUBSCRIBE)
	if len(u.Status().Degraded) != 1 {
		t.Errorf("degraded after a failure: %+v", u.Status().Degraded)
	}
	f.notify(sub, "notifier", 1, "active;expires=60", "application/pidf+xml", pidf)
	waitFor(t, rec.notes, "notification", func(Notification) bool { return true })
	if d := u.Status().Degraded; len(d) != 0 {
		t.Errorf("still degraded after an active NOTIFY: %+v", d)
	}
	f.notify(sub, "notifier", 2, "terminated;reason=giveup", "", "")
	waitFor(t, rec.lost, "the next failure reported", func(Target) bool { return true })
}

// TestPacerSpacesSlots: however many wait at once, they get their slots
// one at a time and each at least spacing after the one before was
// released; a caller whose context ends while waiting gets no slot.
func TestPacerSpacesSlots(t *testing.T) {
	var p pacer
	const n, spacing = 20, 10 * time.Millisecond
	var mu sync.Mutex
	var releases []time.Time
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := p.acquire(context.Background(), spacing)
			if err != nil {
				t.Error(err)
				return
			}
			now := time.Now()
			mu.Lock()
			if k := len(releases); k > 0 && now.Sub(releases[k-1]) < spacing {
				t.Errorf("slot %d began %v after the previous one ended, want at least %v", k, now.Sub(releases[k-1]), spacing)
			}
			releases = append(releases, time.Now())
			mu.Unlock()
			release()
			release() // idempotent
		}()
	}
	wg.Wait()
	if len(releases) != n {
		t.Fatalf("%d slots, want %d", len(releases), n)
	}
	hold, err := p.acquire(context.Background(), spacing)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := p.acquire(ctx, spacing); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting past the deadline: %v, want DeadlineExceeded", err)
	}
	hold()
}

// TestSubscribeRateSpreadsSubscriptions: 30 subscriptions at 50/s reach
// the PBX over at least 29 spacings of 20 ms, not at once.
func TestSubscribeRateSpreadsSubscriptions(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	var counts subscribeCounter
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method == sip.SUBSCRIBE {
			counts.add(req)
		}
		return acceptSubscribe(req)
	})
	u, _ := startUA(t, f, newRecorder(), func(c *config.SIP) {
		c.SubscribeRate = config.Rate{Count: 50, Per: time.Second}
	}, Options{})
	var targets []Target
	for i := range 30 {
		targets = append(targets, Target{URI: fmt.Sprintf("sip:a%02d@example.test", i), Event: EventPresence})
	}
	start := time.Now()
	u.SetSubscriptions(targets)
	deadline := time.Now().Add(5 * time.Second)
	for u.Status().Active < 30 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if took := time.Since(start); took < 29*20*time.Millisecond {
		t.Errorf("30 subscriptions at 50/s done in %v, want at least 580ms", took)
	}
	if a := u.Status().Active; a != 30 {
		t.Errorf("active %d, want 30", a)
	}
}

// TestSubscribeChallengeAnsweredAhead: after one SUBSCRIBE was challenged,
// the next ones within challengeReuse carry credentials at once (with a
// rising nonce count), so the PBX challenges only the first.
func TestSubscribeChallengeAnsweredAhead(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	var mu sync.Mutex
	challenges, ncs := 0, map[string]bool{}
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method != sip.SUBSCRIBE {
			return nil
		}
		h := req.GetHeader("Proxy-Authorization")
		if h == nil {
			mu.Lock()
			challenges++
			mu.Unlock()
			res := sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
			res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="fake.test", nonce="n1", qop="auth", opaque="op1"`))
			return res
		}
		p := checkDigest(t, h.Value(), "SUBSCRIBE", "s3cret-pw")
		mu.Lock()
		if ncs[p["nc"]] {
			t.Errorf("nonce count %s used twice", p["nc"])
		}
		ncs[p["nc"]] = true
		mu.Unlock()
		return acceptSubscribe(req)
	})
	u, _ := startUA(t, f, newRecorder(), nil, Options{})
	u.SetSubscriptions([]Target{alice})
	waitActive := func(n int) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for u.Status().Active < n && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitActive(1)
	more := []Target{alice}
	for i := range 10 {
		more = append(more, Target{URI: fmt.Sprintf("sip:b%d@example.test", i), Event: EventDialog})
	}
	u.SetSubscriptions(more)
	waitActive(11)
	mu.Lock()
	defer mu.Unlock()
	if challenges != 1 {
		t.Errorf("%d SUBSCRIBEs challenged, want only the first", challenges)
	}
	if len(ncs) != 11 {
		t.Errorf("nonce counts %v, want 11 different", ncs)
	}
}
