package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/loglimit"
	"github.com/frontdesk-gw/frontdesk/sip"
)

func cmdServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "serve [--config FILE] [--sip-trace] [--log-level LEVEL] [--log-format text|json]", stderr)
	path := fs.String("config", "", "config file, reloaded on change (default ./frontdesk.yaml, else the embedded demo config)")
	trace := fs.Bool("sip-trace", false, "log every SIP message sent and received")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	format := fs.String("log-format", "text", "log format: text or json")
	drainFor := fs.Duration("drain-timeout", 2*time.Minute, "on SIGTERM, how long running calls may go on before they are ended")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	_ = stdout // serve logs to stderr
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintln(stderr, "frontdesk serve:", err)
		return 2
	}
	cfg, warnings, err := loadConfig(*path)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	for _, w := range warnings {
		log.Warn(w.String())
	}
	if cfg.Source == "" {
		log.Info("using the embedded demo config; start the demo PBX with 'make demo' or pass --config")
	}

	ctx, drain, stop := stopOnSignals(log, *drainFor)
	defer stop()

	g, err := newGateway(cfg, gatewayOptions{Logger: log, SIPTrace: *trace})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		log.Error("cannot listen for HTTP", "addr", cfg.HTTP.Listen, "err", err)
		return 1
	}
	if cfg.HTTP.ProxyProtocol {
		// Load balancers in front speak the PROXY protocol; only those in
		// http.trusted_proxies are believed.
		ln = g.clientAddr.Listener(ln)
	}
	publicURL := cfg.HTTP.PublicURL
	if publicURL == "" {
		// Port 0: the gateway's own pages are at the port it got.
		publicURL = listenURL(ln.Addr(), cfg.HTTP.TLSCert != "")
		g.web.SetListenURL(publicURL)
	}
	log.Info("http listening", "addr", ln.Addr().String(), "public_url", publicURL, "tls", cfg.HTTP.TLSCert != "",
		"trusted_proxies", cfg.HTTP.TrustedProxies, "proxy_protocol", cfg.HTTP.ProxyProtocol)
	if cfg.HTTP.RedirectListen != "" {
		redirectLn, err := net.Listen("tcp", cfg.HTTP.RedirectListen)
		if err != nil {
			log.Error("cannot listen for the HTTPS redirect", "addr", cfg.HTTP.RedirectListen, "err", err)
			return 1
		}
		g.redirect = &redirectListener{ln: redirectLn, target: publicURL}
		log.Info("redirect listening", "addr", redirectLn.Addr().String(), "to", publicURL,
			"acme_webroot", cfg.HTTP.ACMEWebroot)
	}
	adminLn, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		log.Error("cannot listen for the admin endpoints", "addr", cfg.Admin.Listen, "err", err)
		return 1
	}
	log.Info("admin listening", "addr", adminLn.Addr().String(),
		"endpoints", "/livez /readyz /healthz /metrics /admin/", "tls", cfg.Admin.TLSCert != "",
		"admin_view", adminViewAccess(cfg.Admin, adminLn.Addr()))
	for _, w := range cfg.Widgets {
		log.Info("widget", "id", w.ID, "type", w.Type, "name", w.Name, "agents", len(w.Agents),
			"preview", strings.TrimRight(publicURL, "/")+"/preview/"+w.ID)
	}

	var watcher *config.Watcher
	if cfg.Source != "" {
		watcher = config.NewWatcher(cfg.Source, log.With("component", "config"), 200*time.Millisecond)
		g.watcher = watcher
	}
	g.drain = drain
	if err := g.run(ctx, ln, adminLn, watcher); err != nil {
		log.Error("stopped with errors", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// listenURL is the URL of a listener at addr; an unspecified host becomes
// 127.0.0.1.
func listenURL(addr net.Addr, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("--log-format %q: use text or json", format)
	}
	// Anyone on the internet can make the gateway log (junk datagrams,
	// refused connections): repeats of one line are cut and counted. The
	// SIP trace is asked for and kept whole.
	return slog.New(loglimit.New(h, loglimit.Options{Unlimited: []string{sip.TraceLogMessage}})), nil
}

// stopOnSignals returns a context that ends when the gateway must stop, and
// a channel closed when it should drain first. SIGTERM drains: no new
// sessions, idle sessions close, running calls may finish for up to drainFor.
// SIGINT, a second signal, or the end of drainFor stop at once.
// stop releases the signal handling.
func stopOnSignals(log *slog.Logger, drainFor time.Duration) (context.Context, <-chan struct{}, context.CancelFunc) {
	ctx, stop := context.WithCancel(context.Background())
	drain := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sigs)
		defer stop()
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-ctx.Done():
			return
		}
		if sig == syscall.SIGINT {
			log.Info("SIGINT: stopping now")
			return
		}
		log.Info("SIGTERM: draining; send another signal to stop now", "for", drainFor)
		close(drain)
		t := time.NewTimer(drainFor)
		defer t.Stop()
		select {
		case <-sigs:
			log.Info("second signal: stopping now")
		case <-t.C:
			log.Info("drain time is over: stopping")
		case <-ctx.Done():
		}
	}()
	return ctx, drain, stop
}
