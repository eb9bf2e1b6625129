package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
	"github.com/frontdesk-gw/frontdesk/sip/sipaddr"
)

// Options configure Run.
type Options struct {
	// Config is the gateway's configuration (the same file it serves).
	Config *config.Config
	// TestAgent and TestExtension override doctor.test_agent and
	// doctor.test_extension (sip: URIs, normalized).
	TestAgent, TestExtension string
	// Out receives the report as the checks go.
	Out io.Writer
	// Trace receives the SIP trace; TracePath names it in the report.
	Trace     io.Writer
	TracePath string
	// MediaHost is the local address RTP is sent from (as the gateway
	// picks it: calls.rtp_address, the SIP listen host, else the address
	// toward the registrar).
	MediaHost string
	// Wait bounds each wait for the PBX: a NOTIFY after a SUBSCRIBE, an
	// answer, media (default 5s).
	Wait time.Duration
	// Log receives the UA's own logs (default: none).
	Log       *slog.Logger
	UserAgent string
	Resolver  *net.Resolver // default net.DefaultResolver
}

// doctor is one run.
type doctor struct {
	o      Options
	cfg    *config.Config
	r      *Report
	ua     *sip.UA
	tr     *transcript
	ev     *events
	regErr error
}

// Run checks the PBX step by step and reports; the report has failed
// lines when something does not work. The returned error is for the run
// itself (the trace file could not be written).
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Wait <= 0 {
		o.Wait = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	d := &doctor{o: o, cfg: o.Config, r: NewReport(o.Out), tr: newTranscript(o.Trace), ev: newEvents()}
	d.header()

	d.r.Section("DNS and reachability")
	reachable := d.checkDNS(ctx)
	if !reachable {
		d.skipRest("the PBX's address does not resolve")
		return d.r, d.tr.flush()
	}
	uaCtx, stopUA := context.WithCancel(context.WithoutCancel(ctx))
	uaDone, err := d.startUA(uaCtx)
	if err != nil {
		stopUA()
		d.r.Add(Line{Status: StatusFail, Text: "the doctor's SIP user agent did not start: " + err.Error(),
			Cause: "the address to bind is taken or not of this host", Fix: &Advice{Setting: "sip.listen (the doctor binds its host with a free port)"}})
		d.skipRest("the doctor's SIP user agent did not start")
		return d.r, d.tr.flush()
	}
	d.checkReachable(ctx)

	d.r.Section("Registration")
	registered := d.checkRegistration(ctx)
	if registered {
		d.r.Section("Agents")
		d.checkAgents(ctx)
		if rl := d.cfg.SIP.ResourceList; rl.Presence != "" || rl.Dialog != "" {
			d.r.Skip("resource lists (sip.resource_list %s %s): not checked: the doctor subscribes to each agent on its own; the gateway's /healthz sip.lists shows the lists' state",
				rl.Presence, rl.Dialog)
		}
		d.r.Section("Test message")
		d.checkMessage(ctx)
		d.r.Section("Test call")
		d.checkCall(ctx)
	} else {
		d.skipRest("not registered")
	}
	d.r.Section("Security")
	d.checkTLS(registered)
	if d.cfg.Calls.SRTP != "sdes" {
		d.r.Skip("SRTP: not configured (calls.srtp is off): calls to the PBX use plain RTP")
	}

	d.r.Section("Leaving")
	stopUA()
	<-uaDone
	d.checkUnregistered()
	d.r.Summary(o.TracePath)
	return d.r, d.tr.flush()
}

// header says what is checked with which identity.
func (d *doctor) header() {
	src := d.cfg.Source
	if src == "" {
		src = "the embedded demo config"
	}
	s := d.cfg.SIP
	d.r.Note("frontdesk doctor: checking the PBX of %s", src)
	d.r.Note("Identity: sip:%s@%s via %s over %s. The doctor registers this user with a Contact of its own (its own port), so a running gateway keeps its registration, and unregisters that Contact at the end.",
		s.Username, domainOf(d.cfg), s.Registrar, strings.ToUpper(s.Transport))
	if d.o.TracePath != "" {
		d.r.Note("SIP trace: %s (kept)", d.o.TracePath)
	}
}

func domainOf(cfg *config.Config) string {
	if cfg.SIP.Domain != "" {
		return cfg.SIP.Domain
	}
	a, err := sipaddr.ParseServer(cfg.SIP.Registrar)
	if err != nil {
		return cfg.SIP.Registrar
	}
	return a.Hostname()
}

