package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/frontdesk-gw/frontdesk/admin"
	"github.com/frontdesk-gw/frontdesk/bridge"
	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/cluster"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/clientaddr"
	"github.com/frontdesk-gw/frontdesk/internal/tlscert"
	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/frontdesk-gw/frontdesk/sip"
	"github.com/frontdesk-gw/frontdesk/widget"
)

// gateway wires the packages together: SIP notifications feed the presence
// store, the hub tells widget sessions, config reloads reach all of them.
type gateway struct {
	log   *slog.Logger
	store *presence.Store
	hub   *presence.Hub
	ua    *sip.UA
	chat  *chat.Manager
	media *bridge.Engine // nil when calls could not be set up
	web   *widget.Server
	// cluster is nil without a cluster section: a single node.
	cluster *cluster.Engine
	// clientAddr finds visitors' addresses behind trusted proxies.
	clientAddr *clientaddr.Resolver
	// cert is the visitor port's TLS certificate (nil: plain HTTP).
	cert *tlscert.Cert
	// The admin view, what it knows of the subscriptions, and the admin
	// listener's certificate and client CAs (nil: plain HTTP, none).
	adminView *admin.Server
	tracker   *admin.Tracker
	adminCert *tlscert.Cert
	adminCAs  *x509.CertPool

	cfg      atomic.Pointer[config.Config]
	notifies atomic.Uint64
	badBody  atomic.Uint64
	// callSetup times answered calls' setup (widget.Options.CallSetup).
	callSetup *prometheus.HistogramVec

	// watcher is nil when serving the embedded config.
	watcher *config.Watcher
	// drain is closed when the gateway should drain before stopping (nil:
	// never).
	drain <-chan struct{}
	// redirect serves plain HTTP that redirects to the https public URL
	// (nil: no http.redirect_listen).
	redirect *redirectListener

	mu       sync.Mutex
	regState sip.RegState
	regErr   string
	reloadAt time.Time
}

type gatewayOptions struct {
	Logger   *slog.Logger
	SIPTrace bool
}

func newGateway(cfg *config.Config, opts gatewayOptions) (*gateway, error) {
	g := &gateway{
		log:     opts.Logger,
		store:   presence.NewStore(),
		hub:     presence.NewHub(20 * time.Millisecond),
		tracker: admin.NewTracker(),
	}
	g.cfg.Store(cfg)
	ua, err := sip.New(cfg.SIP, g, sip.Options{
		Logger:    opts.Logger.With("component", "sip"),
		Trace:     opts.SIPTrace,
		UserAgent: "Frontdesk/" + version,
	})
	if err != nil {
		return nil, fmt.Errorf("create SIP user agent: %w", err)
	}
	g.ua = ua
	if err := g.newClusterEngine(cfg); err != nil {
		return nil, err
	}
	chatOpts := chat.Options{
		Config:   cfg.Chat,
		Sender:   ua,
		Username: cfg.SIP.Username,
		Domain:   cfg.SIP.Domain,
		Log:      opts.Logger.With("component", "chat"),
	}
	if g.cluster != nil {
		chatOpts.Shared, chatOpts.Node = g.cluster, g.cluster.Node()
	}
	g.chat = chat.NewManager(chatOpts)
	if g.cluster != nil {
		g.cluster.SetChats(g.chat)
	}
	var calls widget.Calls
	if host, err := rtpHost(cfg.SIP); err != nil {
		opts.Logger.Error("calls disabled: no address for RTP; set calls.rtp_address", "err", err)
	} else if g.media, err = bridge.NewEngine(cfg.Calls, host, opts.Logger.With("component", "bridge")); err != nil {
		opts.Logger.Error("calls disabled", "err", err)
	} else {
		calls = callPlacer{engine: g.media, dialer: ua, cluster: g.cluster, ua: ua}
	}
	if g.clientAddr, err = widget.NewClientAddr(cfg.HTTP); err != nil {
		return nil, err
	}
	if g.cert, err = loadCert(cfg.HTTP, opts.Logger.With("component", "tls")); err != nil {
		return nil, err
	}
	g.callSetup = newCallSetupHistogram()
	webOpts := widget.Options{
		Logger:       opts.Logger.With("component", "widget"),
		Availability: g.store,
		Hub:          g.hub,
		Chat:         g.chat,
		Calls:        calls,
		ClientAddr:   g.clientAddr,
		CallSetup: func(own, answer time.Duration) {
			g.callSetup.WithLabelValues("gateway").Observe(own.Seconds())
			g.callSetup.WithLabelValues("pbx").Observe(answer.Seconds())
		},
	}
	if g.cluster != nil {
		webOpts.Cluster = g.cluster
	}
	web, err := widget.New(cfg, webOpts)
	if err != nil {
		return nil, fmt.Errorf("create widget server: %w", err)
	}
	g.web = web
	if err := g.setupAdmin(cfg, opts.Logger); err != nil {
		return nil, err
	}
	return g, nil
}

