package sip

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
)

func uaURI(u *UA) sip.Uri {
	return sip.Uri{Scheme: "sip", User: "frontdesk", Host: hostOf(u.LocalAddr()), Port: portOf(u.LocalAddr())}
}

func TestInboundRouting(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	untrusted := newFakePBX(t, "127.0.0.2")
	rec := newRecorder()
	u, _ := startUA(t, f, rec, nil, Options{})
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })

	for _, tc := range []struct {
		name   string
		from   *fakePBX
		method sip.RequestMethod
		want   int
	}{
		{name: "options keepalive", from: f, method: sip.OPTIONS, want: 200},
		{name: "incoming call refused", from: f, method: sip.INVITE, want: 403},
		{name: "message without a MessageHandler", from: f, method: sip.MESSAGE, want: 480},
		{name: "untrusted options", from: untrusted, method: sip.OPTIONS, want: 403},
		{name: "untrusted notify", from: untrusted, method: sip.NOTIFY, want: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sip.NewRequest(tc.method, uaURI(u))
			if tc.method == sip.NOTIFY {
				req.AppendHeader(sip.NewHeader("Event", "presence"))
				req.AppendHeader(sip.NewHeader("Subscription-State", "active"))
			}
			if got := tc.from.send(req); got != tc.want {
				t.Errorf("%s answered %d, want %d", tc.method, got, tc.want)
			}
		})
	}
}

func TestNotifyUnknownDialog(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	u, _ := startUA(t, f, newRecorder(), nil, Options{})
	req := sip.NewRequest(sip.NOTIFY, uaURI(u))
	to := &sip.ToHeader{Address: uaURI(u), Params: sip.NewParams()}
	to.Params.Add("tag", "nosuchtag")
	req.AppendHeader(to)
	req.AppendHeader(sip.NewHeader("Event", "presence"))
	req.AppendHeader(sip.NewHeader("Subscription-State", "active"))
	if got := f.send(req); got != 481 {
		t.Errorf("NOTIFY for unknown dialog answered %d, want 481", got)
	}
}

func TestTrustedSourcesConfig(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	trusted := newFakePBX(t, "127.0.0.2")
	u, _ := startUA(t, f, newRecorder(), func(c *config.SIP) { c.TrustedSources = []string{"127.0.0.2/32", "10.0.0.1"} }, Options{})
	if got := f.send(sip.NewRequest(sip.OPTIONS, uaURI(u))); got != 403 {
		t.Errorf("registrar address not in trusted_sources answered %d, want 403", got)
	}
	if got := trusted.send(sip.NewRequest(sip.OPTIONS, uaURI(u))); got != 200 {
		t.Errorf("trusted source answered %d, want 200", got)
	}
}
