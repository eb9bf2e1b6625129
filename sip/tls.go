package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/tlscert"
)

// SIP over TLS (see doc.go, TLS). The PBX's certificate is verified in
// VerifyConnection rather than by crypto/tls itself, against the name the
// PBX is configured by (outbound proxy, else registrar) as the settings
// say at the moment of the handshake: sipgo would verify each connection
// against the host its request goes to, and an in-dialog request goes to
// the address a Record-Route or Contact names, which is the PBX's address
// rather than the name its certificate carries.

const (
	// tlsHandshakeTimeout bounds the handshake of a connection the PBX
	// opens to the listener, and of a diagnostic one (diagnoseTLS).
	tlsHandshakeTimeout = 5 * time.Second
	// tlsRefusalWait is how long a diagnostic connection waits after its
	// handshake for the PBX to refuse it: with TLS 1.3 the server checks a
	// client certificate after the client has finished its handshake.
	tlsRefusalWait = time.Second
)

// tlsSetup is what the UA's TLS transport needs: the client configuration
// and the gateway's own certificate (nil without sip.tls_cert), which is
// presented as client certificate and served by the listener.
type tlsSetup struct {
	client *tls.Config
	cert   *tlscert.Cert
	// roots verify the PBX's certificate (nil: the system's roots);
	// rootsName says which, for error texts.
	roots     *x509.CertPool
	rootsName string
	insecure  bool
	// serverName is the name the PBX's certificate must hold (settings'
	// tlsName), kept current by Reconfigure.
	serverName atomic.Pointer[string]
}

// newTLSSetup loads the CA bundle and the gateway's certificate named by
// cfg. Without transport tls nothing is loaded.
func newTLSSetup(cfg config.SIP, s settings, log *slog.Logger) (*tlsSetup, error) {
	ts := &tlsSetup{rootsName: "the system's roots", insecure: cfg.TLSInsecure}
	name := s.tlsName()
	ts.serverName.Store(&name)
	ts.client = &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verification happens in VerifyConnection, against the PBX's name.
		InsecureSkipVerify: true,
		VerifyConnection:   ts.verifyPBX,
	}
	if s.transport != "TLS" {
		return ts, nil
	}
	if cfg.TLSCA != "" {
		pool, err := tlscert.LoadCAPool(cfg.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("sip.tls_ca: %w", err)
		}
		ts.roots, ts.rootsName = pool, "sip.tls_ca "+cfg.TLSCA
	}
	if cfg.TLSCert != "" {
		c, err := tlscert.Load(tlscert.Options{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, Log: log})
		if err != nil {
			return nil, fmt.Errorf("sip.tls_cert: %w", err)
		}
		ts.cert = c
		ts.client.GetClientCertificate = c.GetClientCertificate
	}
	return ts, nil
}

// setServerName changes the name the PBX's certificate must hold.
func (ts *tlsSetup) setServerName(name string) { ts.serverName.Store(&name) }

// verifyPBX checks the certificate chain the PBX sent against the roots
// and the PBX's name.
func (ts *tlsSetup) verifyPBX(cs tls.ConnectionState) error {
	if ts.insecure {
		return nil
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the PBX sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots:         ts.roots,
		Intermediates: inter,
		DNSName:       *ts.serverName.Load(),
	})
	return err
}

// serverConfig is the listener's TLS configuration: the gateway's
// certificate, TLS 1.2 or newer with forward-secret AEAD suites.
func (ts *tlsSetup) serverConfig() *tls.Config {
	return tlscert.ServerConfig(ts.cert, tls.VersionTLS12)
}

// TLSError is a TLS connection to the PBX that failed for a reason an
// operator can act on: Reason says what to change, Err is what crypto/tls
// reported.
type TLSError struct {
	Addr   string // the PBX's host:port
	Reason string
	Err    error
}

func (e *TLSError) Error() string {
	return fmt.Sprintf("TLS to %s: %s (%v)", e.Addr, e.Reason, e.Err)
}

func (e *TLSError) Unwrap() error { return e.Err }