// redirectListener is the plain HTTP listener of http.redirect_listen and
// the https URL it redirects to.
type redirectListener struct {
	ln     net.Listener
	target string
}

// Registration implements sip.Handler.
func (g *gateway) Registration(state sip.RegState, err error) {
	g.mu.Lock()
	g.regState = state
	g.regErr = ""
	if err != nil {
		g.regErr = err.Error()
	}
	g.mu.Unlock()
	if err != nil {
		g.log.Warn("registration", "state", state, "err", err)
	} else {
		g.log.Info("registration", "state", state)
	}
}

// Notify implements sip.Handler.
func (g *gateway) Notify(n sip.Notification) {
	g.notifies.Add(1)
	g.tracker.Notified(n)
	var changed bool
	var err error
	switch n.Target.Event {
	case sip.EventPresence:
		changed, err = g.store.ApplyPresence(n.Target.URI, n.ContentType, n.Body)
	case sip.EventDialog:
		changed, err = g.store.ApplyDialog(n.Target.URI, n.Body)
	}
	if err != nil {
		g.badBody.Add(1)
		g.log.Warn("ignoring notification body", "uri", n.Target.URI, "event", n.Target.Event,
			"content_type", n.ContentType, "err", err)
	}
	if changed {
		g.log.Debug("presence changed", "uri", n.Target.URI, "event", n.Target.Event)
		g.hub.Changed()
		if g.cluster != nil {
			g.cluster.Changed(n.Target)
		}
	}
}

// Message implements sip.MessageHandler: chat replies from agents.
func (g *gateway) Message(m sip.IncomingMessage) int { return g.chat.Message(m) }

// SubscriptionLost implements sip.Handler: what was known of the target is
// forgotten, also when a reload removed it (an agent added again later starts
// unknown, not with the state it had before).
//
// A refusal (no such package, or the PBX's policy) makes the agent's
// availability come from the other package alone until the refused one
// works again.
func (g *gateway) SubscriptionLost(t sip.Target, err error) {
	g.tracker.Lost(t, err)
	forget := g.store.Reset
	switch {
	case errors.Is(err, sip.ErrSubscriptionRemoved):
		g.log.Debug("subscription removed", "uri", t.URI, "event", t.Event)
	case errors.Is(err, sip.ErrRefused):
		forget = g.store.Refuse
		g.log.Warn("subscription refused: availability from the other event package alone", "uri", t.URI, "event", t.Event,
			"fallback", fallbackOf(t.Event), "err", err)
	default:
		g.log.Warn("subscription lost", "uri", t.URI, "event", t.Event, "err", err)
	}
	if g.keepsRemoved(t, err) {
		return
	}
	if forget(t.URI, string(t.Event)) {
		g.hub.Changed()
		if g.cluster != nil {
			g.cluster.Changed(t)
		}
	}
}

// fallbackOf says what availability is left when event is refused.
func fallbackOf(refused sip.Event) string {
	if refused == sip.EventDialog {
		return "presence only: busy detection limited"
	}
	return "dialog only: available while idle; a phone that is switched off is not seen"
}

// targets lists the subscriptions cfg needs.
func targets(cfg *config.Config) []sip.Target {
	var out []sip.Target
	for _, m := range cfg.Monitored() {
		if m.Presence {
			out = append(out, sip.Target{URI: m.URI, Event: sip.EventPresence})
		}
		if m.Dialog {
			out = append(out, sip.Target{URI: m.URI, Event: sip.EventDialog})
		}
	}
	return out
}

// apply swaps in a reloaded config: build the new, swap, then let go of the
// old.
func (g *gateway) apply(old, cfg *config.Config) {
	ch := config.Diff(old, cfg)
	g.cfg.Store(cfg)
	g.web.SetConfig(cfg)
	if ch.SIP {
		if err := g.ua.Reconfigure(cfg.SIP); err != nil {
			g.log.Error("SIP settings changed but cannot be applied; restart frontdesk", "err", err)
		}
	}
	if ch.Chat {
		g.chat.SetConfig(cfg.Chat)
	}
	if ch.Calls {
		g.log.Warn("calls settings changed: port ranges, addresses and the WebRTC stack take effect after a restart; limits, timeouts and candidate networks at once")
		if g.media != nil {
			if err := g.media.SetCandidateNetworks(cfg.Calls.CandidateNetworks); err != nil {
				g.log.Error("calls.candidate_networks not applied", "err", err)
			}
		}
	}
	if ch.HTTP {
		g.log.Warn("http or admin settings changed: they take effect after a restart")
	}
	if ch.Cluster {
		g.log.Warn("cluster settings changed: they take effect after a restart")
	}
	g.subscribe(cfg)
	g.hub.Changed()
	g.mu.Lock()
	g.reloadAt = time.Now()
	g.mu.Unlock()
	g.log.Info("config reloaded", "widgets", len(ch.Widgets), "sip_changed", ch.SIP)
	for _, w := range ch.Widgets {
		g.log.Info("widget changed", "widget", w.ID, "added", w.Added, "removed", w.Removed,
			"settings", w.Settings, "agents_added", w.AgentsAdded, "agents_changed", w.AgentsChanged,
			"agents_removed", w.AgentsRemoved)
	}
}

