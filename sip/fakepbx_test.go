package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
)

// fakePBX is an in-process registrar and notifier on a loopback UDP port.
// Its handlers only answer and record; tests assert on what was recorded.
type fakePBX struct {
	t       *testing.T
	addr    string
	network string // "udp", "tcp" or "tls"
	cli     *sipgo.Client
	reqs    chan *sip.Request // every request received, in arrival order

	mu     sync.Mutex
	answer func(req *sip.Request) *sip.Response // nil: 200 OK
	silent bool                                 // answer nothing, record nothing: the PBX is down
}

func newFakePBX(t *testing.T, host string) *fakePBX {
	t.Helper()
	return newFakePBXOn(t, host, "udp")
}

// newFakePBXOn is newFakePBX on network "udp" or "tcp"; over TCP it sends
// its requests over TCP too.
func newFakePBXOn(t *testing.T, host, network string) *fakePBX {
	t.Helper()
	return newFakePBXWith(t, host, network, nil, nil)
}

// newFakePBXWith is newFakePBXOn; for network "tls" it serves with
// server and sends its own requests over TLS with client.
func newFakePBXWith(t *testing.T, host, network string, server, client *tls.Config) *fakePBX {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("fakepbx"), sipgo.WithUserAgenTLSConfig(client),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(testLogger())),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(testLogger())))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	var (
		closer io.Closer
		serve  func() error
		addr   string
	)
	switch network {
	case "tcp":
		l, err := net.Listen("tcp", host+":0")
		if err != nil {
			t.Fatal(err)
		}
		closer, addr, serve = l, l.Addr().String(), func() error { return srv.ServeTCP(l) }
	case "tls":
		l, err := tls.Listen("tcp", host+":0", server)
		if err != nil {
			t.Fatal(err)
		}
		closer, addr, serve = l, l.Addr().String(), func() error { return srv.ServeTLS(l) }
	default:
		pc, err := net.ListenPacket("udp", host+":0")
		if err != nil {
			t.Fatal(err)
		}
		closer, addr, serve = pc, pc.LocalAddr().String(), func() error { return srv.ServeUDP(pc) }
	}
	f := &fakePBX{t: t, addr: addr, network: network, reqs: make(chan *sip.Request, 100)}
	h, p, _ := net.SplitHostPort(f.addr)
	port := mustAtoi(t, p)
	copts := []sipgo.ClientOption{sipgo.WithClientHostname(h), sipgo.WithClientPort(port), sipgo.WithClientLogger(testLogger())}
	if network == "udp" {
		copts = append(copts, sipgo.WithClientConnectionAddr(f.addr))
	}
	f.cli, err = sipgo.NewClient(ua, copts...)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnNoRoute(func(req *sip.Request, tx sip.ServerTransaction) {
		if tx == nil {
			return
		}
		f.mu.Lock()
		answer, silent := f.answer, f.silent
		f.mu.Unlock()
		if silent {
			return
		}
		f.reqs <- req
		var res *sip.Response
		if answer != nil {
			res = answer(req)
		}
		if res == nil {
			res = okWithTag(req)
		}
		_ = tx.Respond(res)
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = serve()
	}()
	t.Cleanup(func() {
		_ = closer.Close()
		<-done
		_ = ua.Close()
	})
	return f
}

func (f *fakePBX) setAnswer(a func(req *sip.Request) *sip.Response) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

// setSilent makes f answer nothing (true) or answer again (false).
func (f *fakePBX) setSilent(silent bool) {
	f.mu.Lock()
	f.silent = silent
	f.mu.Unlock()
}

// next returns the next request of method, skipping others.
func (f *fakePBX) next(method sip.RequestMethod) *sip.Request {
	f.t.Helper()
	return nextRequest(f.t, f.reqs, method)
}

// notify sends a NOTIFY in the dialog of sub (as accepted with toTag) and
// returns the UA's status code.
func (f *fakePBX) notify(sub *sip.Request, toTag string, cseq uint32, state, ctype, body string) int {
	f.t.Helper()
	return f.send(f.notifyRequest(sub, toTag, cseq, state, ctype, body))
}

// notifyRequest builds a NOTIFY in the dialog of sub (as accepted with toTag).
func (f *fakePBX) notifyRequest(sub *sip.Request, toTag string, cseq uint32, state, ctype, body string) *sip.Request {
	req := sip.NewRequest(sip.NOTIFY, sub.Contact().Address)
	from := sub.To().AsFrom()
	from.Params = sip.NewParams()
	from.Params.Add("tag", toTag)
	req.AppendHeader(&from)
	to := sub.From().AsTo()
	req.AppendHeader(&to)
	req.AppendHeader(sub.CallID())
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.NOTIFY})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: hostOf(f.addr), Port: portOf(f.addr)}})
	req.AppendHeader(sip.NewHeader("Event", firstValue(sub, "Event")))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	if ctype != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", ctype))
	}
	req.SetBody([]byte(body))
	return req
}

