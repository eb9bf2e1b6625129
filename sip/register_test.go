package sip

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
)

// challengeThenOK answers requests without credentials with a 401 and the
// rest with 200, granting expires seconds.
func challengeThenOK(expires int) func(*sip.Request) *sip.Response {
	return func(req *sip.Request) *sip.Response {
		if req.Method != sip.REGISTER {
			return nil
		}
		if req.GetHeader("Authorization") == nil {
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate",
				`Digest realm="fake.test", nonce="nonce-`+string(*req.CallID())[:4]+`", qop="auth", algorithm=MD5, opaque="op1"`))
			return res
		}
		res := okWithTag(req)
		if c := req.Contact(); c != nil {
			c := c.Clone()
			c.Params = sip.NewParams()
			c.Params.Add("expires", fmt.Sprint(expires))
			res.AppendHeader(c)
		}
		return res
	}
}

var authParam = regexp.MustCompile(`(\w+)=(?:"([^"]*)"|([^,\s]+))`)

// checkDigest recomputes the MD5 qop=auth response of an Authorization value.
func checkDigest(t *testing.T, authz, method, password string) map[string]string {
	t.Helper()
	p := map[string]string{}
	for _, m := range authParam.FindAllStringSubmatch(strings.TrimPrefix(authz, "Digest "), -1) {
		p[m[1]] = m[2] + m[3]
	}
	h := func(s string) string { s2 := md5.Sum([]byte(s)); return hex.EncodeToString(s2[:]) }
	ha1 := h(p["username"] + ":" + p["realm"] + ":" + password)
	ha2 := h(method + ":" + p["uri"])
	want := h(strings.Join([]string{ha1, p["nonce"], p["nc"], p["cnonce"], p["qop"], ha2}, ":"))
	if p["response"] != want {
		t.Errorf("digest response %q, want %q (params %v)", p["response"], want, p)
	}
	if p["qop"] != "auth" || p["opaque"] != "op1" || p["username"] != "fd-auth" {
		t.Errorf("digest params %v", p)
	}
	return p
}

