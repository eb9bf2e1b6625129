package sip

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// challengeAll answers every REGISTER and SUBSCRIBE without credentials
// for the current nonce with 401 or 407 (a PBX that challenges each
// request, with a new nonce every time, as Kamailio and Asterisk do) and
// the others with 200, granting expires seconds.
func challengeAll(expires int) func(*sip.Request) *sip.Response {
	var mu sync.Mutex
	n := 0
	nonces := map[sip.RequestMethod]string{}
	return func(req *sip.Request) *sip.Response {
		mu.Lock()
		defer mu.Unlock()
		code, ch, cred := 401, "WWW-Authenticate", "Authorization"
		if req.Method == sip.SUBSCRIBE {
			code, ch, cred = 407, "Proxy-Authenticate", "Proxy-Authorization"
		} else if req.Method != sip.REGISTER {
			return nil
		}
		if h := req.GetHeader(cred); h == nil || !strings.Contains(h.Value(), `nonce="`+nonces[req.Method]+`"`) {
			n++
			nonce := fmt.Sprintf("nonce-%d", n)
			nonces[req.Method] = nonce
			res := sip.NewResponseFromRequest(req, code, "Auth Required", nil)
			res.AppendHeader(sip.NewHeader(ch, `Digest realm="fake.test", nonce="`+nonce+`", qop="auth", algorithm=MD5, opaque="op1"`))
			return res
		}
		res := okWithTag(req)
		res.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(expires)))
		if req.Method == sip.SUBSCRIBE {
			res.To().Params.Add("tag", "notifier")
		}
		return res
	}
}

// Refreshes of the registration and of a subscription answered 401/407
// are answered with credentials, like the first request, and stay up.
func TestRefreshesAnswerChallenges(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	f.setAnswer(challengeAll(1)) // refresh after ~500ms
	rec := newRecorder()
	u, _ := startUA(t, f, rec, nil, Options{})
	u.SetSubscriptions([]Target{alice})

	authed := map[sip.RequestMethod]int{}
	deadline := time.After(10 * time.Second)
	for authed[sip.REGISTER] < 3 || authed[sip.SUBSCRIBE] < 3 {
		var r *sip.Request
		select {
		case r = <-f.reqs:
		case <-deadline:
			t.Fatalf("authenticated requests after 10s: %v; want 3 REGISTERs and 3 SUBSCRIBEs", authed)
		}
		cred := "Authorization"
		if r.Method == sip.SUBSCRIBE {
			cred = "Proxy-Authorization"
		}
		if r.GetHeader(cred) != nil {
			authed[r.Method]++
			if r.Method == sip.SUBSCRIBE && authed[r.Method] > 1 {
				if tag, _ := r.To().Params.Get("tag"); tag != "notifier" {
					t.Errorf("authenticated SUBSCRIBE %d is not a refresh of the dialog (To tag %q)", authed[r.Method], tag)
				}
			}
		}
	}
	select {
	case l := <-rec.lost:
		t.Errorf("subscription lost after a challenged refresh: %+v (%v)", l, <-rec.lostErrs)
	default:
	}
	for len(rec.regs) > 0 {
		if e := <-rec.regs; e.state == RegFailed {
			t.Errorf("registration failed after a challenged refresh: %v", e.err)
		}
	}
}
