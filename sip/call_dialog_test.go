package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// answered places a call that f answers and returns it with its INVITE.
func answered(t *testing.T, f *fakeUAS, u *UA, hdrs ...sip.Header) (*Leg, *legEvents, *uasCall) {
	t.Helper()
	f.setScript(answerWith(hdrs...))
	ev := newLegEvents()
	l := call(t, u, ev, "")
	c := f.nextCall()
	waitFor(t, ev.answered, "Answered", func([]byte) bool { return true })
	f.next(sip.ACK)
	return l, ev, c
}

func TestCallReofferAndUpdate(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	u, _ := startCallUA(t, f, nil)
	l, ev, c := answered(t, f, u)

	hold := strings.Replace(answerSDP, "sendrecv", "sendonly", 1)
	res := c.send(c.request(sip.INVITE, "application/sdp", hold), "")
	if res.StatusCode != 200 || string(res.Body()) != reofferAnswer || res.Contact() == nil {
		t.Errorf("re-INVITE answered %d %q", res.StatusCode, res.Body())
	}
	if got := waitFor(t, ev.reoffers, "Reoffer", func([]byte) bool { return true }); string(got) != hold {
		t.Errorf("Reoffer got %q", got)
	}

	res = c.send(c.request(sip.INVITE, "", ""), answerSDP) // no offer: ours in the 200, theirs in the ACK
	if res.StatusCode != 200 || string(res.Body()) != offerSDP {
		t.Errorf("re-INVITE without SDP answered %d %q", res.StatusCode, res.Body())
	}
	if got := waitFor(t, ev.reanswers, "Reanswer", func([]byte) bool { return true }); string(got) != answerSDP {
		t.Errorf("Reanswer got %q", got)
	}

	moved := c.request(sip.UPDATE, "application/sdp", answerSDP)
	moved.Contact().Address.User = "moved" // a target refresh
	res = c.send(moved, "")
	if res.StatusCode != 200 || string(res.Body()) != reofferAnswer {
		t.Errorf("UPDATE answered %d %q", res.StatusCode, res.Body())
	}
	waitFor(t, ev.reoffers, "Reoffer for UPDATE", func([]byte) bool { return true })

	video := c.request(sip.INVITE, "application/sdp", answerSDP+"m=video 5004 RTP/AVP 96\r\n")
	video.Contact().Address.User = "refused" // not a target refresh: refused
	if res := c.send(video, ""); res.StatusCode != 488 {
		t.Errorf("refused offer answered %d, want 488", res.StatusCode)
	}
	old := c.request(sip.INFO, "", "")
	old.CSeq().SeqNo = 1
	if res := c.send(old, ""); res.StatusCode != 500 {
		t.Errorf("request with an old CSeq answered %d, want 500", res.StatusCode)
	}
	hangup(t, l)
	if bye := f.next(sip.BYE); bye.Recipient.User != "moved" {
		t.Errorf("BYE to %s, want the Contact of the re-INVITE", bye.Recipient.String())
	}
	if e := ev.waitEnded(t); e.cause != EndLocalHangup {
		t.Errorf("Ended %+v", e)
	}
}

