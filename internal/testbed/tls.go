package testbed

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// TLS makes the test bed's Kamailio listen for SIP over TLS too (its tls
// module, Debian's kamailio-tls-modules) on Host:Port.
type TLS struct {
	// Port is the TLS port on Host; 0 picks a free one.
	Port int
	// CertPEM and KeyPEM are Kamailio's certificate (chain, leaf first)
	// and private key.
	CertPEM, KeyPEM []byte
	// CAPEM are the CA certificates Kamailio trusts: for the client
	// certificates VerifyClient asks for, and for the certificates of
	// the TLS servers it connects to (the gateway's TLS listener), which
	// it verifies.
	CAPEM []byte
	// VerifyClient makes Kamailio ask every TLS client for a certificate
	// issued by CAPEM and refuse the connection without one (its
	// verify_certificate and require_certificate).
	VerifyClient bool
	// RewriteContacts makes Kamailio put the source address of a request
	// that came over TLS in its Contact (nathelper's fix_nated_contact,
	// as PBXes do for clients behind NAT), so that what it sends to that
	// client goes over the client's own connection: the case of a gateway
	// that does not listen for TLS.
	RewriteContacts bool
}

// tlsTemplate is what kamailio.cfg's TLS fields hold.
type tlsTemplate struct {
	Port            int
	Config          string // the tls module's configuration file
	RewriteContacts bool
}

// writeTLSFiles writes Kamailio's certificate, key, CA list and tls module
// configuration into dir and returns the template fields.
func writeTLSFiles(dir string, o *TLS) (*tlsTemplate, error) {
	files := map[string][]byte{"kamailio-tls-cert.pem": o.CertPEM, "kamailio-tls-key.pem": o.KeyPEM, "kamailio-tls-ca.pem": o.CAPEM}
	for name, data := range files {
		if len(data) == 0 {
			return nil, fmt.Errorf("testbed: TLS: %s is empty", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, fmt.Errorf("testbed: TLS: %w", err)
		}
	}
	verify := "no"
	if o.VerifyClient {
		verify = "yes"
	}
	// [server:default] is Kamailio accepting connections; [client:default]
	// is Kamailio connecting to a TLS listener, whose certificate it
	// verifies against the CA list.
	cfg := fmt.Sprintf(`[server:default]
method = TLSv1.2+
verify_certificate = %[1]s
require_certificate = %[1]s
private_key = %[2]s
certificate = %[3]s
ca_list = %[4]s

[client:default]
method = TLSv1.2+
verify_certificate = yes
require_certificate = yes
ca_list = %[4]s
`, verify, filepath.Join(dir, "kamailio-tls-key.pem"), filepath.Join(dir, "kamailio-tls-cert.pem"), filepath.Join(dir, "kamailio-tls-ca.pem"))
	path := filepath.Join(dir, "kamailio-tls.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("testbed: TLS: %w", err)
	}
	return &tlsTemplate{Port: o.Port, Config: path, RewriteContacts: o.RewriteContacts}, nil
}

// TLSAddr is Kamailio's "HOST:PORT" for SIP over TLS, "" without
// Options.TLS.
func (t *Testbed) TLSAddr() string {
	if t.tls == nil {
		return ""
	}
	return net.JoinHostPort(t.host, strconv.Itoa(t.tls.Port))
}

// waitTLSListening waits until Kamailio accepts TCP connections on its
// TLS port (a connection is opened and closed at once).
func (t *Testbed) waitTLSListening(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		d := net.Dialer{Timeout: 500 * time.Millisecond}
		c, err := d.DialContext(ctx, "tcp", t.TLSAddr())
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testbed: kamailio does not listen for TLS on %s within %v: %w", t.TLSAddr(), timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
