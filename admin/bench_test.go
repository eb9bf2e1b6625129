package admin

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// BenchmarkState builds the state of 500 agents with presence and dialog
// state, as every open admin page asks each second.
func BenchmarkState(b *testing.B) {
	var y strings.Builder
	y.WriteString("sip: {registrar: pbx.test, username: gw, password: x}\nwidgets:\n  - id: " + testWidget + "\n    type: cards\n    agents:\n")
	for i := range 500 {
		fmt.Fprintf(&y, "      - {id: a%d, sip: a%d}\n", i, i)
	}
	cfg, _, err := config.Parse("t.yaml", []byte(y.String()), "")
	if err != nil {
		b.Fatal(err)
	}
	store, tracker := presence.NewStore(), NewTracker()
	for _, a := range cfg.Widgets[0].Agents {
		body := presence.Status{Basic: presence.BasicOpen, Note: "Online"}.MarshalPIDF(a.URI)
		if _, err := store.ApplyPresence(a.URI, presence.ContentTypePIDF, body); err != nil {
			b.Fatal(err)
		}
		tracker.Notified(sip.Notification{Target: sip.Target{URI: a.URI, Event: sip.EventPresence}, State: sip.SubActive, Body: body})
	}
	src := Sources{Config: func() *config.Config { return cfg }, Store: store, Tracker: tracker,
		SIP: func() sip.Status { return sip.Status{} }, Health: func() any { return nil }, Sessions: func() int { return 0 },
		CallsByAgent: func() map[string]int { return nil }, ChatsByAgent: func() map[string]int { return nil }}
	b.ReportAllocs()
	for b.Loop() {
		if st := src.state(time.Now(), Access{}); len(st.Widgets[0].Agents) != 500 {
			b.Fatal("agents missing")
		}
	}
}

// BenchmarkTraceDeliver hands one NOTIFY to eight watching streams, each
// filtered on another agent, as the UA's tap does while pages watch.
func BenchmarkTraceDeliver(b *testing.B) {
	h := newTraceHub(&fakeTap{})
	var ws []*traceWatcher
	for i := range maxWatchers {
		w, err := h.watch(matchAddresses([]string{fmt.Sprintf("sip:a%d@pbx.test", i)}))
		if err != nil {
			b.Fatal(err)
		}
		ws = append(ws, w)
	}
	rec := sip.TraceRecord{Time: time.Now(), Transport: "UDP", Remote: "127.0.0.1:5060",
		Text: strings.Replace(notifyAlice, "alice", "a3", 1)}
	b.ReportAllocs()
	for b.Loop() {
		h.deliver(rec)
		<-ws[3].queue
	}
}