// run serves until ctx ends, then shuts down in order: stop taking visitors
// and end their sessions (calls are hung up, chats detached), end chats
// (agents are told), and only then stop the SIP user agent, which hangs up
// what is left, unsubscribes and unregisters.
func (g *gateway) run(ctx context.Context, httpLn, adminLn net.Listener, watcher *config.Watcher) error {
	cfg := g.cfg.Load()
	// Each stage has its own context, cancelled in shutdown order.
	uaCtx, stopUA := context.WithCancel(context.WithoutCancel(ctx))
	defer stopUA()
	chatCtx, stopChat := context.WithCancel(context.WithoutCancel(ctx))
	defer stopChat()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	errc := make(chan error, 4)
	fail := func(err error) {
		errc <- err
		cancel()
	}
	var uaWG, chatWG, wg sync.WaitGroup
	uaWG.Add(1)
	go func() {
		defer uaWG.Done()
		if err := g.ua.Run(uaCtx); err != nil && !errors.Is(err, context.Canceled) {
			fail(fmt.Errorf("SIP user agent: %w", err))
		}
	}()
	chatWG.Add(1)
	go func() {
		defer chatWG.Done()
		g.chat.Run(chatCtx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.hub.Run(ctx)
	}()
	clusterCtx, stopCluster := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCluster()
	var clusterWG sync.WaitGroup
	clusterWG.Add(1)
	go func() {
		defer clusterWG.Done()
		g.runCluster(clusterCtx)
	}()
	g.subscribe(cfg)
	if watcher != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := watcher.Run(ctx, cfg, g.apply); err != nil && !errors.Is(err, context.Canceled) {
				g.log.Error("config watcher stopped", "err", err)
			}
		}()
	}

	srv := &http.Server{
		Handler:           g.web.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	// The admin listener is for operators (loopback by default): health,
	// readiness and metrics stay off the port visitors reach.
	adminSrv := &http.Server{
		Handler:           g.adminRoutes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		TLSConfig:         g.adminTLSConfig(),
	}
	// Trace streams last until their page leaves: end them on shutdown.
	adminSrv.RegisterOnShutdown(g.adminView.Close)
	if g.adminCert != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.adminCert.Run(ctx)
		}()
	}
	if g.cert != nil {
		// Every handshake gets the certificate in use; renewed files are
		// picked up while serving.
		srv.TLSConfig = tlsConfig(cfg.HTTP, g.cert)
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.cert.Run(ctx)
		}()
	}
	var redirectSrv *http.Server
	if g.redirect != nil {
		redirectSrv = &http.Server{
			Handler:           redirectHandler(g.redirect.target, cfg.HTTP.ACMEWebroot),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      10 * time.Second,
			IdleTimeout:       30 * time.Second,
			MaxHeaderBytes:    8 << 10,
			ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := redirectSrv.Serve(g.redirect.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fail(fmt.Errorf("redirect server: %w", err))
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		var err error
		if srv.TLSConfig != nil {
			err = srv.ServeTLS(httpLn, "", "")
		} else {
			err = srv.Serve(httpLn)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			fail(fmt.Errorf("http server: %w", err))
		}
	}()
	go func() {
		defer wg.Done()
		var err error
		if adminSrv.TLSConfig != nil {
			err = adminSrv.ServeTLS(adminLn, "", "")
		} else {
			err = adminSrv.Serve(adminLn)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			fail(fmt.Errorf("admin server: %w", err))
		}
	}()

	select {
	case <-ctx.Done():
	case <-g.drain:
		// Other nodes take the subscriptions over first; widgets reconnect
		// elsewhere; calls may finish until ctx ends.
		g.handOver(ctx)
		g.web.Drain(ctx)
		cancel()
	}
	g.log.Info("shutting down")
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer stop()
	// Websocket sessions are hijacked connections: Shutdown does not wait for
	// them; the widget server ends them.
	_ = srv.Shutdown(shutdownCtx)
	if redirectSrv != nil {
		_ = redirectSrv.Shutdown(shutdownCtx)
	}
	g.web.Close()
	_ = adminSrv.Shutdown(shutdownCtx)
	g.releaseChats()
	stopChat()
	chatWG.Wait()
	g.handOver(ctx)
	stopCluster()
	clusterWG.Wait()
	stopUA()
	uaWG.Wait()
	if g.media != nil {
		_ = g.media.Close()
	}
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