// skipRest says the checks that follow were not run.
func (d *doctor) skipRest(why string) {
	d.r.Skip("registration, agents, test message and test call: not checked: %s", why)
}

// checkDNS resolves the registrar and the outbound proxy.
func (d *doctor) checkDNS(ctx context.Context) bool {
	ok := true
	for _, srv := range []struct{ key, value string }{{"sip.registrar", d.cfg.SIP.Registrar}, {"sip.outbound_proxy", d.cfg.SIP.OutboundProxy}} {
		if srv.value == "" {
			continue
		}
		a, err := sipaddr.ParseServer(srv.value)
		if err != nil {
			d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("%s %q: %v", srv.key, srv.value, err), Fix: adviceDNS})
			ok = false
			continue
		}
		host := a.Hostname()
		if _, err := netip.ParseAddr(host); err == nil {
			d.r.OK("%s %s: an IP address, nothing to resolve", srv.key, srv.value)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, d.o.Wait)
		addrs, err := d.o.Resolver.LookupHost(rctx, host)
		cancel()
		if err != nil || len(addrs) == 0 {
			d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("%s %s: %s does not resolve: %v", srv.key, srv.value, host, err),
				Cause: "a typo in the name, or this host's resolver does not know it (the gateway looks up A/AAAA records, not SRV)", Fix: adviceDNS})
			ok = false
			continue
		}
		d.r.OK("%s %s: %s resolves to %s", srv.key, srv.value, host, strings.Join(addrs, ", "))
	}
	return ok
}

// doctorSIP is the gateway's SIP settings with the doctor's own port: the
// listen host with port 0, and behind a NAT the public host with that
// port (a 1:1 NAT maps it), so the doctor's Contact is never the gateway's.
func doctorSIP(s config.SIP) config.SIP {
	host := s.Listen
	if h, _, err := net.SplitHostPort(s.Listen); err == nil {
		host = h
	}
	s.Listen = net.JoinHostPort(host, "0")
	// Each agent on its own, so each gets its own line (the list is named
	// as not checked).
	s.ResourceList = config.ResourceList{}
	if s.PublicAddress != "" {
		if h, _, err := net.SplitHostPort(s.PublicAddress); err == nil {
			s.PublicAddress = h
		}
	}
	return s
}

// startUA runs the doctor's UA with the trace tapped until ctx ends; done
// is closed when it has unregistered and stopped.
func (d *doctor) startUA(ctx context.Context) (done <-chan struct{}, err error) {
	agent := d.o.UserAgent
	if agent == "" {
		agent = "Frontdesk-doctor"
	}
	d.ua, err = sip.New(doctorSIP(d.cfg.SIP), d.ev, sip.Options{Logger: d.o.Log, UserAgent: agent})
	if err != nil {
		return nil, err
	}
	d.ua.SetTraceTap(d.tr.record)
	errc := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		errc <- d.ua.Run(ctx)
	}()
	select {
	case <-d.ua.Ready():
		d.r.OK("the doctor's SIP user agent listens on %s (%s); the gateway's is sip.listen %s", d.ua.LocalAddr(),
			strings.ToUpper(d.cfg.SIP.Transport), d.cfg.SIP.Listen)
		return stopped, nil
	case err := <-errc:
		return nil, err
	}
}

// checkReachable sends an OPTIONS to the registrar (or through the proxy).
func (d *doctor) checkReachable(ctx context.Context) {
	a, _ := sipaddr.ParseServer(d.cfg.SIP.Registrar)
	target := "sip:" + net.JoinHostPort(a.Hostname(), strconv.Itoa(portOr(a.Port, d.cfg.SIP.Transport)))
	res, err := d.ua.Options(ctx, target)
	if err != nil {
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("OPTIONS %s over %s: no answer (%v)", target, strings.ToUpper(d.cfg.SIP.Transport), err),
			Cause: "the PBX is down, the port or transport is wrong, or a firewall drops SIP", Fix: adviceNoAnswer})
		return
	}
	server := ""
	if res.Server != "" {
		server = " by " + res.Server
	}
	d.r.OK("OPTIONS %s over %s: %d %s in %v%s: the PBX is reachable", target, strings.ToUpper(d.cfg.SIP.Transport), res.Code, res.Reason,
		res.Took.Round(time.Millisecond), server)
}

