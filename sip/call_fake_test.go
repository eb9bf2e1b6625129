package sip

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
)

const (
	offerSDP  = "v=0\r\no=fd 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n"
	answerSDP = "v=0\r\no=pbx 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=sendrecv\r\n"
	earlySDP  = "v=0\r\no=pbx 7 6 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5002 RTP/AVP 0\r\na=sendonly\r\n"
)

// fakeUAS is an in-process PBX that answers REGISTER and lets each test
// script the INVITE side. Handlers only answer and record; tests assert on
// what was recorded.
type fakeUAS struct {
	t         *testing.T
	addr      string
	transport string // UDP or TCP
	cli       *sipgo.Client
	reqs      chan *sip.Request // every request, ACKs included, in arrival order
	invites   chan *uasCall

	mu     sync.Mutex
	script func(c *uasCall) // runs on the INVITE's server goroutine
	inDlg  func(req *sip.Request) *sip.Response
}

// uasCall is one INVITE the fake received.
type uasCall struct {
	f      *fakeUAS
	req    *sip.Request
	tx     sip.ServerTransaction
	toTag  string
	cseq   uint32
	cancel chan struct{} // closed when a CANCEL arrives
}

func newFakeUAS(t *testing.T, transport string) *fakeUAS {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("fakeuas"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(testLogger())),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(testLogger())))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeUAS{t: t, transport: transport, reqs: make(chan *sip.Request, 200), invites: make(chan *uasCall, 20)}
	srv.OnNoRoute(f.handle) // before serving: sipgo reads it unguarded
	var closer func() error
	done := make(chan struct{})
	if transport == "TCP" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f.addr, closer = l.Addr().String(), l.Close
		go func() { defer close(done); _ = srv.ServeTCP(l) }()
	} else {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f.addr, closer = pc.LocalAddr().String(), pc.Close
		go func() { defer close(done); _ = srv.ServeUDP(pc) }()
	}
	opts := []sipgo.ClientOption{sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(portOf(f.addr)),
		sipgo.WithClientLogger(testLogger())}
	if transport != "TCP" {
		opts = append(opts, sipgo.WithClientConnectionAddr(f.addr))
	}
	if f.cli, err = sipgo.NewClient(ua, opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = closer()
		<-done
		_ = ua.Close()
	})
	return f
}

func (f *fakeUAS) setScript(s func(c *uasCall)) {
	f.mu.Lock()
	f.script = s
	f.mu.Unlock()
}

func (f *fakeUAS) setInDialog(h func(req *sip.Request) *sip.Response) {
	f.mu.Lock()
	f.inDlg = h
	f.mu.Unlock()
}

func (f *fakeUAS) handle(req *sip.Request, tx sip.ServerTransaction) {
	f.reqs <- req
	if req.IsAck() {
		return
	}
	f.mu.Lock()
	script, inDlg := f.script, f.inDlg
	f.mu.Unlock()
	if req.IsInvite() && !req.To().Params.Has("tag") {
		c := &uasCall{f: f, req: req, tx: tx, toTag: "uas" + sip.GenerateTagN(8), cseq: 100, cancel: make(chan struct{})}
		tx.OnCancel(func(*sip.Request) { close(c.cancel) })
		f.invites <- c
		if script != nil {
			script(c)
		}
		return
	}
	var res *sip.Response
	if inDlg != nil && req.Method != sip.REGISTER {
		res = inDlg(req)
	}
	if res == nil {
		res = okWithTag(req)
	}
	_ = tx.Respond(res)
}

// next returns the next request of method, skipping others.
func (f *fakeUAS) next(method sip.RequestMethod) *sip.Request {
	f.t.Helper()
	return nextRequest(f.t, f.reqs, method)
}

// collect returns the next request of each method, whatever their order:
// each datagram is handled on its own goroutine.
func (f *fakeUAS) collect(methods ...sip.RequestMethod) map[sip.RequestMethod]*sip.Request {
	f.t.Helper()
	got := map[sip.RequestMethod]*sip.Request{}
	want := map[sip.RequestMethod]bool{}
	for _, m := range methods {
		want[m] = true
	}
	deadline := time.After(3 * time.Second)
	for len(got) < len(want) {
		select {
		case r := <-f.reqs:
			if want[r.Method] && got[r.Method] == nil {
				got[r.Method] = r
			}
		case <-deadline:
			f.t.Fatalf("want %v within 3s, got %v", methods, got)
		}
	}
	return got
}