func TestRegisterDigestRefreshUnregister(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	f.setAnswer(challengeThenOK(1)) // refresh after ~500ms
	rec := newRecorder()
	var logs syncBuffer
	u, stop := startUA(t, f, rec, nil, Options{Trace: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	first := f.next(sip.REGISTER)
	if first.GetHeader("Authorization") != nil {
		t.Fatal("first REGISTER carries credentials")
	}
	if got := first.From().Address.String(); got != "sip:frontdesk@example.test" {
		t.Errorf("From %s", got)
	}
	if got := first.To().Address.String(); got != "sip:frontdesk@example.test" {
		t.Errorf("To %s", got)
	}
	c := first.Contact().Address
	if c.Host != "127.0.0.1" || fmt.Sprint(c.Port) != fmt.Sprint(portOf(u.LocalAddr())) || c.UriParams.GetOr("transport", "") != "udp" {
		t.Errorf("Contact %s, bound %s", c.String(), u.LocalAddr())
	}
	if !first.Via().Params.Has("rport") {
		t.Error("Via without rport")
	}
	if first.Source() != u.LocalAddr() {
		t.Errorf("sent from %s, want the listening socket %s", first.Source(), u.LocalAddr())
	}
	authed := f.next(sip.REGISTER)
	checkDigest(t, authed.GetHeader("Authorization").Value(), "REGISTER", "s3cret-pw")
	if authed.CSeq().SeqNo != first.CSeq().SeqNo+1 || *authed.CallID() != *first.CallID() {
		t.Errorf("retry CSeq/Call-ID %v %v", authed.CSeq(), authed.CallID())
	}
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
	if st := u.Status(); st.Registration != RegRegistered || st.Expires.IsZero() {
		t.Errorf("status %+v", st)
	}

	refresh := f.next(sip.REGISTER)
	if *refresh.CallID() != *first.CallID() || refresh.CSeq().SeqNo <= authed.CSeq().SeqNo {
		t.Errorf("refresh CSeq/Call-ID %v %v", refresh.CSeq(), refresh.CallID())
	}

	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var unreg *sip.Request
	for len(f.reqs) > 0 {
		r := <-f.reqs
		if r.Method == sip.REGISTER && r.GetHeader("Expires").Value() == "0" {
			unreg = r
		}
	}
	if unreg == nil {
		t.Fatal("no REGISTER Expires: 0 on shutdown")
	}
	waitFor(t, rec.regs, "unregistered", func(e regEvent) bool { return e.state == RegUnregistered })

	out := logs.String()
	if !strings.Contains(out, "dir=in") || !strings.Contains(out, "dir=out") || !strings.Contains(out, "REGISTER sip:") {
		t.Errorf("trace lacks in/out messages:\n%.500s", out)
	}
	if strings.Contains(out, "s3cret-pw") {
		t.Error("trace contains the password")
	}
}

func TestRegisterFailureThenRecovery(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	var mu sync.Mutex
	n := 0
	f.setAnswer(func(req *sip.Request) *sip.Response {
		mu.Lock()
		defer mu.Unlock()
		if n++; n <= 2 {
			return sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
		}
		return okWithTag(req)
	})
	rec := newRecorder()
	u, _ := startUA(t, f, rec, nil, Options{})

	ev := waitFor(t, rec.regs, "failed", func(e regEvent) bool { return e.state == RegFailed })
	var se *StatusError
	if !errors.As(ev.err, &se) || se.Code != 503 {
		t.Fatalf("failure error %v, want a 503 StatusError", ev.err)
	}
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
	if st := u.Status(); st.RegisterFailures != 2 || st.Registration != RegRegistered || !strings.Contains(st.LastError, "503") {
		t.Errorf("status %+v", st)
	}
}

func TestRegisterTimeoutReportsFailure(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	f.setAnswer(func(req *sip.Request) *sip.Response {
		return sip.NewResponseFromRequest(req, 100, "Trying", nil) // never a final response
	})
	rec := newRecorder()
	startUA(t, f, rec, nil, Options{})
	ev := waitFor(t, rec.regs, "failed", func(e regEvent) bool { return e.state == RegFailed })
	if ev.err == nil {
		t.Fatal("failure without error")
	}
	f.next(sip.REGISTER)
	f.next(sip.REGISTER) // retried with backoff
}

func TestReconfigure(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	rec := newRecorder()
	var cfg config.SIP
	u, _ := startUA(t, f, rec, func(c *config.SIP) { cfg = *c }, Options{})
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
	old := f.next(sip.REGISTER)

	moved := cfg
	moved.Listen = "127.0.0.1:1"
	if err := u.Reconfigure(moved); !errors.Is(err, ErrRestartRequired) {
		t.Fatalf("listen change: %v, want ErrRestartRequired", err)
	}
	if w := u.Status().Warning; !strings.Contains(w, "restart required") || !strings.Contains(w, "sip.listen") {
		t.Errorf("after ErrRestartRequired Status().Warning = %q, want it to say a restart is required for sip.listen", w)
	}
	renamed := cfg
	renamed.Username = "reception"
	if err := u.Reconfigure(renamed); err != nil {
		t.Fatal(err)
	}
	if w := u.Status().Warning; w != "" {
		t.Errorf("back on the running listen address, Status().Warning = %q", w)
	}
	unreg := f.next(sip.REGISTER)
	if unreg.GetHeader("Expires").Value() != "0" || *unreg.CallID() != *old.CallID() || unreg.From().Address.User != "frontdesk" {
		t.Errorf("old binding not removed first: %s", unreg.StartLine())
	}
	reg := f.next(sip.REGISTER)
	if reg.From().Address.User != "reception" || reg.GetHeader("Expires").Value() == "0" {
		t.Errorf("new registration: From %s Expires %s", reg.From().Address.String(), reg.GetHeader("Expires").Value())
	}
}

// registerAnswers answers REGISTERs with answer; other requests get 200.
// It returns what REGISTERs with a Contact came so far.
func registerAnswers(f *fakePBX, answer func(req *sip.Request) *sip.Response) (got func() []*sip.Request) {
	var mu sync.Mutex
	var reqs []*sip.Request
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method != sip.REGISTER || req.Contact() == nil {
			return nil // binding queries: 200 without bindings
		}
		mu.Lock()
		reqs = append(reqs, req)
		mu.Unlock()
		return answer(req)
	})
	return func() []*sip.Request {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(reqs)
	}
}

