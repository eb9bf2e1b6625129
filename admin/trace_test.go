package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/sip"
)

const (
	notifyAlice  = "NOTIFY sip:gw@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nFrom: <sip:alice@pbx.test>;tag=a\r\nTo: <sip:gw@pbx.test>;tag=b\r\nEvent: presence\r\n\r\n<note>sip:bob@pbx.test</note>"
	subscribeBob = "SUBSCRIBE sip:bob@pbx.test SIP/2.0\r\nt: <sip:bob@pbx.test>\r\nf: <sip:gw@pbx.test>;tag=1\r\n" +
		"Proxy-Authorization: Digest username=\"gw\", realm=\"pbx.test\", nonce=\"n1\", uri=\"sip:bob@pbx.test\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5\r\n\r\n"
	registerGW = "REGISTER sip:pbx.test SIP/2.0\r\nFrom: <sip:gw@pbx.test>;tag=1\r\nTo: <sip:gw@pbx.test>\r\nContact: <sip:alice@pbx.test>\r\n\r\n"
)

func TestTraceStreamFilteredByAgent(t *testing.T) {
	f := newFixture(t, tokenAdmin(), "127.0.0.1:9480")
	if f.tap.current() != nil {
		t.Fatal("tap set before anyone watches")
	}
	auth := []string{"Authorization", "Bearer " + testToken}
	all, _ := f.openTrace("", auth...)
	nextEvent(t, all, "ready")
	aliceOnly, res := f.openTrace("?agent="+testWidget+"/alice", auth...)
	if res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", res.Header.Get("Content-Type"))
	}
	var start traceStart
	if err := json.Unmarshal([]byte(nextEvent(t, aliceOnly, "ready").data), &start); err != nil ||
		start.Filter != testWidget+"/alice" || len(start.URIs) != 1 || start.URIs[0] != "sip:alice@pbx.test" {
		t.Fatalf("ready %+v %v", start, err)
	}
	tap := f.tap.current()
	if tap == nil || f.tap.set != 1 {
		t.Fatalf("tap not set once while two watch (set %d times)", f.tap.set)
	}
	now := time.Now()
	tap(sip.TraceRecord{Time: now, Out: true, Transport: "UDP", Remote: "127.0.0.1:5060", Text: subscribeBob})
	tap(sip.TraceRecord{Time: now, Out: true, Transport: "UDP", Remote: "127.0.0.1:5060", Text: registerGW})
	tap(sip.TraceRecord{Time: now, Transport: "UDP", Remote: "127.0.0.1:5060", Text: notifyAlice})

	var got []traceEntry
	for range 3 {
		var e traceEntry
		if err := json.Unmarshal([]byte(nextEvent(t, all, "sip").data), &e); err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if got[0].Dir != "out" || got[0].Remote != "127.0.0.1:5060" || got[2].Dir != "in" {
		t.Errorf("entries %+v", got)
	}
	if strings.Contains(got[0].Text, "0123456789abcdef0123456789abcdef") || !strings.Contains(got[0].Text, `response="(hidden)", algorithm=MD5`) {
		t.Errorf("digest response shown: %q", got[0].Text)
	}
	// alice's stream shows the NOTIFY from alice, not bob's SUBSCRIBE nor
	// a REGISTER that names alice only in Contact.
	var e traceEntry
	if err := json.Unmarshal([]byte(nextEvent(t, aliceOnly, "sip").data), &e); err != nil || !strings.HasPrefix(e.Text, "NOTIFY ") {
		t.Fatalf("alice's first entry %+v %v", e, err)
	}
	select {
	case ev := <-aliceOnly:
		t.Errorf("alice's stream got more: %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}

	if res, _ := f.get("/admin/api/trace?agent="+testWidget+"/nobody", auth...); res.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown agent: %d", res.StatusCode)
	}
	if res, _ := f.get("/admin/api/trace"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("trace without the token: %d", res.StatusCode)
	}
}

func TestTraceTapOnlyWhileWatched(t *testing.T) {
	f := newFixture(t, tokenAdmin(), "127.0.0.1:9480")
	auth := []string{"Authorization", "Bearer " + testToken}
	events, res := f.openTrace("", auth...)
	nextEvent(t, events, "ready")
	res.Body.Close()
	waitUntil(t, "the tap is removed once the page leaves", func() bool { return f.tap.current() == nil && f.srv.Watching() == 0 })

	// At most maxWatchers streams at once.
	for range maxWatchers {
		ev, _ := f.openTrace("", auth...)
		nextEvent(t, ev, "ready")
	}
	if res, body := f.get("/admin/api/trace", auth...); res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "too many") {
		t.Errorf("one stream too many: %d %s", res.StatusCode, body)
	}
	// Shutting down ends every stream.
	f.srv.Close()
	waitUntil(t, "streams end on Close", func() bool { return f.srv.Watching() == 0 && f.tap.current() == nil })
}

func TestTraceSlowPageLosesMessagesAndIsTold(t *testing.T) {
	h := newTraceHub(&fakeTap{})
	w, err := h.watch(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range watcherQueue + 5 {
		h.deliver(sip.TraceRecord{Text: fmt.Sprintf("OPTIONS sip:%d SIP/2.0\r\n\r\n", i)})
	}
	if len(w.queue) != watcherQueue || w.dropped.Load() != 5 {
		t.Errorf("queue %d dropped %d", len(w.queue), w.dropped.Load())
	}
}

func TestMatchAddresses(t *testing.T) {
	match := matchAddresses([]string{"sip:alice@pbx.test"})
	for text, want := range map[string]bool{
		"INVITE sip:alice@pbx.test SIP/2.0\r\n\r\n":                                           true,
		"INVITE sip:alice@PBX.test:5060;transport=udp SIP/2.0\r\n\r\n":                        true,
		"SIP/2.0 202 Accepted\r\nTo: <sip:alice@pbx.test>;tag=x\r\n\r\n":                      true,
		"MESSAGE sip:gw@pbx.test SIP/2.0\r\nf: \"A\" <sip:alice@pbx.test>\r\n":                true,
		"INVITE sip:alicea@pbx.test SIP/2.0\r\n\r\n":                                          false,
		"INVITE sip:alice@pbx.test.evil SIP/2.0\r\n\r\n":                                      false,
		"INVITE sip:malice@pbx.test SIP/2.0\r\n\r\n":                                          false,
		"NOTIFY sip:gw SIP/2.0\r\nFrom: <sip:bob@pbx.test>\r\n\r\nFrom: <sip:alice@pbx.test>": false,
	} {
		if got := match(text); got != want {
			t.Errorf("match(%q) = %v, want %v", text, got, want)
		}
	}
}
