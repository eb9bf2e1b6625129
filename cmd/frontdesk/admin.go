package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/frontdesk-gw/frontdesk/admin"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/tlscert"
)

// setupAdmin builds the admin view (and the admin listener's certificate
// and client CAs when configured). Admin settings take effect at start.
func (g *gateway) setupAdmin(cfg *config.Config, log *slog.Logger) error {
	a := cfg.Admin
	var err error
	if g.adminCert, g.adminCAs, err = loadAdminTLS(a, log); err != nil {
		return err
	}
	view, err := admin.New(admin.Options{
		Sources: admin.Sources{
			Config:  g.cfg.Load,
			Store:   g.store,
			Tracker: g.tracker,
			SIP:     g.ua.Status,
			Health: func() any {
				h, _ := g.health()
				return h
			},
			Sessions:     g.web.Sessions,
			CallsByAgent: g.web.CallsByAgent,
			ChatsByAgent: g.chat.ChatsByAgent,
		},
		Trace:      g.ua,
		Admin:      a,
		ListenAddr: a.Listen,
		Log:        log.With("component", "admin"),
	})
	if err != nil {
		return fmt.Errorf("admin view: %w", err)
	}
	g.adminView = view
	return nil
}

// loadAdminTLS loads the admin listener's certificate and client CAs
// (nil, nil without admin.tls_cert).
func loadAdminTLS(a config.Admin, log *slog.Logger) (*tlscert.Cert, *x509.CertPool, error) {
	if a.TLSCert == "" {
		return nil, nil, nil
	}
	c, err := tlscert.Load(tlscert.Options{CertFile: a.TLSCert, KeyFile: a.TLSKey, Log: log.With("component", "admin-tls")})
	if err != nil {
		return nil, nil, fmt.Errorf("admin.tls_cert: %w", err)
	}
	if a.ClientCA == "" {
		return c, nil, nil
	}
	pool, err := loadCAs(a.ClientCA)
	if err != nil {
		return nil, nil, fmt.Errorf("admin.client_ca: %w", err)
	}
	return c, pool, nil
}

// loadCAs reads a PEM file of CA certificates.
func loadCAs(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// adminTLSConfig is the admin listener's TLS configuration (nil: plain
// HTTP). With client CAs a certificate is asked for but not required:
// probes and scrapers reach /livez, /readyz and /metrics without one, and
// the admin view admits a verified one.
func (g *gateway) adminTLSConfig() *tls.Config {
	if g.adminCert == nil {
		return nil
	}
	c := tlscert.ServerConfig(g.adminCert, tls.VersionTLS12)
	if g.adminCAs != nil {
		c.ClientCAs = g.adminCAs
		c.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return c
}

// adminViewAccess says how the admin view is protected, for the log.
func adminViewAccess(a config.Admin, addr net.Addr) string {
	var ways []string
	if a.ResolvedToken != "" {
		ways = append(ways, "token")
	}
	if a.ClientCA != "" {
		ways = append(ways, "client certificate")
	}
	if len(ways) > 0 {
		return strings.Join(ways, " or ")
	}
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		return "loopback only, unprotected"
	}
	return "not served: no token or client CA off loopback"
}
