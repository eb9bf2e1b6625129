package sip

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

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
			return sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
		}
		return okWithTag(req)
	})
	rec := newRecorder()
	u, _ := startUA(t, f, rec, nil, Options{})

	ev := waitFor(t, rec.regs, "failed", func(e regEvent) bool { return e.state == RegFailed })
	var se *StatusError
	if !errors.As(ev.err, &se) || se.Code != 403 {
		t.Fatalf("failure error %v, want a 403 StatusError", ev.err)
	}
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
	if st := u.Status(); st.RegisterFailures != 2 || st.Registration != RegRegistered || !strings.Contains(st.LastError, "403") {
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
