package sip

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestCallReinviteHoldAndResume: Reinvite sends our new offer in a
// re-INVITE (answering a challenge), returns the PBX's answer from the 2xx
// (ACKed, not passed to Reanswer); a refusal keeps the call.
func TestCallReinviteHoldAndResume(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	u, _ := startCallUA(t, f, nil)
	l, ev, c := answered(t, f, u)
	held := strings.Replace(answerSDP, "sendrecv", "recvonly", 1)
	challenged := false
	f.setInDialog(func(req *sip.Request) *sip.Response {
		if !req.IsInvite() {
			return nil
		}
		if !challenged {
			challenged = true
			res := sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
			res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="fake.test", nonce="n-re", algorithm=MD5`))
			return res
		}
		if strings.Contains(string(req.Body()), "a=inactive") {
			return sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil)
		}
		res := okWithTag(req)
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		body := answerSDP
		if strings.Contains(string(req.Body()), "a=sendonly") {
			body = held
		}
		res.SetBody([]byte(body))
		return res
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	hold := strings.Replace(offerSDP, "sendrecv", "sendonly", 1)
	answer, err := l.Reinvite(ctx, []byte(hold))
	if err != nil || string(answer) != held {
		t.Fatalf("hold: answer %q, err %v", answer, err)
	}
	first, second := f.next(sip.INVITE), f.next(sip.INVITE)
	if string(first.Body()) != hold || second.GetHeader("Proxy-Authorization") == nil || second.To().Params.GetOr("tag", "") != c.toTag {
		t.Errorf("re-INVITEs:\n%s\n%s", first.String(), second.String())
	}
	if ack := f.next(sip.ACK); ack.CSeq().SeqNo != second.CSeq().SeqNo {
		t.Errorf("ACK CSeq %d for re-INVITE %d", ack.CSeq().SeqNo, second.CSeq().SeqNo)
	}
	if answer, err := l.Reinvite(ctx, []byte(offerSDP)); err != nil || string(answer) != answerSDP {
		t.Fatalf("resume: %q %v", answer, err)
	}
	f.next(sip.INVITE)
	f.next(sip.ACK)

	_, err = l.Reinvite(ctx, []byte(strings.Replace(offerSDP, "sendrecv", "inactive", 1)))
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 488 {
		t.Fatalf("refused offer: %v", err)
	}
	f.next(sip.INVITE)
	select {
	case sdp := <-ev.reanswers:
		t.Errorf("Reanswer %q for a Reinvite's answer", sdp)
	default:
	}
	// The call goes on: a session refresh would offer the SDP before the
	// refused one, and DTMF still works.
	if err := l.SendDTMF(ctx, '4', 0); err != nil {
		t.Errorf("DTMF after a refused re-INVITE: %v", err)
	}
	hangup(t, l)
	if e := ev.waitEnded(t); e.cause != EndLocalHangup {
		t.Errorf("Ended %+v", e)
	}
	if _, err := l.Reinvite(ctx, []byte(offerSDP)); !errors.Is(err, ErrLegEnded) {
		t.Errorf("Reinvite after the end: %v", err)
	}
}

// TestOptions: an OPTIONS to the registrar returns the final response
// with what the server says of itself.
func TestOptions(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method != sip.OPTIONS {
			return nil
		}
		res := okWithTag(req)
		res.AppendHeader(sip.NewHeader("Server", "fakepbx 1.0"))
		res.AppendHeader(sip.NewHeader("Allow", "INVITE, SUBSCRIBE"))
		return res
	})
	u, _ := startUA(t, f, newRecorder(), nil, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r, err := u.Options(ctx, "sip:"+f.addr)
	if err != nil || r.Code != 200 || r.Server != "fakepbx 1.0" || r.Allow != "INVITE, SUBSCRIBE" || r.Took <= 0 {
		t.Fatalf("Options: %+v %v", r, err)
	}
	if req := f.next(sip.OPTIONS); req.Recipient.Host != "127.0.0.1" {
		t.Errorf("OPTIONS to %s", req.Recipient.String())
	}
	if _, err := u.Options(ctx, "not a uri"); !errors.Is(err, ErrBadURI) {
		t.Errorf("bad URI: %v", err)
	}
	f.setSilent(true)
	if _, err := u.Options(ctx, "sip:"+f.addr); !errors.Is(err, ErrNoResponse) {
		t.Errorf("silent PBX: %v", err)
	}
}