func (f *fakeUAS) nextCall() *uasCall {
	f.t.Helper()
	return waitFor(f.t, f.invites, "INVITE", func(*uasCall) bool { return true })
}

// respond answers the INVITE; sdp may be "".
func (c *uasCall) respond(code int, sdp string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(c.req, code, "Scripted", nil)
	if code > 100 {
		res.To().Params.Add("tag", c.toTag)
	}
	if code >= 200 && code < 300 {
		res.AppendHeader(c.f.contact())
	}
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if sdp != "" {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res.SetBody([]byte(sdp))
	}
	if err := c.tx.Respond(res); err != nil {
		c.f.t.Errorf("respond %d: %v", code, err)
	}
	// sipgo handles each datagram on its own goroutine: without a pause
	// responses sent back to back may be processed out of order.
	time.Sleep(20 * time.Millisecond)
}

func (f *fakeUAS) contact() *sip.ContactHeader {
	return &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "agent", Host: hostOf(f.addr), Port: portOf(f.addr),
		UriParams: sip.HeaderParams{{K: "transport", V: strings.ToLower(f.transport)}}}}
}

// request builds an in-dialog request from the fake to the UA.
func (c *uasCall) request(method sip.RequestMethod, ctype, body string) *sip.Request {
	req := sip.NewRequest(method, *c.req.Contact().Address.Clone())
	req.SetTransport(c.f.transport)
	from := &sip.FromHeader{Address: c.req.To().Address, Params: sip.NewParams()}
	from.Params.Add("tag", c.toTag)
	req.AppendHeader(from)
	to := c.req.From().AsTo()
	req.AppendHeader(&to)
	req.AppendHeader(sip.HeaderClone(c.req.CallID()))
	c.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: c.cseq, MethodName: method})
	req.AppendHeader(c.f.contact())
	if ctype != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", ctype))
		req.SetBody([]byte(body))
	}
	if c.f.transport == "TCP" {
		req.SetDestination(c.req.Source()) // back over the UA's connection
	}
	return req
}

// send sends req and returns the final response; a 2xx to an INVITE is
// ACKed with ackSDP (may be "").
func (c *uasCall) send(req *sip.Request, ackSDP string) *sip.Response {
	c.f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	tx, err := c.f.cli.TransactionRequest(ctx, req)
	if err != nil {
		c.f.t.Fatalf("%s from fake: %v", req.Method, err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			if req.IsInvite() && res.IsSuccess() {
				ack := sip.NewRequest(sip.ACK, *res.Contact().Address.Clone())
				for _, h := range []sip.Header{req.From(), res.To(), req.CallID()} {
					ack.AppendHeader(sip.HeaderClone(h))
				}
				ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
				ack.SetTransport(c.f.transport)
				if c.f.transport == "TCP" {
					ack.SetDestination(c.req.Source())
				}
				if ackSDP != "" {
					ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
					ack.SetBody([]byte(ackSDP))
				}
				if err := c.f.cli.WriteRequest(ack); err != nil {
					c.f.t.Errorf("ACK from fake: %v", err)
				}
			}
			return res
		case <-tx.Done():
			c.f.t.Fatalf("%s from fake: %v", req.Method, tx.Err())
		case <-ctx.Done():
			c.f.t.Fatalf("%s from fake: no response", req.Method)
		}
	}
}

// answerWith is a script: 180, then 200 with answerSDP.
func answerWith(hdrs ...sip.Header) func(c *uasCall) {
	return func(c *uasCall) {
		c.respond(180, "")
		c.respond(200, answerSDP, hdrs...)
	}
}

// ringUntilCancel is a script: 180, then hold until CANCEL or timeout.
func ringUntilCancel(c *uasCall) {
	c.respond(180, "")
	select {
	case <-c.cancel:
	case <-time.After(5 * time.Second):
	}
}

// startCallUA runs a UA against f until the test ends.
func startCallUA(t *testing.T, f *fakeUAS, mod func(*config.SIP), tune ...func(*timing)) (*UA, func() error) {
	t.Helper()
	cfg := config.SIP{
		Registrar: f.addr, Domain: "example.test", Username: "frontdesk", AuthUser: "fd-auth",
		ResolvedPassword: "s3cret-pw", Transport: strings.ToLower(f.transport), Listen: "127.0.0.1:0",
		RegisterExpiry: 60 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	return runUA(t, cfg, newRecorder(), Options{Logger: testLogger(), Trace: testing.Verbose()}, time.Second, tune...)
}
