package sip

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
)

// Options tune a UA.
type Options struct {
	// Logger receives the UA's logs (default: slog.Default()).
	Logger *slog.Logger
	// Trace logs every SIP message in and out at info level.
	Trace bool
	// UserAgent is the User-Agent header value (default "frontdesk").
	UserAgent string
}

// timing holds the durations tests shorten.
type timing struct {
	backoffMin     time.Duration // first retry delay after a failure
	backoffMax     time.Duration
	requestTimeout time.Duration // wait for one final response
	closeTimeout   time.Duration // unregister / unsubscribe when stopping
	linger         time.Duration // keep a removed dialog to answer its last NOTIFY
	minRefresh     time.Duration // floor of refresh intervals
	minSE          time.Duration // our Min-SE (RFC 4028)

	keepaliveTimeout  time.Duration // wait for one probe's final response
	keepaliveRetry    time.Duration // next probe after one went unanswered
	keepaliveFailures int           // unanswered probes in a row that mean the PBX is gone
	renewSpacing      time.Duration // at most this between two renewed subscriptions
	renewWindow       time.Duration // and all of them within this

	// listGrace is how long after a full-state NOTIFY the resources it
	// lacks may still come in partial ones (a list server that splits its
	// full state over several NOTIFYs, as Kamailio's rls does with
	// max_notify_body_length) before they count as not in the list.
	listGrace time.Duration
	// listFirstNotify bounds the wait for the first full-state NOTIFY
	// after a list SUBSCRIBE was accepted.
	listFirstNotify time.Duration
	// listStateless is how long after a full state settled the list's
	// wanted members may stay without any state before full state is
	// asked for again; the wait doubles up to listStatelessMax while some
	// still have none.
	listStateless, listStatelessMax time.Duration
}

func defaultTiming() timing {
	return timing{
		backoffMin:     time.Second,
		backoffMax:     60 * time.Second,
		requestTimeout: 10 * time.Second,
		closeTimeout:   2 * time.Second,
		linger:         5 * time.Second,
		minRefresh:     time.Second,
		minSE:          defaultMinSE,

		keepaliveTimeout:  5 * time.Second,
		keepaliveRetry:    time.Second,
		keepaliveFailures: 2,
		renewSpacing:      50 * time.Millisecond,
		renewWindow:       10 * time.Second,

		listGrace:        2 * time.Second,
		listFirstNotify:  10 * time.Second,
		listStateless:    5 * time.Second,
		listStatelessMax: 5 * time.Minute,
	}
}

// UA is the gateway's SIP user agent: one sipgo UserAgent, Server and Client
// sharing one transport. It runs once: create, Run until the context ends.
type UA struct {
	log      *slog.Logger
	h        Handler
	opts     Options
	agent    string
	tm       timing
	resolver *net.Resolver

	sua *sipgo.UserAgent
	srv *sipgo.Server
	tls *tlsSetup     // verification, client certificate, listener (tls.go)
	cli *sipgo.Client // set by Run before ready is closed; see client

	started atomic.Bool
	ready   chan struct{}

	mu        sync.Mutex
	set       settings
	status    Status
	localAddr string
	contact   sip.Uri           // set by Run before Ready, then read-only
	wanted    map[Target]string // the address key (sipaddr.Key) of each URI
	subs      map[Target]*subscription
	lists     map[Event]*subscription // resource list subscriptions (list.go)
	dialogs   map[dialogKey]*dialog
	// deliveries queue what the Handler hears per Target (deliver.go)
	deliveries map[Target]*delivery
	runCtx     context.Context // nil until Run starts subscriptions
	stopping   bool
	subWG      sync.WaitGroup
	regReconf  chan settings // latest settings for the registration loop
	calls      callTable     // live call legs (call.go)
	regNow     chan struct{} // re-register at once: the PBX seems to have lost our state
	probeNow   chan string   // probe the PBX at once, for this reason (keepalive.go)
	// Recovery (keepalive.go): whether the last REGISTER 2xx listed our
	// contact, whether subscriptions are renewed after the next successful
	// REGISTER, and the renewal epoch dialogs are made in.
	bindingVisible   bool
	noBindingQueries bool // the registrar's answers to them proved useless
	renewDue         bool
	epoch            uint64

	subPacer      pacer          // spaces SUBSCRIBEs (sip.subscribe_rate)
	subChallenges challengeCache // answers SUBSCRIBE challenges in advance
	subFailures   failureCounts

	trust         atomic.Pointer[trustList]         // nil until Run; read per datagram
	tap           atomic.Pointer[func(TraceRecord)] // live trace (trace.go); nil: none
	rejected      rejects
	notifies      atomic.Int64
	regFailures   atomic.Int64
	pbxLost       atomic.Int64
	registrations atomic.Int64 // successful REGISTERs
	unreachable   atomic.Bool  // the PBX answers no keepalive: nothing is active
}

