package sip

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
)

func TestCallTCPReusesConnection(t *testing.T) {
	f := newFakeUAS(t, "TCP")
	u, _ := startCallUA(t, f, nil)
	reg := f.next(sip.REGISTER)
	l, ev, c := answered(t, f, u)
	conn := c.req.Source()
	if reg.Source() != conn {
		t.Errorf("INVITE from %s, REGISTER from %s: want one connection", conn, reg.Source())
	}
	if res := c.send(c.request(sip.INFO, "application/dtmf-relay", "Signal=3\r\nDuration=100\r\n"), ""); res.StatusCode != 200 {
		t.Errorf("INFO over the UA's connection answered %d", res.StatusCode)
	}
	waitFor(t, ev.dtmf, "DTMF", func(d dtmfEv) bool { return d.digit == '3' })
	hangup(t, l)
	bye := f.next(sip.BYE)
	if bye.Source() != conn || bye.Transport() != "TCP" {
		t.Errorf("BYE came over %s %s, want the INVITE's connection %s", bye.Transport(), bye.Source(), conn)
	}
}

func TestCallShutdownHangsUp(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	u, stop := startCallUA(t, f, nil)
	_, ev1, c1 := answered(t, f, u)
	f.setScript(ringUntilCancel)
	ev2 := newLegEvents()
	l2 := call(t, u, ev2, "")
	c2 := f.nextCall()
	waitFor(t, ev2.progress, "180", func(progressEv) bool { return true })

	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if e := ev1.waitEnded(t); e.cause != EndLocalHangup {
		t.Errorf("answered leg Ended %+v", e)
	}
	if e := ev2.waitEnded(t); e.cause != EndCancelled || e.code != 487 {
		t.Errorf("ringing leg Ended %+v", e)
	}
	if !isClosed(c2.cancel) || !isClosed(l2.Done()) {
		t.Error("ringing leg not cancelled before Run returned")
	}
	bye := f.next(sip.BYE)
	if bye.CallID().Value() != c1.req.CallID().Value() {
		t.Errorf("BYE for %s, want %s", bye.CallID().Value(), c1.req.CallID().Value())
	}
	if _, err := u.Call(t.Context(), CallRequest{Target: "sip:agent@example.test", SDP: []byte(offerSDP)}, newLegEvents()); err == nil {
		t.Error("Call after shutdown succeeded")
	}
}

func TestCallSecondForkAndRetransmission(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	f.setScript(func(c *uasCall) {
		c.respond(180, "")
		c.respond(200, answerSDP)
		c.respond(200, answerSDP) // a retransmission: ACK again
		fork := *c
		fork.toTag = "fork2"
		fork.respond(200, answerSDP) // another fork answered too: ACK and BYE
	})
	u, _ := startCallUA(t, f, nil)
	ev := newLegEvents()
	l := call(t, u, ev, "")
	c := f.nextCall()
	// Each datagram is handled on its own goroutine: collect in any order.
	acks, byes := map[string]int{}, map[string]int{}
	deadline := time.After(3 * time.Second)
	for n := 0; n < 4; {
		select {
		case r := <-f.reqs:
			switch r.Method {
			case sip.ACK:
				acks[r.To().Params.GetOr("tag", "")]++
				n++
			case sip.BYE:
				byes[r.To().Params.GetOr("tag", "")]++
				n++
			}
		case <-deadline:
			t.Fatalf("after 3s: ACKs %v, BYEs %v", acks, byes)
		}
	}
	if acks[c.toTag] != 2 || acks["fork2"] != 1 || len(acks) != 2 {
		t.Errorf("ACKs by To tag %v", acks)
	}
	if byes["fork2"] != 1 || len(byes) != 1 {
		t.Errorf("BYEs by To tag %v, want one to the second fork", byes)
	}
	if n := ev.nAnswered.Load(); n != 1 {
		t.Errorf("Answered %d times", n)
	}
	hangup(t, l)
	if bye := f.next(sip.BYE); bye.To().Params.GetOr("tag", "") == "fork2" {
		t.Error("hangup BYE went to the second fork")
	}
}

func TestCallDisplayNameOnTheWire(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	f.setScript(func(c *uasCall) { c.respond(486, "") })
	u, _ := startCallUA(t, f, nil)
	for _, tc := range []struct {
		name, in, want string
	}{
		{name: "plain", in: "Alice", want: "Alice"},
		{name: "empty", in: "", want: defaultVisitorName},
		{name: "only spaces and controls", in: " \t\x00 ", want: defaultVisitorName},
		{name: "quotes and backslashes", in: `Bob "the \"builder\"" \`, want: "Bob the builder"},
		{name: "CRLF header injection", in: "Bob\r\nX-Evil: 1", want: "Bob X-Evil: 1"},
		{name: "fake end of quote", in: `x" <sip:evil@example.com>;tag=1`, want: "x <sip:evil@example.com>;tag=1"},
		{name: "unicode", in: "Zoë  Ünal 李小龍", want: "Zoë Ünal 李小龍"},
		{name: "bidi override", in: "Ann\u202Eeve", want: "Anneve"},
		{name: "very long", in: strings.Repeat("ß", 500), want: strings.Repeat("ß", 64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := newLegEvents()
			call(t, u, ev, tc.in)
			inv := f.nextCall().req
			ev.waitEnded(t)
			raw := inv.String()
			if strings.Contains(raw, "X-Evil") && !strings.Contains(raw, `"Bob X-Evil: 1"`) {
				t.Errorf("injected header on the wire:\n%s", raw)
			}
			line := ""
			for l := range strings.Lines(raw) {
				if strings.HasPrefix(l, "From: ") {
					line = strings.TrimRight(l, "\r\n")
				}
			}
			want := `From: "` + tc.want + `" <sip:frontdesk@example.test>;tag=`
			if !strings.HasPrefix(line, want) {
				t.Errorf("From line %q, want prefix %q", line, want)
			}
			if n := utf8.RuneCountInString(inv.From().DisplayName); n > 64 {
				t.Errorf("display name of %d runes", n)
			}
		})
	}
}

func TestCallRefusesBadRequests(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	u, _ := startCallUA(t, f, nil)
	for _, target := range []string{"", "agent", "tel:+123", "sip:"} {
		if _, err := u.Call(t.Context(), CallRequest{Target: target, SDP: []byte(offerSDP)}, newLegEvents()); err == nil {
			t.Errorf("Call to %q accepted", target)
		}
	}
	if _, err := u.Call(t.Context(), CallRequest{Target: "sip:agent@example.test"}, newLegEvents()); err == nil {
		t.Error("Call without SDP accepted")
	}
	idle, err := New(u.settings().cfg, newRecorder(), Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idle.Call(t.Context(), CallRequest{Target: "sip:agent@example.test", SDP: []byte(offerSDP)}, newLegEvents()); err == nil {
		t.Error("Call before Run accepted")
	}
	select {
	case r := <-f.reqs:
		if r.Method == sip.INVITE {
			t.Errorf("an INVITE went out: %s", r.String())
		}
	case <-time.After(50 * time.Millisecond):
	}
}
