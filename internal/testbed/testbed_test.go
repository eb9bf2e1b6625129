package testbed

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

const waitStep = 5 * time.Second

// testLogWriter forwards to t.Log until the test is over (sipgo goroutines may
// log after that).
type testLogWriter struct {
	t    *testing.T
	done atomic.Bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	w := &testLogWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type notification struct {
	presentity string // user part of the NOTIFY's From
	event      string
	subState   string
	body       string
}

// peer plays the gateway: a sipgo UA listening on UDP for NOTIFYs.
type peer struct {
	t        *testing.T
	proxy    string
	user     string
	password string
	port     int
	ua       *sipgo.UserAgent
	client   *sipgo.Client
	notifies chan notification
	pending  []notification // received, not yet consumed (test goroutine only)
	mu       sync.Mutex
	closed   bool
}

func newPeer(t *testing.T, proxy, user, password string) *peer {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("testbed-test"), sipgo.WithUserAgentHostname(Domain))
	if err != nil {
		t.Fatalf("ua: %v", err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	p := &peer{t: t, proxy: proxy, user: user, password: password, port: conn.LocalAddr().(*net.UDPAddr).Port, ua: ua, notifies: make(chan notification, 100)}
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		n := notification{body: string(req.Body())}
		if f := req.From(); f != nil {
			n.presentity = f.Address.User
		}
		if h := req.GetHeader("Event"); h != nil {
			n.event = h.Value()
		}
		if h := req.GetHeader("Subscription-State"); h != nil {
			n.subState = h.Value()
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.closed {
			select {
			case p.notifies <- n:
			default:
			}
		}
	})
	go func() { _ = srv.ServeUDP(conn) }()
	p.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		_ = ua.Close()
		_ = conn.Close()
	})
	return p
}

func (p *peer) uri(user string) sip.Uri { return sip.Uri{Scheme: "sip", User: user, Host: Domain} }

func (p *peer) contact() *sip.ContactHeader {
	return &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.user, Host: "127.0.0.1", Port: p.port}}
}

func (p *peer) request(method sip.RequestMethod, ruri sip.Uri, to sip.Uri) *sip.Request {
	req := sip.NewRequest(method, ruri)
	req.SetDestination(p.proxy)
	from := &sip.FromHeader{Address: p.uri(p.user), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: to})
	req.AppendHeader(p.contact())
	return req
}

// do sends req and answers one digest challenge.
func (p *peer) do(req *sip.Request, password string) (*sip.Response, int) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitStep)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err != nil {
		p.t.Fatalf("%s: %v", req.Method, err)
	}
	challenge := 0
	if res.StatusCode == 401 || res.StatusCode == 407 {
		challenge = res.StatusCode
		res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.user, Password: password})
		if err != nil {
			p.t.Fatalf("%s with digest: %v", req.Method, err)
		}
	}
	return res, challenge
}

func (p *peer) register(password string, expires int) (*sip.Response, int) {
	req := p.request(sip.REGISTER, sip.Uri{Scheme: "sip", Host: Domain}, p.uri(p.user))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	return p.do(req, password)
}

func (p *peer) subscribe(user, event, accept string) {
	p.t.Helper()
	req := p.request(sip.SUBSCRIBE, p.uri(user), p.uri(user))
	req.AppendHeader(sip.NewHeader("Event", event))
	req.AppendHeader(sip.NewHeader("Accept", accept))
	req.AppendHeader(sip.NewHeader("Expires", "300"))
	res, challenge := p.do(req, p.password)
	if res.StatusCode != 200 && res.StatusCode != 202 {
		p.t.Fatalf("SUBSCRIBE %s to %s: %d %s", event, user, res.StatusCode, res.Reason)
	}
	p.t.Logf("SUBSCRIBE %s to %s: challenged with %d, then %d %s", event, user, challenge, res.StatusCode, res.Reason)
}

// waitNotify returns the first NOTIFY for presentity/event whose body matches
// re; earlier ones for the same presentity/event are dropped, others are kept
// for later calls. Every NOTIFY is logged once, when it arrives.
func (p *peer) waitNotify(presentity, event string, re *regexp.Regexp) notification {
	p.t.Helper()
	timeout := time.After(waitStep)
	for {
		for i := 0; i < len(p.pending); i++ {
			n := p.pending[i]
			if n.presentity != presentity || n.event != event {
				continue
			}
			p.pending = append(p.pending[:i], p.pending[i+1:]...)
			i--
			if re.MatchString(n.body) {
				return n
			}
		}
		select {
		case n := <-p.notifies:
			p.t.Logf("NOTIFY from %s Event: %s Subscription-State: %s\n%s", n.presentity, n.event, n.subState, n.body)
			p.pending = append(p.pending, n)
		case <-timeout:
			p.t.Fatalf("no NOTIFY %s for %s matching %s within %v", event, presentity, re, waitStep)
		}
	}
}