// New builds a UA from cfg. Nothing is bound or sent until Run.
func New(cfg config.SIP, h Handler, opts Options) (*UA, error) {
	allowLargeMessages()
	s, err := parseSettings(cfg)
	if err != nil {
		return nil, fmt.Errorf("sip config: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	agent := opts.UserAgent
	if agent == "" {
		agent = "frontdesk"
	}
	u := &UA{
		log: log, h: h, opts: opts, agent: agent, tm: defaultTiming(),
		resolver:   net.DefaultResolver,
		ready:      make(chan struct{}),
		set:        s,
		wanted:     map[Target]string{},
		subs:       map[Target]*subscription{},
		lists:      map[Event]*subscription{},
		dialogs:    map[dialogKey]*dialog{},
		deliveries: map[Target]*delivery{},
		regReconf:  make(chan settings, 1),
		regNow:     make(chan struct{}, 1),
		probeNow:   make(chan string, 1),

		subFailures: newFailureCounts(),
	}
	if u.tls, err = newTLSSetup(cfg, s, log); err != nil {
		return nil, fmt.Errorf("sip config: %w", err)
	}
	// sipgo logs through these loggers only at debug level for normal
	// traffic; what it logs of bad input is cut short (inbound.go).
	sipgoLog := slog.New(sipgoLogHandler{next: log.Handler(), u: u})
	tpOpts := []sip.TransportLayerOption{sip.WithTransportLayerLogger(sipgoLog),
		sip.WithTransportLayerReadFilter(u.readFilter)}
	u.sua, err = sipgo.NewUA(
		sipgo.WithUserAgent(agent),
		sipgo.WithUserAgentHostname(s.aor.Host),
		sipgo.WithUserAgenTLSConfig(u.tls.client),
		sipgo.WithUserAgentTransportLayerOptions(tpOpts...),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipgoLog),
			sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
				// Late retransmissions of responses we already acted on.
				log.Debug("sip response outside any transaction", "msg", r.Short())
			})),
	)
	if err != nil {
		return nil, fmt.Errorf("create sip user agent: %w", err)
	}
	u.srv, err = sipgo.NewServer(u.sua, sipgo.WithServerLogger(sipgoLog))
	if err != nil {
		_ = u.sua.Close()
		return nil, fmt.Errorf("create sip server: %w", err)
	}
	u.srv.OnNoRoute(u.route) // every method goes through route
	return u, nil
}

// client is the sipgo client once Run has bound the transport, else nil.
// Run sets u.cli before it closes ready, so reading it only after seeing
// ready closed needs no lock.
func (u *UA) client() *sipgo.Client {
	if !isClosed(u.ready) {
		return nil
	}
	return u.cli
}

// Ready is closed once Run has bound the transport.
func (u *UA) Ready() <-chan struct{} { return u.ready }

// LocalAddr is the bound listen address (host:port), "" before Ready.
func (u *UA) LocalAddr() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.localAddr
}