func TestCallDTMF(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	u, _ := startCallUA(t, f, nil)
	l, ev, c := answered(t, f, u)

	for _, tc := range []struct {
		ctype, body string
		want        dtmfEv
	}{
		{ctype: "application/dtmf-relay", body: "Signal=5\r\nDuration=160\r\n", want: dtmfEv{'5', 160 * time.Millisecond}},
		{ctype: "application/dtmf-relay", body: "signal= #\nduration= 250\n", want: dtmfEv{'#', 250 * time.Millisecond}},
		{ctype: "application/dtmf", body: "11", want: dtmfEv{'#', 0}},
	} {
		if res := c.send(c.request(sip.INFO, tc.ctype, tc.body), ""); res.StatusCode != 200 {
			t.Errorf("INFO %q answered %d", tc.body, res.StatusCode)
		}
		if got := waitFor(t, ev.dtmf, "DTMF", func(dtmfEv) bool { return true }); got != tc.want {
			t.Errorf("INFO %q gave %+v, want %+v", tc.body, got, tc.want)
		}
	}
	if res := c.send(c.request(sip.INFO, "application/media_control+xml", "<x/>"), ""); res.StatusCode != 415 {
		t.Errorf("unknown INFO answered %d, want 415", res.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := l.SendDTMF(ctx, '7', 0); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	info := f.next(sip.INFO)
	if firstValue(info, "Content-Type") != "application/dtmf-relay" || string(info.Body()) != "Signal=7\r\nDuration=160\r\n" {
		t.Errorf("INFO sent: %s", info.String())
	}
	if err := l.SendDTMF(ctx, 'x', 0); err == nil {
		t.Error("SendDTMF accepted a bad digit")
	}
	f.setInDialog(func(req *sip.Request) *sip.Response {
		if req.Method == sip.INFO {
			return sip.NewResponseFromRequest(req, 481, "Gone", nil)
		}
		return nil
	})
	if err := l.SendDTMF(ctx, '1', 0); err == nil {
		t.Error("SendDTMF: no error for 481")
	}
	if e := ev.waitEnded(t); e.cause != EndFailed || e.code != 481 {
		t.Errorf("after a 481 to INFO: Ended %+v", e)
	}
}

func TestCallSessionTimerRefresh(t *testing.T) {
	for _, tc := range []struct {
		name  string
		allow string
		want  sip.RequestMethod
	}{
		{name: "re-INVITE", allow: "INVITE, ACK, BYE, CANCEL", want: sip.INVITE},
		{name: "UPDATE", allow: "INVITE, ACK, BYE, CANCEL, UPDATE", want: sip.UPDATE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeUAS(t, "UDP")
			u, _ := startCallUA(t, f, nil)
			f.setInDialog(func(req *sip.Request) *sip.Response {
				res := okWithTag(req)
				if req.IsInvite() || req.Method == sip.UPDATE {
					res.AppendHeader(sip.NewHeader("Session-Expires", "1;refresher=uac"))
					if req.IsInvite() {
						res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
						res.SetBody([]byte(answerSDP))
					}
				}
				return res
			})
			l, ev, c := answered(t, f, u, sip.NewHeader("Session-Expires", "1;refresher=uac"),
				sip.NewHeader("Require", "timer"), sip.NewHeader("Allow", tc.allow))
			start := time.Now()
			for i := range 2 { // the refresh and the refresh of the refresh
				r := f.next(tc.want)
				// Half the interval; late only under heavy load, never after expiry.
				if el := time.Since(start); el < 300*time.Millisecond || el >= time.Second {
					t.Errorf("refresh %d after %v, want about 500ms", i, el)
				}
				start = time.Now()
				if r.To().Params.GetOr("tag", "") != c.toTag || !strings.Contains(firstValue(r, "Session-Expires"), "refresher=uac") {
					t.Errorf("refresh %s", r.String())
				}
				if tc.want == sip.INVITE {
					if string(r.Body()) != offerSDP {
						t.Errorf("refresh re-INVITE SDP %q, want the same offer", r.Body())
					}
					if ack := f.next(sip.ACK); ack.CSeq().SeqNo != r.CSeq().SeqNo {
						t.Errorf("ACK CSeq %d for re-INVITE %d", ack.CSeq().SeqNo, r.CSeq().SeqNo)
					}
				} else if len(r.Body()) != 0 {
					t.Errorf("UPDATE refresh with body %q", r.Body())
				}
			}
			select {
			case sdp := <-ev.reanswers:
				t.Errorf("Reanswer %q for an unchanged answer", sdp)
			default:
			}
			hangup(t, l)
		})
	}
}

func TestCallSessionTimerPBXRefreshes(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	u, _ := startCallUA(t, f, nil)
	_, ev, c := answered(t, f, u, sip.NewHeader("Session-Expires", "90;refresher=uas"))

	// The PBX refreshes with the same SDP; the answer comes from Reoffer.
	req := c.request(sip.INVITE, "application/sdp", answerSDP)
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	req.AppendHeader(sip.NewHeader("Session-Expires", "2;refresher=uac"))
	res := c.send(req, "")
	if res.StatusCode != 200 || firstValue(res, "Session-Expires") != "2;refresher=uac" || firstValue(res, "Require") != "timer" {
		t.Errorf("refresh answered %s", res.String())
	}
	waitFor(t, ev.reoffers, "Reoffer", func([]byte) bool { return true })
	// No further refresh: the UA ends the session after 2s - 2s/3.
	start := time.Now()
	bye := f.next(sip.BYE)
	if el := time.Since(start); el < time.Second || el > 2*time.Second {
		t.Errorf("BYE after %v, want about 1.3s", el)
	}
	if bye.To().Params.GetOr("tag", "") != c.toTag {
		t.Errorf("BYE %s", bye.String())
	}
	if e := ev.waitEnded(t); e.cause != EndFailed {
		t.Errorf("Ended %+v", e)
	}
}

// A 2xx whose Session-Expires is below the Min-SE of our INVITE is taken as
// Min-SE: the refresh carries Min-SE, not the one second asked for.
func TestCallSessionIntervalBelowMinSE(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	u, _ := startCallUA(t, f, nil, func(tm *timing) { tm.minSE = 2 * time.Second })
	f.setInDialog(func(req *sip.Request) *sip.Response {
		res := okWithTag(req)
		if req.Method == sip.UPDATE {
			res.AppendHeader(sip.NewHeader("Session-Expires", "2;refresher=uac"))
		}
		return res
	})
	l, ev, c := answered(t, f, u, sip.NewHeader("Session-Expires", "1;refresher=uac"),
		sip.NewHeader("Require", "timer"), sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, UPDATE"))
	if ms := firstValue(c.req, "Min-SE"); ms != "2" {
		t.Errorf("INVITE Min-SE %q, want 2", ms)
	}
	r := f.next(sip.UPDATE)
	if se := firstValue(r, "Session-Expires"); se != "2;refresher=uac" {
		t.Errorf("refresh Session-Expires %q, want our Min-SE 2", se)
	}

	// A PBX refresh below our Min-SE is answered 422 with Min-SE and its
	// offer is not taken.
	req := c.request(sip.INVITE, "application/sdp", answerSDP)
	req.AppendHeader(sip.NewHeader("Session-Expires", "1;refresher=uac"))
	res := c.send(req, "")
	if res.StatusCode != 422 || firstValue(res, "Min-SE") != "2" {
		t.Errorf("re-INVITE with Session-Expires 1 answered %d Min-SE %q, want 422 and 2", res.StatusCode, firstValue(res, "Min-SE"))
	}
	select {
	case sdp := <-ev.reoffers:
		t.Errorf("offer of a refused re-INVITE reached Reoffer: %q", sdp)
	default:
	}
	hangup(t, l)
}

// A session refresh the PBX challenges is sent again with credentials; the
// call stays up.
func TestCallSessionRefreshAnswersChallenge(t *testing.T) {
	for _, method := range []sip.RequestMethod{sip.UPDATE, sip.INVITE} {
		t.Run(string(method), func(t *testing.T) {
			f := newFakeUAS(t, "UDP")
			u, _ := startCallUA(t, f, nil)
			f.setInDialog(func(req *sip.Request) *sip.Response {
				if req.Method != method {
					return okWithTag(req)
				}
				if req.GetHeader("Proxy-Authorization") == nil {
					res := sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
					res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="fake.test", nonce="n-refresh", qop="auth", opaque="op1"`))
					return res
				}
				res := okWithTag(req)
				res.AppendHeader(sip.NewHeader("Session-Expires", "60;refresher=uac"))
				if req.IsInvite() {
					res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
					res.SetBody([]byte(answerSDP))
				}
				return res
			})
			allow := "INVITE, ACK, BYE, CANCEL"
			if method == sip.UPDATE {
				allow += ", UPDATE"
			}
			l, ev, _ := answered(t, f, u, sip.NewHeader("Session-Expires", "1;refresher=uac"),
				sip.NewHeader("Require", "timer"), sip.NewHeader("Allow", allow))
			first := f.next(method)
			if first.GetHeader("Proxy-Authorization") != nil {
				t.Fatal("first refresh already carries credentials")
			}
			again := f.next(method)
			authz := again.GetHeader("Proxy-Authorization")
			if authz == nil {
				t.Fatalf("refresh after 407 without credentials: %s", again.String())
			}
			checkDigest(t, authz.Value(), string(method), "s3cret-pw")
			if again.CSeq().SeqNo <= first.CSeq().SeqNo {
				t.Errorf("challenged refresh resent with CSeq %d after %d", again.CSeq().SeqNo, first.CSeq().SeqNo)
			}
			// Still up: our hang-up is what ends it, with a BYE.
			hangup(t, l)
			if e := ev.waitEnded(t); e.cause != EndLocalHangup {
				t.Errorf("call ended %+v, want by our hang-up", e)
			}
			f.next(sip.BYE)
		})
	}
}
