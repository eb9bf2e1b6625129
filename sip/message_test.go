package sip

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
)

// msgRecorder is a Handler that also takes MESSAGEs, answering with code.
type msgRecorder struct {
	*recorder
	code int
	msgs chan IncomingMessage
}

func (r *msgRecorder) Message(m IncomingMessage) int {
	r.msgs <- m
	return r.code
}

func newMsgRecorder(code int) *msgRecorder {
	return &msgRecorder{recorder: newRecorder(), code: code, msgs: make(chan IncomingMessage, 10)}
}

func TestSendMessageAnswersChallenge(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method != sip.MESSAGE || req.GetHeader("Proxy-Authorization") != nil {
			return nil
		}
		res := sip.NewResponseFromRequest(req, sip.StatusProxyAuthRequired, "Proxy Authentication Required", nil)
		res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="example.test", nonce="n0nce", qop="auth"`))
		return res
	})
	u, _ := startUA(t, f, newRecorder(), nil, Options{})
	code, err := u.SendMessage(context.Background(), OutgoingMessage{
		To: "sip:101@example.test", FromUser: "frontdesk+k7x2q9",
		DisplayName: "Eve \"the\" \\hacker\x07\n  Smith", ContentType: "text/plain;charset=UTF-8",
		Body: []byte("Hello, I need help"),
	})
	if code != 200 || err != nil {
		t.Fatalf("SendMessage = %d, %v; want 200", code, err)
	}
	first := f.next(sip.MESSAGE)
	second := f.next(sip.MESSAGE)
	if first.GetHeader("Proxy-Authorization") != nil {
		t.Error("first MESSAGE already carried credentials")
	}
	auth := second.GetHeader("Proxy-Authorization")
	if auth == nil || !strings.Contains(auth.Value(), `username="fd-auth"`) || !strings.Contains(auth.Value(), `uri="sip:101@example.test"`) {
		t.Fatalf("second MESSAGE credentials: %v", auth)
	}
	from := second.From()
	if from.DisplayName != "Eve the hacker Smith" {
		t.Errorf("From display name %q", from.DisplayName)
	}
	if from.Address.User != "frontdesk+k7x2q9" || from.Address.Host != "example.test" {
		t.Errorf("From address %s", from.Address.String())
	}
	if ct := firstValue(second, "Content-Type"); ct != "text/plain;charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if second.Contact() != nil {
		t.Error("MESSAGE carries a Contact")
	}
	if got := string(second.Body()); got != "Hello, I need help" {
		t.Errorf("body %q", got)
	}
	if second.Recipient.String() != "sip:101@example.test" {
		t.Errorf("Request-URI %s", second.Recipient.String())
	}
}

func TestSendMessageFinalStatus(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	f.setAnswer(func(req *sip.Request) *sip.Response {
		if req.Method == sip.MESSAGE {
			return sip.NewResponseFromRequest(req, sip.StatusNotFound, "Not Found", nil)
		}
		return nil
	})
	u, _ := startUA(t, f, newRecorder(), nil, Options{})
	code, err := u.SendMessage(context.Background(), OutgoingMessage{To: "sip:offline@example.test", Body: []byte("hi")})
	var se *StatusError
	if code != 404 || !errors.As(err, &se) || se.Code != 404 {
		t.Fatalf("SendMessage = %d, %v; want 404 with a StatusError", code, err)
	}
	if ct := firstValue(f.next(sip.MESSAGE), "Content-Type"); ct != "text/plain;charset=UTF-8" {
		t.Errorf("default Content-Type %q", ct)
	}
}

func TestSendMessageTimeout(t *testing.T) {
	// A registrar that never answers: REGISTER and MESSAGE both go unanswered.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	f := &fakePBX{t: t, addr: silent.LocalAddr().String()}
	u, _ := startUA(t, f, newRecorder(), nil, Options{})
	code, err := u.SendMessage(context.Background(), OutgoingMessage{To: "sip:101@example.test", Body: []byte("hi")})
	if code != 408 || !errors.Is(err, ErrNoResponse) {
		t.Fatalf("SendMessage = %d, %v; want 408 with ErrNoResponse", code, err)
	}
}

func TestSendMessageRefusesBadInput(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	u, _ := startUA(t, f, newRecorder(), nil, Options{})
	for _, tc := range []struct {
		name string
		m    OutgoingMessage
		want error
	}{
		{name: "body too large", m: OutgoingMessage{To: "sip:a@example.test", Body: make([]byte, MaxMessageBody+1)}, want: ErrBodyTooLarge},
		{name: "no host", m: OutgoingMessage{To: "nonsense"}, want: ErrBadURI},
		{name: "from user with header chars", m: OutgoingMessage{To: "sip:a@example.test", FromUser: "x>\r\nVia: y"}, want: ErrBadURI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, err := u.SendMessage(context.Background(), tc.m); code != 0 || !errors.Is(err, tc.want) {
				t.Errorf("SendMessage = %d, %v; want 0, %v", code, err, tc.want)
			}
		})
	}
}

func TestSendMessageBeforeRun(t *testing.T) {
	u, err := New(config.SIP{Registrar: "127.0.0.1:5060", Username: "frontdesk", Listen: "127.0.0.1:0"}, newRecorder(), Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.SendMessage(context.Background(), OutgoingMessage{To: "sip:a@b"}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("SendMessage before Run: %v", err)
	}
}

func TestIncomingMessage(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	untrusted := newFakePBX(t, "127.0.0.2")
	h := newMsgRecorder(202)
	u, _ := startUA(t, f, h, nil, Options{})

	mk := func(ctype string, body []byte) *sip.Request {
		req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: "frontdesk+k7x2q9", Host: hostOf(u.LocalAddr()), Port: portOf(u.LocalAddr())})
		from := &sip.FromHeader{DisplayName: "Agent Smith", Address: sip.Uri{Scheme: "sip", User: "101", Host: "Example.TEST", Port: 5060}, Params: sip.NewParams()}
		from.Params.Add("tag", "abc")
		req.AppendHeader(from)
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "frontdesk+k7x2q9", Host: "example.test"}, Params: sip.NewParams()})
		if ctype != "" {
			req.AppendHeader(sip.NewHeader("Content-Type", ctype))
		}
		req.SetBody(body)
		return req
	}
	if got := f.send(mk("text/plain; charset=ISO-8859-1", []byte("caf\xe9"))); got != 202 {
		t.Fatalf("MESSAGE answered %d, want the handler's 202", got)
	}
	m := waitFor(t, h.msgs, "message", func(IncomingMessage) bool { return true })
	want := IncomingMessage{From: "sip:101@example.test", FromDisplay: "Agent Smith", To: "sip:frontdesk+k7x2q9@example.test",
		RequestURI: "sip:frontdesk+k7x2q9@127.0.0.1", ContentType: "text/plain", Charset: "iso-8859-1", Body: []byte("café")}
	if m.From != want.From || m.FromDisplay != want.FromDisplay || m.To != want.To || m.RequestURI != want.RequestURI ||
		m.ContentType != want.ContentType || m.Charset != want.Charset || !bytes.Equal(m.Body, want.Body) {
		t.Errorf("got %+v\nwant %+v", m, want)
	}

	for _, tc := range []struct {
		name  string
		from  *fakePBX
		ctype string
		body  []byte
		want  int
	}{
		{name: "iscomposing", from: f, ctype: "application/im-iscomposing+xml", body: []byte("<isComposing/>"), want: 202},
		{name: "html", from: f, ctype: "text/html", body: []byte("<b>hi</b>"), want: 415},
		{name: "no content type", from: f, body: []byte("hi"), want: 415},
		{name: "unknown charset", from: f, ctype: "text/plain;charset=koi8-r", body: []byte("hi"), want: 415},
		{name: "untrusted", from: untrusted, ctype: "text/plain", body: []byte("hi"), want: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.from.send(mk(tc.ctype, tc.body)); got != tc.want {
				t.Errorf("answered %d, want %d", got, tc.want)
			}
		})
	}
	if n := len(h.msgs); n != 1 {
		t.Errorf("handler got %d more messages, want only the isComposing one", n)
	}
}

// A UDP datagram cannot carry more than MaxMessageBody, so the size check is
// exercised on a parsed request.
func TestIncomingMessageTooLarge(t *testing.T) {
	req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: "frontdesk", Host: "127.0.0.1"})
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "101", Host: "example.test"}})
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
	req.SetBody(bytes.Repeat([]byte("a"), MaxMessageBody+1))
	if _, code, _ := incomingMessage(req); code != 413 {
		t.Errorf("oversized MESSAGE answered %d, want 413", code)
	}
	req.SetBody(bytes.Repeat([]byte("a"), MaxMessageBody))
	if in, code, _ := incomingMessage(req); code != 0 || len(in.Body) != MaxMessageBody {
		t.Errorf("MESSAGE at the limit refused with %d", code)
	}
}

func TestSanitizeDisplayName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{in: "Alice", want: "Alice"},
		{in: `  Bob "Bobby" \o/ `, want: "Bob Bobby o/"},
		{in: "tab\tand\r\nnewline", want: "tab and newline"},
		{in: "bad\xffutf8", want: "bad\uFFFDutf8"},
		{in: "Zoë\u2028Ünal", want: "ZoëÜnal"},
		{in: strings.Repeat("é", 100), want: strings.Repeat("é", 64)},
		{in: strings.Repeat("a", 63) + " b", want: strings.Repeat("a", 63)},
		{in: "\x00\x01", want: ""},
	} {
		if got := SanitizeDisplayName(tc.in); got != tc.want {
			t.Errorf("SanitizeDisplayName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