// checkTLS says how SIP toward the PBX is protected. The registration ran
// over the configured transport, so over TLS a registration means the
// handshake (and, unless tls_insecure, the certificate check) passed.
func (d *doctor) checkTLS(registered bool) {
	sc := d.cfg.SIP
	switch {
	case !strings.EqualFold(sc.Transport, "tls"):
		d.r.Add(Line{Status: StatusWarn, Text: "SIP over " + strings.ToUpper(sc.Transport) + " is not encrypted: whoever is on the path to the PBX reads the chats and the call setup",
			Cause: "sip.transport is " + sc.Transport, Fix: &Advice{Setting: "sip.transport: tls (with sip.tls_ca for a private CA), and TLS on the PBX",
				Kamailio: "load tls.so and listen=tls:…:5061", Asterisk: "a PJSIP transport with protocol=tls", FreeSWITCH: "tls=true on the sofia profile"}})
	case !registered:
		d.r.Skip("SIP over TLS: not checked: not registered (see the registration lines for why the TLS connection failed)")
	case sc.TLSInsecure:
		d.r.Add(Line{Status: StatusWarn, Text: "SIP over TLS: the PBX's certificate is not verified (sip.tls_insecure): anyone on the path can pose as the PBX",
			Cause: "sip.tls_insecure is on", Fix: &Advice{Setting: "sip.tls_insecure: false, with sip.tls_ca naming the CA of the PBX's certificate"}})
	default:
		ca := "the system's roots"
		if sc.TLSCA != "" {
			ca = sc.TLSCA
		}
		d.r.OK("SIP over TLS: the PBX's certificate was verified (CA: %s) and the registration, subscriptions and test legs went over TLS", ca)
	}
}

func portOr(port int, transport string) int {
	if port > 0 {
		return port
	}
	if strings.EqualFold(transport, "tls") {
		return 5061
	}
	return 5060
}

// events is the doctor UA's Handler: what it hears goes to the checks.
type events struct {
	reg chan regEvent

	mu   sync.Mutex
	subs map[sip.Target][]subEvent
	wake chan struct{} // signalled on every subscription event
}

type regEvent struct {
	state sip.RegState
	err   error
}

// subEvent is a NOTIFY (note) or a loss (lost).
type subEvent struct {
	at   time.Time
	note *sip.Notification
	lost error
}

func newEvents() *events {
	return &events{reg: make(chan regEvent, 64), subs: map[sip.Target][]subEvent{}, wake: make(chan struct{}, 1)}
}

func (e *events) Registration(state sip.RegState, err error) {
	select {
	case e.reg <- regEvent{state, err}:
	default: // the doctor reads the first ones only
	}
}

func (e *events) Notify(n sip.Notification) { e.add(n.Target, subEvent{at: time.Now(), note: &n}) }

func (e *events) SubscriptionLost(t sip.Target, err error) {
	e.add(t, subEvent{at: time.Now(), lost: err})
}

func (e *events) add(t sip.Target, ev subEvent) {
	e.mu.Lock()
	if len(e.subs[t]) < 16 {
		e.subs[t] = append(e.subs[t], ev)
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// heard returns what was heard of t so far.
func (e *events) heard(t sip.Target) []subEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]subEvent(nil), e.subs[t]...)
}

// waitAll waits until every target has an answer (a NOTIFY that is not
// pending, or a loss) or ctx ends.
func (e *events) waitAll(ctx context.Context, targets []sip.Target) {
	for {
		done := true
		for _, t := range targets {
			if !answered(e.heard(t)) {
				done = false
				break
			}
		}
		if done {
			return
		}
		select {
		case <-e.wake:
		case <-ctx.Done():
			return
		}
	}
}

func answered(evs []subEvent) bool {
	for _, ev := range evs {
		if ev.lost != nil || (ev.note != nil && ev.note.State != sip.SubPending) {
			return true
		}
	}
	return false
}

// statusCode is the SIP status of err, 0 when it has none.
func statusCode(err error) int {
	var se *sip.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// NormalizeTarget reads a --test-agent or --test-extension value (a sip:
// URI, user@domain or a user of the SIP domain) by the one address rule.
func NormalizeTarget(cfg *config.Config, v string) (string, error) {
	a, err := sipaddr.ParseUser(v, domainOf(cfg))
	if err != nil {
		return "", err
	}
	return a.String(), nil
}