// classify explains err, a failed handshake with the PBX at addr; asked
// says whether the PBX asked for a client certificate. It returns nil when
// err is nothing it can explain.
func (ts *tlsSetup) classify(addr string, err error, asked bool) *TLSError {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var remote *net.OpError
	switch {
	case errors.As(err, &unknownCA):
		issuer := ""
		if unknownCA.Cert != nil {
			issuer = fmt.Sprintf(" (issued by %q)", unknownCA.Cert.Issuer.String())
		}
		return &TLSError{Addr: addr, Err: err, Reason: fmt.Sprintf(
			"the PBX's certificate%s is not signed by a CA the gateway trusts (%s): set sip.tls_ca to the CA that issued it", issuer, ts.rootsName)}
	case errors.As(err, &hostname):
		return &TLSError{Addr: addr, Err: err, Reason: fmt.Sprintf(
			"the PBX's certificate does not hold the name %q: give sip.registrar (or sip.outbound_proxy) as a name the certificate holds", hostname.Host)}
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return &TLSError{Addr: addr, Err: err, Reason: "the PBX's certificate has expired or is not valid yet"}
	case errors.As(err, &invalid):
		return &TLSError{Addr: addr, Err: err, Reason: "the PBX's certificate cannot be used for a TLS server"}
	case errors.As(err, &remote) && remote.Op == "remote error" && asked && ts.cert == nil:
		return &TLSError{Addr: addr, Err: err, Reason: "the PBX asks for a client certificate and refused the connection without one: set sip.tls_cert and sip.tls_key"}
	case errors.As(err, &remote) && remote.Op == "remote error" && asked:
		st := ts.cert.Status()
		return &TLSError{Addr: addr, Err: err, Reason: fmt.Sprintf(
			"the PBX refused the gateway's client certificate (sip.tls_cert, %s): it must be issued by a CA the PBX trusts, be valid, and allow client authentication", st.Subject)}
	}
	return nil
}

// diagnoseTLS opens a TLS connection of its own to the PBX at addr with
// the UA's client configuration and reports why the PBX's TLS is not
// usable, or nil when it is: a refusal of the gateway's certificate, or of
// its lack of one, shows only on this first read after the handshake with
// TLS 1.3, while sipgo just sees the connection close.
func (ts *tlsSetup) diagnoseTLS(ctx context.Context, addr string) *TLSError {
	ctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout+tlsRefusalWait)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil // not a TLS matter
	}
	defer raw.Close()
	conf := ts.client.Clone()
	var asked atomic.Bool
	conf.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		asked.Store(true)
		if ts.cert != nil {
			return ts.cert.GetClientCertificate(cri)
		}
		return &tls.Certificate{}, nil
	}
	conf.ServerName, _, _ = net.SplitHostPort(addr) // as sipgo sends it
	c := tls.Client(raw, conf)
	if err := c.HandshakeContext(ctx); err != nil {
		return ts.classify(addr, err, asked.Load())
	}
	_ = c.SetReadDeadline(time.Now().Add(tlsRefusalWait))
	var one [1]byte
	_, err = c.Read(one[:])
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		return nil // the PBX kept the connection: TLS works
	}
	return ts.classify(addr, err, asked.Load())
}

// explainTLS replaces err, a failed request to the PBX over TLS that got
// no SIP answer, by a TLSError that says what to change, when the
// handshake is the cause. Other errors are returned as they are.
func (u *UA) explainTLS(ctx context.Context, s settings, err error) error {
	if s.transport != "TLS" || err == nil {
		return err
	}
	var se *StatusError
	var te *TLSError
	if errors.As(err, &se) || errors.As(err, &te) {
		return err
	}
	addr := s.pbxAddr()
	if e := u.tls.classify(addr, err, false); e != nil {
		return fmt.Errorf("%w; %w", e, err)
	}
	if e := u.tls.diagnoseTLS(ctx, addr); e != nil {
		return fmt.Errorf("%w; %w", e, err)
	}
	return err
}

// tlsListener completes the handshake of each connection the PBX opens,
// bounded in time, and logs why one failed (the PBX refusing the
// gateway's certificate shows here).
type tlsListener struct {
	net.Listener // trustedListener: strangers are closed before any TLS work
	conf         *tls.Config
	log          *slog.Logger
}

func (l tlsListener) Accept() (net.Conn, error) {
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c := tls.Server(raw, l.conf)
		_ = c.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
		if err := c.Handshake(); err != nil {
			l.log.Warn("sip TLS connection from the PBX failed", "source", raw.RemoteAddr().String(), "error", truncate(err.Error()))
			_ = raw.Close()
			continue
		}
		_ = c.SetDeadline(time.Time{})
		return c, nil
	}
}

// tlsName is the name the PBX's certificate must hold: the outbound
// proxy's host when there is one (every request goes there), else the
// registrar's.
func (s settings) tlsName() string {
	if s.proxy != nil {
		return s.proxy.Host
	}
	return s.registrar.Host
}

// pbxAddr is host:port of the first hop of out-of-dialog requests.
func (s settings) pbxAddr() string {
	if s.proxy != nil {
		return hostPort(*s.proxy, s.transport)
	}
	return hostPort(s.registrar, s.transport)
}

// isSIPS reports a sips: scheme.
func isSIPS(scheme string) bool { return strings.EqualFold(scheme, "sips") }