// grant answers req with 200 listing its Contact with expires=secs after
// the other contacts given.
func grant(req *sip.Request, secs int, others ...string) *sip.Response {
	res := okWithTag(req)
	for _, o := range others {
		res.AppendHeader(sip.NewHeader("Contact", o))
	}
	c := req.Contact().Clone()
	c.Params = sip.NewParams()
	c.Params.Add("expires", fmt.Sprint(secs))
	res.AppendHeader(c)
	res.AppendHeader(sip.NewHeader("Expires", "3600"))
	return res
}

// TestRegisterMinExpiresKept: a 423 with Min-Expires is answered at once
// with that expiry, and the refreshes ask for it too instead of meeting a
// 423 each time.
func TestRegisterMinExpiresKept(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	got := registerAnswers(f, func(req *sip.Request) *sip.Response {
		if req.GetHeader("Expires").Value() != "0" && parseSeconds(req.GetHeader("Expires").Value()) < 120*time.Second {
			res := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
			res.AppendHeader(sip.NewHeader("Min-Expires", "120"))
			return res
		}
		return grant(req, 2) // refresh soon
	})
	rec := newRecorder()
	startUA(t, f, rec, nil, Options{})
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
	deadline := time.Now().Add(3 * time.Second)
	for len(got()) < 4 && time.Now().Before(deadline) {
		f.next(sip.REGISTER)
	}
	if len(got()) < 4 {
		t.Fatalf("%d REGISTERs, want a refresh after 1 s", len(got()))
	}
	var expires []string
	for _, r := range got()[:4] {
		expires = append(expires, r.GetHeader("Expires").Value())
	}
	if want := []string{"60", "120", "120", "120"}; !slices.Equal(expires, want) {
		t.Errorf("REGISTER Expires %v, want %v (one 423, then Min-Expires kept)", expires, want)
	}
}

// TestRegisterGrantOfOurContact: the registrar's answer lists other
// devices of the account and ours with a shorter expiry than asked (and an
// Expires header of an hour): the gateway keeps to its own contact's
// expiry.
func TestRegisterGrantOfOurContact(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	registerAnswers(f, func(req *sip.Request) *sip.Response {
		return grant(req, 4, "<sip:frontdesk@192.0.2.7:5060>;expires=1", "<sip:frontdesk@127.0.0.1:1>;expires=3600")
	})
	rec := newRecorder()
	u, _ := startUA(t, f, rec, nil, Options{})
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
	st := u.Status()
	if left := time.Until(st.Expires); left < 3*time.Second || left > 4*time.Second {
		t.Errorf("registration expires in %v, want the 4 s granted to our contact", left)
	}
	// Refreshed at half of it, not after half an hour nor every second.
	begin := time.Now()
	f.next(sip.REGISTER)
	if took := time.Since(begin); took > 2500*time.Millisecond {
		t.Errorf("refresh after %v, want about 2 s", took)
	}
}

// TestRegisterForbiddenAskedRarely: a REGISTER answered 403 is asked again
// only after sip.refused_retry, the status says why, and a config change
// registers at once.
func TestRegisterForbiddenAskedRarely(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	var mu sync.Mutex
	forbid := true
	got := registerAnswers(f, func(req *sip.Request) *sip.Response {
		mu.Lock()
		defer mu.Unlock()
		if forbid {
			return sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
		}
		return grant(req, 60)
	})
	rec := newRecorder()
	var cfg config.SIP
	u, _ := startUA(t, f, rec, func(c *config.SIP) { c.RefusedRetry = 5 * time.Second; cfg = *c }, Options{})
	ev := waitFor(t, rec.regs, "failed", func(e regEvent) bool { return e.state == RegFailed })
	if !strings.Contains(ev.err.Error(), "403") || !strings.Contains(ev.err.Error(), "refused by the PBX") {
		t.Errorf("failure %q does not say the PBX refused", ev.err)
	}
	time.Sleep(time.Second) // the backoff would have asked 5 times by now
	n := len(got())
	mu.Lock()
	forbid = false
	mu.Unlock()
	if n != 1 {
		t.Errorf("%d REGISTERs within 1 s of a 403, want 1", n)
	}
	if st := u.Status(); st.Registration != RegFailed || !strings.Contains(st.LastError, "refused") {
		t.Errorf("status %+v", st)
	}
	cfg.ResolvedPassword = "fixed"
	if err := u.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, rec.regs, "registered after the config change", func(e regEvent) bool { return e.state == RegRegistered })
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