func (f *fakePBX) send(req *sip.Request) int {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	switch f.network {
	case "tcp":
		req.SetTransport("TCP")
	case "tls":
		req.SetTransport("TLS")
	}
	res, err := f.cli.Do(ctx, req)
	if err != nil {
		f.t.Fatalf("%s from fake: %v", req.Method, err)
	}
	return res.StatusCode
}

func okWithTag(req *sip.Request) *sip.Response {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if _, ok := res.To().Params.Get("tag"); !ok {
		res.To().Params.Add("tag", "fake"+string(*req.CallID())[:8])
	}
	return res
}

// recorder is a Handler that records what it is told.
type recorder struct {
	regs     chan regEvent
	notes    chan Notification
	lost     chan Target
	lostErrs chan error // the error of each lost, in the same order
}

type regEvent struct {
	state RegState
	err   error
}

func newRecorder() *recorder {
	return &recorder{regs: make(chan regEvent, 100), notes: make(chan Notification, 100),
		lost: make(chan Target, 100), lostErrs: make(chan error, 100)}
}

func (r *recorder) Registration(s RegState, err error) { r.regs <- regEvent{s, err} }
func (r *recorder) Notify(n Notification)              { r.notes <- n }
func (r *recorder) SubscriptionLost(t Target, err error) {
	r.lostErrs <- err
	r.lost <- t
}

func waitFor[T any](t *testing.T, ch <-chan T, what string, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case v := <-ch:
			if ok(v) {
				return v
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// startUA runs a UA against f until the test ends and returns it once bound.
func startUA(t *testing.T, f *fakePBX, h Handler, mod func(*config.SIP), opts Options) (*UA, func() error) {
	t.Helper()
	cfg := fakeConfig(f)
	if mod != nil {
		mod(&cfg)
	}
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	return runUA(t, cfg, h, opts, 500*time.Millisecond)
}

// fakeConfig is the SIP config of a UA registering to f.
func fakeConfig(f *fakePBX) config.SIP {
	return config.SIP{
		Registrar: f.addr, Domain: "example.test", Username: "frontdesk", AuthUser: "fd-auth",
		ResolvedPassword: "s3cret-pw", Transport: "udp", Listen: "127.0.0.1:0",
		RegisterExpiry: 60 * time.Second, SubscribeExpiry: 60 * time.Second,
		SubscribeRate:       config.Rate{Count: 1000, Per: time.Second},
		SubscribeBackoffMax: 200 * time.Millisecond, RefusedRetry: 300 * time.Millisecond,
	}
}

// runUA runs a UA with short test timings until the test ends and returns it
// once bound, with a stop function that reports Run's error. tune, when
// given, changes the test timings before Run.
func runUA(t *testing.T, cfg config.SIP, h Handler, opts Options, requestTimeout time.Duration, tune ...func(*timing)) (*UA, func() error) {
	t.Helper()
	u, err := New(cfg, h, opts)
	if err != nil {
		t.Fatal(err)
	}
	u.tm = timing{backoffMin: 20 * time.Millisecond, backoffMax: 200 * time.Millisecond,
		requestTimeout: requestTimeout, closeTimeout: 500 * time.Millisecond,
		linger: 50 * time.Millisecond, minRefresh: 10 * time.Millisecond, minSE: time.Second,
		keepaliveTimeout: 300 * time.Millisecond, keepaliveRetry: 20 * time.Millisecond, keepaliveFailures: 2,
		renewSpacing: 5 * time.Millisecond, renewWindow: 100 * time.Millisecond,
		listGrace: 200 * time.Millisecond, listFirstNotify: 500 * time.Millisecond,
		listStateless: 300 * time.Millisecond, listStatelessMax: time.Second}
	for _, f := range tune {
		f(&u.tm)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- u.Run(ctx) }()
	select {
	case <-u.Ready():
	case err := <-errc:
		t.Fatalf("Run: %v", err)
	}
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-errc:
			case <-time.After(5 * time.Second):
				runErr = errors.New("Run did not return")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return u, stop
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func hostOf(a string) string { h, _, _ := net.SplitHostPort(a); return h }
func portOf(a string) int {
	_, p, _ := net.SplitHostPort(a)
	n := 0
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n := portOf("x:" + s)
	if n == 0 {
		t.Fatalf("bad port %q", s)
	}
	return n
}

// nextRequest returns the next request of method that reqs delivers,
// skipping others, or fails the test after 3 s.
func nextRequest(t *testing.T, reqs <-chan *sip.Request, method sip.RequestMethod) *sip.Request {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case r := <-reqs:
			if r.Method == method {
				return r
			}
		case <-deadline:
			t.Fatalf("no %s within 3s", method)
			return nil
		}
	}
}
