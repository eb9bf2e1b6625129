package sip

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
)

func TestParseReferTo(t *testing.T) {
	for _, tc := range []struct {
		in       string
		target   string
		name     string
		replaces *Replaces
		err      bool
	}{
		{in: "sip:bob@example.test", target: "sip:bob@example.test"},
		{in: "<sip:bob@example.test;transport=udp>", target: "sip:bob@example.test"},
		{in: `"Bob Jones" <sip:bob@Example.test:5070>;x=1`, target: "sip:bob@Example.test:5070", name: "Bob Jones"},
		{in: "<SIPS:carol@example.test>", target: "sips:carol@example.test"},
		// RFC 3891 6.1 example: '@', ';' and '=' escaped in the URI header.
		{in: "<sip:dave@example.test?Replaces=425928%40bobster.example.org%3Bto-tag%3D7743%3Bfrom-tag%3D6472>",
			target: "sip:dave@example.test", replaces: &Replaces{CallID: "425928@bobster.example.org", ToTag: "7743", FromTag: "6472"}},
		{in: "<sip:dave@example.test?replaces=abc%3Bfrom-tag%3Df1%3Bto-tag%3Dt1%3Bearly-only>",
			target: "sip:dave@example.test", replaces: &Replaces{CallID: "abc", ToTag: "t1", FromTag: "f1", EarlyOnly: true}},
		// Other headers are not copied into the new INVITE.
		{in: "<sip:bob@example.test?Subject=free%20calls&Call-Info=x>", target: "sip:bob@example.test"},
		{in: "<sip:bob@example.test;method=INVITE>", target: "sip:bob@example.test"},
		{in: "tel:+15551234", err: true},
		{in: "<http://169.254.169.254/latest>", err: true},
		{in: "<sip:bob@example.test;method=BYE>", err: true},
		{in: "<sip:bob@example.test;maddr=10.0.0.1>", err: true},
		{in: "sip:bob@example.test?Replaces=a", err: true},
		{in: "<sip:bob@example.test", err: true},
		{in: "<sip:bob@example.test\r\nX: y>", err: true},
		{in: "<sip:bob@example.test?Replaces=abc%3Bto-tag%3Dt1>", err: true},
		{in: "<sip:bob@example.test?Replaces=a%20b%3Bto-tag%3Dt%3Bfrom-tag%3Df>", err: true},
		{in: "<sip:bob@example.test?Replaces=%zz>", err: true},
		{in: "<sip:bob@example.test?Replaces=a%3Bto-tag%3Dt%3Bfrom-tag%3Df&Replaces=b%3Bto-tag%3Dt%3Bfrom-tag%3Df>", err: true},
		{in: "<sip:" + strings.Repeat("a", 1100) + "@example.test>", err: true},
		{in: "<sip:>", err: true},
	} {
		got, err := ParseReferTo(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadReferTo) {
				t.Errorf("ParseReferTo(%q) = %+v, %v; want ErrBadReferTo", tc.in, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseReferTo(%q): %v", tc.in, err)
			continue
		}
		if got.Target != tc.target || got.Name != tc.name {
			t.Errorf("ParseReferTo(%q) = %q %q, want %q %q", tc.in, got.Target, got.Name, tc.target, tc.name)
		}
		switch {
		case tc.replaces == nil && got.Replaces != nil:
			t.Errorf("ParseReferTo(%q): Replaces %+v, want none", tc.in, *got.Replaces)
		case tc.replaces != nil && (got.Replaces == nil || *got.Replaces != *tc.replaces):
			t.Errorf("ParseReferTo(%q): Replaces %+v, want %+v", tc.in, got.Replaces, *tc.replaces)
		}
	}
}

func TestReplacesString(t *testing.T) {
	r := Replaces{CallID: "425928@bobster.example.org", ToTag: "7743", FromTag: "6472"}
	if got := r.String(); got != "425928@bobster.example.org;to-tag=7743;from-tag=6472" {
		t.Errorf("Replaces = %q", got)
	}
	r.EarlyOnly = true
	if got := r.String(); !strings.HasSuffix(got, ";early-only") {
		t.Errorf("early-only Replaces = %q", got)
	}
}

func TestTransferPolicy(t *testing.T) {
	s, err := parseSettings(config.SIP{Registrar: "pbx.example.test:5080", Domain: "example.test", Username: "fd",
		OutboundProxy: "sip:proxy.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	off := false
	for _, tc := range []struct {
		name    string
		allow   *bool
		domains []string
		uri     string
		ok      bool
	}{
		{name: "the SIP domain", uri: "sip:bob@example.test", ok: true},
		{name: "domain case", uri: "sip:bob@EXAMPLE.test", ok: true},
		{name: "the registrar", uri: "sip:bob@pbx.example.test", ok: true},
		{name: "the proxy", uri: "sips:bob@proxy.example.test", ok: true},
		{name: "a port the domain does not name", uri: "sip:bob@example.test:22"},
		{name: "foreign host", uri: "sip:bob@attacker.example"},
		{name: "metadata address", uri: "sip:x@169.254.169.254"},
		{name: "sub-domain", uri: "sip:bob@evil.example.test"},
		{name: "off", allow: &off, uri: "sip:bob@example.test"},
		{name: "configured", domains: []string{"pbx2.example.test:5070", "[2001:db8::1]"}, uri: "sip:bob@pbx2.example.test:5070", ok: true},
		{name: "configured, port left out", domains: []string{"pbx2.example.test:5070"}, uri: "sip:bob@pbx2.example.test", ok: true},
		{name: "configured, other port", domains: []string{"pbx2.example.test:5070"}, uri: "sip:bob@pbx2.example.test:5071"},
		{name: "configured IPv6", domains: []string{"[2001:db8::1]"}, uri: "sip:bob@[2001:db8::1]", ok: true},
		{name: "configured replaces the default", domains: []string{"pbx2.example.test"}, uri: "sip:bob@example.test"},
	} {
		p, err := parseTransferPolicy(tc.allow, tc.domains, s)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var u sip.Uri
		if err := sip.ParseUri(tc.uri, &u); err != nil {
			t.Fatal(err)
		}
		err = p.permit(u)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrTransferNotAllowed)) {
			t.Errorf("%s: permit(%s) = %v, want ok %v", tc.name, tc.uri, err, tc.ok)
		}
	}
	for _, bad := range []string{"", "bob@example.test", "example.test:0", "example.test:x", "a b"} {
		if _, err := parseTransferPolicy(nil, []string{bad}, s); err == nil {
			t.Errorf("domain %q accepted", bad)
		}
	}
}

func TestSipfrag(t *testing.T) {
	if got := string(sipfrag(100, "Trying")); got != "SIP/2.0 100 Trying\r\n" {
		t.Errorf("sipfrag = %q", got)
	}
	if got := string(sipfrag(486, "")); got != "SIP/2.0 486 Unknown\r\n" {
		t.Errorf("sipfrag without reason = %q", got)
	}
}

// transferEvents records transfers on top of legEvents.
type transferEvents struct {
	*legEvents
	transfers chan Transfer
	decline   error
}

func (e *transferEvents) Transfer(t Transfer) error {
	e.transfers <- t
	return e.decline
}

// refer sends a REFER from the fake in c's dialog and returns the status.
func (c *uasCall) refer(referTo string, hdrs ...sip.Header) int {
	c.f.t.Helper()
	req := c.request(sip.REFER, "", "")
	if referTo != "" {
		req.AppendHeader(sip.NewHeader("Refer-To", referTo))
	}
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	return c.send(req, "").StatusCode
}

// nextReferNotify returns the next NOTIFY the UA sent and checks its form.
func nextReferNotify(t *testing.T, f *fakeUAS, id uint32) *sip.Request {
	t.Helper()
	n := f.next(sip.NOTIFY)
	if ev := firstValue(n, "Event"); ev != "refer;id="+strconv.FormatUint(uint64(id), 10) {
		t.Errorf("NOTIFY Event %q, want refer;id=%d", ev, id)
	}
	if ct := firstValue(n, "Content-Type"); !strings.HasPrefix(ct, "message/sipfrag") {
		t.Errorf("NOTIFY Content-Type %q", ct)
	}
	if n.Contact() == nil {
		t.Error("NOTIFY without Contact")
	}
	return n
}

func TestCallReferBlindAndPolicy(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	f.setScript(answerWith())
	u, _ := startCallUA(t, f, nil)
	ev := &transferEvents{legEvents: newLegEvents(), transfers: make(chan Transfer, 4)}
	l, err := u.Call(context.Background(), CallRequest{Target: "sip:agent@example.test", SDP: []byte(offerSDP)}, ev)
	if err != nil {
		t.Fatal(err)
	}
	c := f.nextCall()
	waitFor(t, ev.answered, "Answered", func([]byte) bool { return true })
	f.next(sip.ACK)

	// Refused: the call goes on and no transfer starts.
	for _, tc := range []struct {
		referTo string
		code    int
	}{
		{"<sip:bob@attacker.example>", 403},
		{"<sip:bob@127.0.0.1:5060>", 403},
		{"<tel:+15551234>", 400},
		{"<sip:bob@example.test;maddr=192.0.2.1>", 400},
		{"", 400},
	} {
		if code := c.refer(tc.referTo); code != tc.code {
			t.Errorf("REFER to %q answered %d, want %d", tc.referTo, code, tc.code)
		}
	}
	select {
	case tr := <-ev.transfers:
		t.Fatalf("a refused REFER reached Transfer: %+v", tr)
	default:
	}
	if err := l.NotifyTransfer(context.Background(), 200, "OK"); !errors.Is(err, ErrNoTransfer) {
		t.Errorf("NotifyTransfer without a transfer: %v", err)
	}

	// Accepted: 202, Transfer, NOTIFY 100 Trying.
	code := c.refer(`"Bob" <sip:bob@example.test?Replaces=c1%40h%3Bto-tag%3Dt1%3Bfrom-tag%3Df1>`,
		sip.NewHeader("Referred-By", "<sip:agent@example.test>"))
	if code != 202 {
		t.Fatalf("REFER answered %d, want 202", code)
	}
	referSeq := c.cseq
	tr := waitFor(t, ev.transfers, "Transfer", func(Transfer) bool { return true })
	if tr.Target != "sip:bob@example.test" || tr.ReferredBy != "<sip:agent@example.test>" ||
		tr.Replaces == nil || tr.Replaces.CallID != "c1@h" {
		t.Errorf("Transfer %+v", tr)
	}
	n := nextReferNotify(t, f, referSeq)
	if string(n.Body()) != "SIP/2.0 100 Trying\r\n" || !strings.HasPrefix(firstValue(n, "Subscription-State"), "active") {
		t.Errorf("first NOTIFY %q, Subscription-State %q", n.Body(), firstValue(n, "Subscription-State"))
	}
	// One transfer at a time.
	if code := c.refer("<sip:carol@example.test>"); code != 491 {
		t.Errorf("second REFER answered %d, want 491", code)
	}
	if err := l.NotifyTransfer(context.Background(), 180, "Ringing"); err != nil {
		t.Fatal(err)
	}
	if n := nextReferNotify(t, f, referSeq); string(n.Body()) != "SIP/2.0 180 Ringing\r\n" {
		t.Errorf("progress NOTIFY %q", n.Body())
	}
	if err := l.NotifyTransfer(context.Background(), 486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	n = nextReferNotify(t, f, referSeq)
	if string(n.Body()) != "SIP/2.0 486 Busy Here\r\n" || firstValue(n, "Subscription-State") != "terminated;reason=noresource" {
		t.Errorf("final NOTIFY %q, Subscription-State %q", n.Body(), firstValue(n, "Subscription-State"))
	}
	// The transfer failed; the call goes on and may be transferred again,
	// without NOTIFYs when the transferor asks so (RFC 4488).
	if code := c.refer("<sip:carol@example.test>", sip.NewHeader("Refer-Sub", "false")); code != 202 {
		t.Errorf("REFER after a failed transfer answered %d", code)
	}
	waitFor(t, ev.transfers, "Transfer", func(Transfer) bool { return true })
	if err := l.NotifyTransfer(context.Background(), 200, "OK"); err != nil {
		t.Fatal(err)
	}
	if res := c.send(c.request(sip.INFO, "application/dtmf-relay", "Signal=1\r\n"), ""); res.StatusCode != 200 {
		t.Errorf("INFO after transfers answered %d: the call should go on", res.StatusCode)
	}
	hangup(t, l)
	select {
	case r := <-f.reqs:
		for ; r != nil && r.Method != sip.BYE; r = <-f.reqs {
			if r.Method == sip.NOTIFY {
				t.Errorf("NOTIFY sent with Refer-Sub: false: %q", r.Body())
			}
		}
	case <-time.After(3 * time.Second):
		t.Error("no BYE")
	}
}

func TestCallReferDeclinedAndUnsupported(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	f.setScript(answerWith())
	u, _ := startCallUA(t, f, func(c *config.SIP) { c.Transfer.Allow = new(bool) })
	ev := &transferEvents{legEvents: newLegEvents(), transfers: make(chan Transfer, 4)}
	l, err := u.Call(context.Background(), CallRequest{Target: "sip:agent@example.test", SDP: []byte(offerSDP)}, ev)
	if err != nil {
		t.Fatal(err)
	}
	c := f.nextCall()
	waitFor(t, ev.answered, "Answered", func([]byte) bool { return true })
	if code := c.refer("<sip:bob@example.test>"); code != 403 {
		t.Errorf("REFER with transfers off answered %d, want 403", code)
	}
	hangup(t, l)

	// Events without Transfer: 501.
	u2, _ := startCallUA(t, f, nil)
	plain := newLegEvents()
	l2 := call(t, u2, plain, "")
	c2 := f.nextCall()
	waitFor(t, plain.answered, "Answered", func([]byte) bool { return true })
	if code := c2.refer("<sip:bob@example.test>"); code != 501 {
		t.Errorf("REFER without TransferEvents answered %d, want 501", code)
	}
	hangup(t, l2)
}

func TestCallTransferLegHeaders(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	f.setScript(answerWith(sip.NewHeader("P-Asserted-Identity", `"Bob Jones" <sip:bob@example.test>`)))
	u, _ := startCallUA(t, f, nil)
	ev := newLegEvents()
	l, err := u.Call(context.Background(), CallRequest{Target: "sip:bob@example.test", SDP: []byte(offerSDP),
		Replaces:   &Replaces{CallID: "c1@h", ToTag: "t1", FromTag: "f1"},
		ReferredBy: "<sip:agent@example.test>"}, ev)
	if err != nil {
		t.Fatal(err)
	}
	c := f.nextCall()
	if got := firstValue(c.req, "Replaces"); got != "c1@h;to-tag=t1;from-tag=f1" {
		t.Errorf("INVITE Replaces %q", got)
	}
	if got := firstValue(c.req, "Referred-By"); got != "<sip:agent@example.test>" {
		t.Errorf("INVITE Referred-By %q", got)
	}
	waitFor(t, ev.answered, "Answered", func([]byte) bool { return true })
	if got := l.PeerName(); got != "Bob Jones" {
		t.Errorf("PeerName %q", got)
	}
	hangup(t, l)
	for _, bad := range []CallRequest{
		{Replaces: &Replaces{CallID: "c1", ToTag: "t1"}},
		{Replaces: &Replaces{CallID: "c1\r\nX: y", ToTag: "t1", FromTag: "f"}},
		{ReferredBy: "<sip:a@b>\r\nX: y"},
	} {
		bad.Target, bad.SDP = "sip:bob@example.test", []byte(offerSDP)
		if _, err := u.Call(context.Background(), bad, ev); !errors.Is(err, ErrBadHeader) {
			t.Errorf("Call with %+v: %v, want ErrBadHeader", bad, err)
		}
	}
}