// Status returns a snapshot of registration and subscriptions.
func (u *UA) Status() Status {
	u.mu.Lock()
	st := u.status
	st.Subscriptions = len(u.wanted)
	st.Active = 0
	unreachable := u.unreachable.Load()
	for _, sub := range u.subs {
		if d := sub.d; d != nil && d.confirmed && !d.closing && !unreachable {
			st.Active++
		}
		if sub.failing != nil {
			st.Degraded = append(st.Degraded, *sub.failing)
		}
	}
	for _, sub := range u.lists {
		if sub.failing != nil {
			st.Degraded = append(st.Degraded, *sub.failing)
		}
		if d := sub.d; d == nil || d.list == nil || d.closing || unreachable {
			continue
		}
		for t := range u.wanted { // the Targets the working list speaks for
			if t.Event == sub.list.event && u.subs[t] == nil && u.coveredLocked(t) {
				st.Active++
			}
		}
	}
	st.Lists = u.listStatusLocked()
	u.mu.Unlock()
	slices.SortFunc(st.Degraded, func(a, b Degraded) int {
		return cmp.Or(strings.Compare(a.Target.URI, b.Target.URI), strings.Compare(string(a.Target.Event), string(b.Target.Event)))
	})
	st.SubscribeFailures = u.subFailures.snapshot()
	st.NotifiesReceived = u.notifies.Load()
	st.RegisterFailures = u.regFailures.Load()
	st.Rejected = u.rejected.snapshot()
	st.PBXLost = u.pbxLost.Load()
	if u.tls.cert != nil {
		cs := u.tls.cert.Status()
		st.TLSCert = &cs
	}
	return st
}

// Run binds the transport, registers and subscribes, and keeps both alive
// until ctx ends; then it unregisters and unsubscribes (each bounded by a
// short timeout) and returns. A bind failure is returned at once.
func (u *UA) Run(ctx context.Context) error {
	if !u.started.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	defer u.sua.Close()

	s := u.settings()
	trust, err := buildTrust(ctx, s, u.resolver)
	if err != nil {
		return err
	}
	u.trust.Store(trust) // before the first datagram is read
	stopServe, serveDone, err := u.listen(ctx, s)
	if err != nil {
		return err
	}
	u.log.Info("sip listening", "transport", s.transport, "addr", u.LocalAddr(), "contact", u.contact.String())
	if _, chat := u.h.(MessageHandler); chat && s.transport == "UDP" {
		u.log.Warn("sip chat replies arrive over UDP, where a sender's address is easy to forge; set sip.transport to tcp or tls",
			"transport", s.transport)
	}
	close(u.ready)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	regDone, kaDone, certDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(certDone)
		if u.tls.cert != nil { // renewed files are taken into use
			u.tls.cert.Run(runCtx)
		}
	}()
	go func() {
		defer close(regDone)
		u.runRegister(runCtx)
	}()
	go func() {
		defer close(kaDone)
		u.runKeepalive(runCtx)
	}()
	u.mu.Lock()
	u.runCtx = runCtx
	u.reconcileLocked()
	u.mu.Unlock()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-serveDone:
		serveErr = fmt.Errorf("sip transport stopped: %w", serveErr)
	}
	// Stop new subscriptions, let the loops unregister and unsubscribe while
	// the transport still works, then close it.
	u.mu.Lock()
	u.stopping = true
	u.mu.Unlock()
	u.stopCalls() // BYE/CANCEL live calls while the transport works
	cancel()
	<-kaDone
	<-regDone
	<-certDone
	u.subWG.Wait()
	stopServe()
	if serveErr == nil {
		<-serveDone
	}
	u.mu.Lock()
	clear(u.dialogs)
	clear(u.subs)
	for _, sub := range u.lists {
		if sub.list.settle != nil {
			sub.list.settle.Stop()
		}
	}
	clear(u.lists)
	u.mu.Unlock()
	return serveErr
}

// listen binds the configured address and serves it on a goroutine that ends
// when stop is called; serveDone yields its result.
func (u *UA) listen(ctx context.Context, s settings) (stop func(), serveDone <-chan error, err error) {
	done := make(chan error, 1)
	var closer io.Closer
	var bound net.Addr
	var lc net.ListenConfig
	switch s.transport {
	case "UDP":
		pc, err := lc.ListenPacket(ctx, "udp", s.cfg.Listen)
		if err != nil {
			return nil, nil, fmt.Errorf("listen udp %s: %w", s.cfg.Listen, err)
		}
		closer, bound = pc, pc.LocalAddr()
		go func() { done <- u.srv.ServeUDP(pc) }()
		if err := u.waitUDPServing(ctx, bound.String(), done); err != nil {
			_ = pc.Close()
			return nil, nil, err
		}
	case "TCP":
		l, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
		if err != nil {
			return nil, nil, fmt.Errorf("listen tcp %s: %w", s.cfg.Listen, err)
		}
		closer, bound = l, l.Addr()
		go func() { done <- u.srv.ServeTCP(trustedListener{Listener: l, u: u}) }()
	case "TLS":
		if u.tls.cert == nil {
			// A TLS listener needs a certificate: without sip.tls_cert the
			// PBX reaches us over the connection we opened. Nothing is
			// served, and nothing stops before stop.
			bound = &net.TCPAddr{IP: net.IPv4zero}
			closer = closerFunc(func() error { done <- nil; return nil })
			break
		}
		l, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
		if err != nil {
			return nil, nil, fmt.Errorf("listen tls %s: %w", s.cfg.Listen, err)
		}
		closer, bound = l, l.Addr()
		tl := tlsListener{Listener: trustedListener{Listener: l, u: u}, conf: u.tls.serverConfig(), log: u.log}
		go func() { done <- u.srv.ServeTLS(tl) }()
	}
	if err := u.setContact(ctx, s, bound); err != nil {
		_ = closer.Close()
		<-done
		return nil, nil, err
	}
	var once sync.Once
	stop = func() { once.Do(func() { _ = closer.Close() }) }
	return stop, done, nil
}