var (
	reOpen       = regexp.MustCompile(`<([a-z]+:)?basic>open</`)
	reClosed     = regexp.MustCompile(`<([a-z]+:)?basic>closed</`)
	reNotOpen    = regexp.MustCompile(`^(?s:(.*))$`) // checked separately
	reBusy       = regexp.MustCompile(`<rpid:activities>\s*<rpid:(busy|on-the-phone)\s*/>`)
	reDialogInfo = regexp.MustCompile(`<dialog-info`)
	reEarly      = regexp.MustCompile(`<state[^>]*>early</state>`)
	reConfirmed  = regexp.MustCompile(`<state[^>]*>confirmed</state>`)
	reTerminated = regexp.MustCompile(`<state[^>]*>terminated</state>`)
)

func TestTestbed(t *testing.T) {
	if err := CheckBinaries(true); err != nil {
		t.Skipf("skipping: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	gw := User{Name: "gw", Password: "gw-secret"}
	began := time.Now()
	dir := t.TempDir()
	if os.Getenv("TESTBED_KEEP_DIR") != "" { // keep logs for debugging
		d, err := os.MkdirTemp("", "testbed-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
		t.Logf("keeping test bed dir %s", dir)
	}
	tb, err := Start(ctx, Options{
		Dir:   dir,
		Users: []User{gw, {Name: "daytime", Password: "day-secret"}},
		Agents: []AgentSpec{
			{Name: "alice", Password: "alice-secret", Presence: StatusOnline, AnswerCalls: true},
			{Name: "bob", Password: "bob-secret", Presence: StatusOnline},
		},
		Log: testLogger(t),
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %v (kamailio %s, 2 agents)", time.Since(began).Round(time.Millisecond), tb.Addr())
	t.Cleanup(func() {
		if err := tb.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if tb.Domain() != "frontdesk.test" || !strings.HasPrefix(tb.Addr(), "127.0.0.1:") {
		t.Fatalf("Domain %q Addr %q", tb.Domain(), tb.Addr())
	}
	alice, bob := tb.Agent("alice"), tb.Agent("bob")
	if alice == nil || bob == nil || tb.Agent("nobody") != nil {
		t.Fatal("Agent lookup broken")
	}

	p := newPeer(t, tb.Addr(), gw.Name, gw.Password)

	t.Run("register", func(t *testing.T) {
		p.t = t
		res, challenge := p.register("wrong", 300)
		if res.StatusCode == 200 {
			t.Fatalf("REGISTER with a wrong password answered 200")
		}
		t.Logf("REGISTER wrong password: %d %s", res.StatusCode, res.Reason)
		res, challenge = p.register(gw.Password, 300)
		if challenge != 401 || res.StatusCode != 200 {
			t.Fatalf("REGISTER: challenge %d, final %d %s; want 401 then 200", challenge, res.StatusCode, res.Reason)
		}
	})

	t.Run("presence", func(t *testing.T) {
		p.t = t
		p.subscribe("alice", "presence", "application/pidf+xml")
		p.waitNotify("alice", "presence", reOpen)

		if err := alice.SetPresence(ctx, StatusBusy); err != nil {
			t.Fatalf("SetPresence busy: %v", err)
		}
		n := p.waitNotify("alice", "presence", reBusy)
		if !reOpen.MatchString(n.body) {
			t.Errorf("busy NOTIFY should keep basic open:\n%s", n.body)
		}

		if err := alice.SetPresence(ctx, StatusAway); err != nil {
			t.Fatalf("SetPresence away: %v", err)
		}
		p.waitNotify("alice", "presence", regexp.MustCompile(`<rpid:away\s*/>`))

		if err := alice.SetPresence(ctx, StatusOffline); err != nil {
			t.Fatalf("SetPresence offline: %v", err)
		}
		n = p.waitNotify("alice", "presence", reNotOpen)
		if reOpen.MatchString(n.body) {
			t.Errorf("offline NOTIFY still open:\n%s", n.body)
		}
		if err := alice.SetPresence(ctx, StatusOnline); err != nil {
			t.Fatalf("SetPresence online: %v", err)
		}
		n = p.waitNotify("alice", "presence", reOpen)
		if reBusy.MatchString(n.body) {
			t.Errorf("online NOTIFY still busy:\n%s", n.body)
		}
	})

	t.Run("dialog", func(t *testing.T) {
		p.t = t
		p.subscribe("bob", "dialog", "application/dialog-info+xml")
		n := p.waitNotify("bob", "dialog", reDialogInfo)
		if reEarly.MatchString(n.body) || reConfirmed.MatchString(n.body) {
			t.Errorf("idle bob already busy:\n%s", n.body)
		}
		p.subscribe("alice", "dialog", "application/dialog-info+xml")
		p.waitNotify("alice", "dialog", reDialogInfo)

		if err := alice.Dial(ctx, bob.URI()); err != nil {
			t.Fatalf("Dial: %v", err)
		}
		p.waitNotify("bob", "dialog", reEarly)
		if err := bob.Accept(ctx); err != nil {
			t.Fatalf("Accept: %v", err)
		}
		p.waitNotify("bob", "dialog", reConfirmed)
		p.waitNotify("alice", "dialog", reConfirmed)
		if err := alice.Hangup(ctx); err != nil {
			t.Fatalf("Hangup: %v", err)
		}
		p.waitNotify("bob", "dialog", reTerminated)
		p.waitNotify("alice", "dialog", reTerminated)
	})

	t.Run("boolean", func(t *testing.T) {
		p.t = t
		p.subscribe("daytime", "presence", "application/pidf+xml")
		if err := tb.PublishBoolean(ctx, "daytime", "day-secret", true); err != nil {
			t.Fatalf("PublishBoolean true: %v", err)
		}
		p.waitNotify("daytime", "presence", reOpen)
		if err := tb.PublishBoolean(ctx, "daytime", "day-secret", false); err != nil {
			t.Fatalf("PublishBoolean false: %v", err)
		}
		p.waitNotify("daytime", "presence", reClosed)
		if err := tb.PublishBoolean(ctx, "daytime", "wrong", true); err == nil {
			t.Errorf("PublishBoolean with a wrong password succeeded")
		}
	})

	t.Run("publish basic unknown rejected", func(t *testing.T) {
		p.t = t
		req := p.request(sip.PUBLISH, p.uri(gw.Name), p.uri(gw.Name))
		req.AppendHeader(sip.NewHeader("Event", "presence"))
		req.AppendHeader(sip.NewHeader("Expires", "60"))
		req.AppendHeader(sip.NewHeader("Content-Type", "application/pidf+xml"))
		req.SetBody([]byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:%s@%s"><tuple id="x"><status><basic>unknown</basic></status></tuple></presence>`, gw.Name, Domain)))
		res, challenge := p.do(req, gw.Password)
		if challenge != 407 || res.StatusCode != 400 {
			t.Fatalf("PUBLISH basic unknown: challenge %d, final %d %s; want 407 then 400", challenge, res.StatusCode, res.Reason)
		}
	})

	p.t = t
	if res, _ := p.register(gw.Password, 0); res.StatusCode != 200 {
		t.Errorf("un-REGISTER: %d %s", res.StatusCode, res.Reason)
	}
}

func TestStartMissingDir(t *testing.T) {
	if _, err := Start(context.Background(), Options{}); err == nil {
		t.Fatal("Start without Dir succeeded")
	}
}

func TestCollectUsersRejectsBadInput(t *testing.T) {
	for _, opts := range []Options{
		{Users: []User{{Name: "a b", Password: "x"}}},
		{Users: []User{{Name: "a", Password: ""}}},
		{Users: []User{{Name: "a", Password: "x"}}, Agents: []AgentSpec{{Name: "a", Password: "y"}}},
		{Agents: []AgentSpec{{Name: "a", Password: "y", Presence: "dancing"}}},
	} {
		if _, err := collectUsers(opts); err == nil {
			t.Errorf("collectUsers(%+v) accepted bad input", opts)
		}
	}
}

func TestPIDFBody(t *testing.T) {
	for status, want := range map[string]*regexp.Regexp{
		StatusOnline:     reOpen,
		StatusBusy:       reBusy,
		StatusOnThePhone: reBusy,
		StatusAway:       regexp.MustCompile(`<rpid:away/>`),
		StatusClosed:     reClosed,
	} {
		b, err := PIDFBody("alice", status)
		if err != nil {
			t.Fatalf("%s: %v", status, err)
		}
		if !want.Match(b) || !strings.Contains(string(b), `entity="sip:alice@frontdesk.test"`) {
			t.Errorf("%s: body\n%s", status, b)
		}
	}
	if _, err := PIDFBody("alice", "dancing"); err == nil {
		t.Error("unknown status accepted")
	}
}

func TestRenderKamailioConfig(t *testing.T) {
	cfg, err := RenderKamailioConfig(15060, "/tmp/x/kamailio.db")
	if err != nil {
		t.Fatal(err)
	}
	s := string(cfg)
	for _, want := range []string{
		"listen=udp:127.0.0.1:15060", "listen=tcp:127.0.0.1:15060", `alias="frontdesk.test"`,
		`"sqlite:////tmp/x/kamailio.db"`, `$sp == 15060`, `$(ru{uri.port}) == "15060"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("rendered config lacks %q", want)
		}
	}
	if strings.Contains(s, "{{") {
		t.Error("unrendered template action left")
	}
	if !strings.Contains(s, `loadmodule "presence_dialoginfo.so"`) || strings.Contains(s, `"403", "Subscriptions Not Allowed"`) {
		t.Error("the working config lacks the dialog package or refuses SUBSCRIBEs")
	}
	faulty, err := renderKamailioConfig("127.0.0.1", 15060, "/tmp/x/kamailio.db", false, Faults{NoDialogEvents: true, RefuseSubscribe: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f := string(faulty); strings.Contains(f, `loadmodule "presence_dialoginfo.so"`) || strings.Contains(f, `modparam("pua_dialoginfo"`) || !strings.Contains(f, `sl_send_reply("403", "Subscriptions Not Allowed")`) {
		t.Errorf("faulty config:\n%s", f)
	}
}
