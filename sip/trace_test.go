package sip

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// tapRecorder collects what a trace tap hears.
type tapRecorder struct {
	mu   sync.Mutex
	recs []TraceRecord
}

func (r *tapRecorder) add(rec TraceRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
}

func (r *tapRecorder) all() []TraceRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]TraceRecord(nil), r.recs...)
}

// waitRecord waits until a record satisfying ok was heard.
func (r *tapRecorder) waitRecord(t *testing.T, what string, ok func(TraceRecord) bool) TraceRecord {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		for _, rec := range r.all() {
			if ok(rec) {
				return rec
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tap: %s not heard; heard %d records", what, len(r.all()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTraceTap: with Options.Trace off, a tap hears the SUBSCRIBE sent,
// the PBX's answer and its NOTIFY; once removed it hears nothing more.
func TestTraceTap(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	rec := newRecorder()
	u, _ := startUA(t, f, rec, nil, Options{})
	f.next(sip.REGISTER)
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })

	var tap tapRecorder
	u.SetTraceTap(tap.add)
	u.SetSubscriptions([]Target{{URI: "sip:alice@example.test", Event: EventPresence}})
	sub := f.next(sip.SUBSCRIBE)
	out := tap.waitRecord(t, "SUBSCRIBE out", func(r TraceRecord) bool {
		return r.Out && strings.HasPrefix(r.Text, "SUBSCRIBE sip:alice@example.test")
	})
	if out.Transport != "UDP" || out.Remote != f.addr || out.Time.IsZero() {
		t.Errorf("SUBSCRIBE record %+v", out)
	}
	tap.waitRecord(t, "200 in", func(r TraceRecord) bool {
		return !r.Out && strings.HasPrefix(r.Text, "SIP/2.0 200") && strings.Contains(r.Text, "CSeq: 1 SUBSCRIBE")
	})
	f.notify(sub, "t1", 1, "active;expires=60", "application/pidf+xml", pidf)
	tap.waitRecord(t, "NOTIFY in", func(r TraceRecord) bool { return !r.Out && strings.HasPrefix(r.Text, "NOTIFY ") })
	tap.waitRecord(t, "200 to the NOTIFY out", func(r TraceRecord) bool {
		return r.Out && strings.HasPrefix(r.Text, "SIP/2.0 200") && strings.Contains(r.Text, "NOTIFY")
	})

	u.SetTraceTap(nil)
	n := len(tap.all())
	u.SetSubscriptions([]Target{{URI: "sip:alice@example.test", Event: EventPresence}, {URI: "sip:bob@example.test", Event: EventPresence}})
	bob := f.next(sip.SUBSCRIBE)
	// Once the NOTIFY is answered it was read and the answer sent.
	if code := f.notify(bob, "t2", 1, "active;expires=60", "application/pidf+xml", pidf); code != 200 {
		t.Fatalf("NOTIFY for bob answered %d", code)
	}
	if got := len(tap.all()); got != n {
		t.Errorf("tap heard %d records after it was removed", got-n)
	}
}
