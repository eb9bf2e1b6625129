package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontdesk-gw/frontdesk/bridge"
	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/clientaddr"
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
	// clientAddr finds visitors' addresses behind trusted proxies.
	clientAddr *clientaddr.Resolver

	cfg      atomic.Pointer[config.Config]
	notifies atomic.Uint64
	badBody  atomic.Uint64

	// watcher is nil when serving the embedded config.
	watcher *config.Watcher
	// drain is closed when the gateway should drain before stopping (nil:
	// never).
	drain <-chan struct{}

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
		log:   opts.Logger,
		store: presence.NewStore(),
		hub:   presence.NewHub(20 * time.Millisecond),
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
	g.chat = chat.NewManager(chat.Options{
		Config:   cfg.Chat,
		Sender:   ua,
		Username: cfg.SIP.Username,
		Domain:   cfg.SIP.Domain,
		Log:      opts.Logger.With("component", "chat"),
	})
	var calls widget.Calls
	if host, err := rtpHost(cfg.SIP); err != nil {
		opts.Logger.Error("calls disabled: no address for RTP; set calls.rtp_address", "err", err)
	} else if g.media, err = bridge.NewEngine(cfg.Calls, host, opts.Logger.With("component", "bridge")); err != nil {
		opts.Logger.Error("calls disabled", "err", err)
	} else {
		calls = callPlacer{engine: g.media, dialer: ua}
	}
	if g.clientAddr, err = widget.NewClientAddr(cfg.HTTP); err != nil {
		return nil, err
	}
	web, err := widget.New(cfg, widget.Options{
		Logger:       opts.Logger.With("component", "widget"),
		Availability: g.store,
		Hub:          g.hub,
		Chat:         g.chat,
		Calls:        calls,
		ClientAddr:   g.clientAddr,
	})
	if err != nil {
		return nil, fmt.Errorf("create widget server: %w", err)
	}
	g.web = web
	return g, nil
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
	}
}

// Message implements sip.MessageHandler: chat replies from agents.
func (g *gateway) Message(m sip.IncomingMessage) int { return g.chat.Message(m) }

// SubscriptionLost implements sip.Handler.
func (g *gateway) SubscriptionLost(t sip.Target, err error) {
	g.log.Warn("subscription lost", "uri", t.URI, "event", t.Event, "err", err)
	if g.store.Reset(t.URI, string(t.Event)) {
		g.hub.Changed()
	}
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
	g.ua.SetSubscriptions(targets(cfg))
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
	g.ua.SetSubscriptions(targets(cfg))
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
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		var err error
		if cfg.HTTP.TLSCert != "" {
			err = srv.ServeTLS(httpLn, cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
		} else {
			err = srv.Serve(httpLn)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			fail(fmt.Errorf("http server: %w", err))
		}
	}()
	go func() {
		defer wg.Done()
		if err := adminSrv.Serve(adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fail(fmt.Errorf("admin server: %w", err))
		}
	}()

	select {
	case <-ctx.Done():
	case <-g.drain:
		// Widgets reconnect elsewhere; calls may finish until ctx ends.
		g.web.Drain(ctx)
		cancel()
	}
	g.log.Info("shutting down")
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer stop()
	// Websocket sessions are hijacked connections: Shutdown does not wait for
	// them; the widget server ends them.
	_ = srv.Shutdown(shutdownCtx)
	g.web.Close()
	_ = adminSrv.Shutdown(shutdownCtx)
	stopChat()
	chatWG.Wait()
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