// closerFunc is a func as an io.Closer.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// waitUDPServing waits until sipgo has put the listening socket in its pool:
// requests sent before that would go out from a fresh ephemeral socket.
func (u *UA) waitUDPServing(ctx context.Context, addr string, done <-chan error) error {
	pool := u.sua.TransportLayer().Pool("udp")
	for range 2000 {
		if c := pool.Get(addr); c != nil {
			_, _ = c.TryClose() // balance Get's reference; listeners stay open
			return nil
		}
		select {
		case err := <-done:
			return fmt.Errorf("serve udp %s: %w", addr, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return fmt.Errorf("serve udp %s: listener not ready", addr)
}

// setContact derives the Contact/Via address from the public address or the
// bound one and creates the client that sends from the bound socket.
func (u *UA) setContact(ctx context.Context, s settings, bound net.Addr) error {
	boundHost, boundPortStr, _ := net.SplitHostPort(bound.String())
	boundPort, _ := strconv.Atoi(boundPortStr)
	host, port := boundHost, boundPort
	if pa := s.cfg.PublicAddress; pa != "" {
		host = pa
		if h, p, err := net.SplitHostPort(pa); err == nil {
			host = h
			port, _ = strconv.Atoi(p)
		}
	} else if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		ip, err := localIPToward(ctx, hostPort(s.registrar, s.transport))
		if err != nil {
			return err
		}
		host = ip
	}
	copts := []sipgo.ClientOption{
		sipgo.WithClientLogger(slog.New(sipgoLogHandler{next: u.log.Handler(), u: u})),
		sipgo.WithClientHostname(host),
		sipgo.WithClientNAT(), // rport
	}
	if port > 0 {
		copts = append(copts, sipgo.WithClientPort(port))
	}
	if s.transport == "UDP" {
		// Send from the listening socket so replies and NAT bindings match
		// the Contact.
		copts = append(copts, sipgo.WithClientConnectionAddr(bound.String()))
	}
	cli, err := sipgo.NewClient(u.sua, copts...)
	if err != nil {
		return fmt.Errorf("create sip client: %w", err)
	}
	u.cli = cli
	u.mu.Lock()
	defer u.mu.Unlock()
	if boundPort != 0 { // TLS without a certificate binds nothing
		u.localAddr = bound.String()
	}
	u.contact = sip.Uri{Scheme: s.aor.Scheme, Host: host, Port: port}
	return nil
}

// localIPToward finds the local address the kernel would use to reach addr;
// no packet is sent.
func localIPToward(ctx context.Context, addr string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return "", fmt.Errorf("find local address toward %s: %w", addr, err)
	}
	defer c.Close()
	h, _, _ := net.SplitHostPort(c.LocalAddr().String())
	return h, nil
}

func (u *UA) settings() settings {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.set
}

// contactHeader is the UA's Contact for the given settings. It takes no
// lock: u.contact is written once before any request is built.
func (u *UA) contactHeader(s settings) *sip.ContactHeader {
	c := u.contact
	c.User = s.cfg.Username
	if !isSIPS(c.Scheme) { // sips: means TLS already (RFC 5630)
		c.UriParams = sip.HeaderParams{{K: "transport", V: sip.NetworkToLower(s.transport)}}
	}
	return &sip.ContactHeader{Address: c}
}
