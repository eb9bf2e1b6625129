package tlscert

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testca"
)

// pki is a test CA with a certificate directory.
type pki struct {
	t   *testing.T
	ca  *testca.CA
	dir string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca, err := testca.New("Frontdesk test CA")
	if err != nil {
		t.Fatal(err)
	}
	return &pki{t: t, ca: ca, dir: t.TempDir()}
}

func (p *pki) certFile() string { return filepath.Join(p.dir, "cert.pem") }
func (p *pki) keyFile() string  { return filepath.Join(p.dir, "key.pem") }

// issue makes a certificate for 127.0.0.1 valid from notBefore to notAfter
// (zero: the defaults).
func (p *pki) issue(notBefore, notAfter time.Time) *testca.Issued {
	p.t.Helper()
	c, err := p.ca.Issue(testca.Leaf{Names: []string{"127.0.0.1", "localhost"}, NotBefore: notBefore, NotAfter: notAfter})
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

// install writes c's files the way a renewal tool does: a temporary file
// renamed over each.
func (p *pki) install(c *testca.Issued) {
	p.t.Helper()
	p.write(p.certFile(), c.CertPEM)
	p.write(p.keyFile(), c.KeyPEM)
}

func (p *pki) write(name string, data []byte) {
	p.t.Helper()
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		p.t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		p.t.Fatal(err)
	}
}

// served is the serial number of the certificate a TLS client verifying
// against the CA gets from addr.
func (p *pki) served(addr string) *big.Int {
	p.t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.ca.Pool(), ServerName: "localhost"})
	if err != nil {
		p.t.Fatalf("TLS handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}

// serve accepts TLS connections with c until the test ends; each completes
// its handshake and is closed.
func serve(t *testing.T, c *Cert) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ServerConfig(c, tls.VersionTLS12))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// waitStatus waits (bounded) until cond holds for c's status.
func waitStatus(t *testing.T, c *Cert, what string, cond func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := c.Status()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within 5s; status %+v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRenewedCertificateServedWithoutRestart: Run picks up a renewal made
// by swapping a directory symlink (as Kubernetes secrets and certbot's
// live/ links do); the next handshakes get it, the listener never stopped.
func TestRenewedCertificateServedWithoutRestart(t *testing.T) {
	p := newPKI(t)
	first := p.issue(time.Time{}, time.Time{})
	second := p.issue(time.Time{}, time.Now().Add(100*24*time.Hour))
	for i, c := range []*testca.Issued{first, second} {
		dir := filepath.Join(p.dir, fmt.Sprint("v", i+1))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		p.write(filepath.Join(dir, "cert.pem"), c.CertPEM)
		p.write(filepath.Join(dir, "key.pem"), c.KeyPEM)
	}
	live := filepath.Join(p.dir, "live")
	if err := os.Symlink("v1", live); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Options{CertFile: filepath.Join(live, "cert.pem"), KeyFile: filepath.Join(live, "key.pem"), Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := serve(t, c)
	if got := p.served(addr); got.Cmp(first.Serial) != 0 {
		t.Fatalf("served serial %v, want %v", got, first.Serial)
	}
	if err := os.Symlink("v2", live+".new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(live+".new", live); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, c, "renewed certificate loaded", func(s Status) bool { return s.Reloads == 1 })
	if got := p.served(addr); got.Cmp(second.Serial) != 0 {
		t.Fatalf("after renewal served serial %v, want %v", got, second.Serial)
	}
	if st.Err != nil || st.Failures != 0 {
		t.Errorf("status after a good renewal: %+v", st)
	}
	if !st.NotAfter.Equal(second.NotAfter.Truncate(time.Second)) {
		t.Errorf("NotAfter %v, want %v", st.NotAfter, second.NotAfter)
	}
}

// TestBadCertificateKeepsTheOldOne: files that cannot be used are refused
// and reported; handshakes keep getting the previous certificate, and the
// report clears once good files are back.
func TestBadCertificateKeepsTheOldOne(t *testing.T) {
	p := newPKI(t)
	first := p.issue(time.Time{}, time.Time{})
	p.install(first)
	other := p.issue(time.Time{}, time.Time{})
	expired := p.issue(time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
	future := p.issue(time.Now().Add(time.Hour), time.Now().Add(48*time.Hour))
	var logs bytes.Buffer
	c, err := Load(Options{CertFile: p.certFile(), KeyFile: p.keyFile(), Interval: time.Hour,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, c)
	// The checks run by hand (Run's ticker would race the test's writes):
	// two in a row see the files settled.
	w := c.newWatch()
	settle := func() { c.check(w); c.check(w) }

	cases := []struct {
		name      string
		write     func()
		wantError string
	}{
		{"key of another certificate", func() { p.write(p.keyFile(), other.KeyPEM) }, "private key does not match"},
		{"not PEM", func() { p.write(p.certFile(), []byte("-----BEGIN garbage")); p.write(p.keyFile(), first.KeyPEM) }, "load TLS key pair"},
		{"expired", func() { p.install(expired) }, "expired on"},
		{"not yet valid", func() { p.install(future) }, "not valid before"},
		{"missing key", func() { p.install(first); os.Remove(p.keyFile()) }, "no such file"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.write()
			settle()
			st := c.Status()
			if st.Failures != uint64(i+1) {
				t.Errorf("%d failures counted, want %d", st.Failures, i+1)
			}
			if st.Err == nil || !strings.Contains(st.Err.Error(), tc.wantError) {
				t.Errorf("status error %v, want one with %q", st.Err, tc.wantError)
			}
			if got := p.served(addr); got.Cmp(first.Serial) != 0 {
				t.Errorf("served serial %v after a bad change, want the old %v", got, first.Serial)
			}
		})
	}
	settle() // nothing changed: nothing logged again
	if n := strings.Count(logs.String(), "cannot be used"); n != len(cases) {
		t.Errorf("%d refusals logged, want one per bad change (%d):\n%s", n, len(cases), logs.String())
	}

	good := p.issue(time.Time{}, time.Time{})
	p.install(good)
	settle()
	st := c.Status()
	if st.Reloads != 1 {
		t.Errorf("%d reloads, want 1", st.Reloads)
	}
	if st.Err != nil {
		t.Errorf("error still reported after good files: %v", st.Err)
	}
	if got := p.served(addr); got.Cmp(good.Serial) != 0 {
		t.Errorf("served %v, want the new good %v", got, good.Serial)
	}
}

// TestHalfWrittenRenewalNotLoaded: a renewal that replaces the certificate
// and, a moment later, the key is loaded as a whole; the moment in between
// is not reported as a bad certificate.
func TestHalfWrittenRenewalNotLoaded(t *testing.T) {
	p := newPKI(t)
	first := p.issue(time.Time{}, time.Time{})
	p.install(first)
	c, err := Load(Options{CertFile: p.certFile(), KeyFile: p.keyFile(), Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// The checks run by hand: one sees the new certificate with the old
	// key; the key follows before the next.
	second := p.issue(time.Time{}, time.Time{})
	w := c.newWatch()
	check := func() { c.check(w) }
	p.write(p.certFile(), second.CertPEM)
	check()
	p.write(p.keyFile(), second.KeyPEM)
	check()
	check()
	st := c.Status()
	if st.Failures != 0 || st.Reloads != 1 {
		t.Fatalf("half-written renewal: %+v, want one reload and no failure", st)
	}
	pair, _ := c.GetCertificate(nil)
	if pair.Leaf.SerialNumber.Cmp(second.Serial) != 0 {
		t.Errorf("in use: %v, want %v", pair.Leaf.SerialNumber, second.Serial)
	}
}

// TestLoadRefusesUnusableFiles: the gateway does not start on files that
// cannot be used.
func TestLoadRefusesUnusableFiles(t *testing.T) {
	p := newPKI(t)
	p.install(p.issue(time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)))
	if _, err := Load(Options{CertFile: p.certFile(), KeyFile: p.keyFile()}); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: %v", err)
	}
	if _, err := Load(Options{CertFile: p.certFile(), KeyFile: filepath.Join(p.dir, "none.pem")}); err == nil {
		t.Error("missing key loaded")
	}
	p.write(p.certFile(), bytes.Repeat([]byte("A"), maxFileBytes+1))
	if _, err := Load(Options{CertFile: p.certFile(), KeyFile: p.keyFile()}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge file: %v", err)
	}
}

// TestServerConfigIsModern: TLS 1.1 and non-forward-secret TLS 1.2 suites
// are refused; TLS 1.3 works, and a TLS 1.3 minimum refuses 1.2.
func TestServerConfigIsModern(t *testing.T) {
	p := newPKI(t)
	p.install(p.issue(time.Time{}, time.Time{}))
	c, err := Load(Options{CertFile: p.certFile(), KeyFile: p.keyFile()})
	if err != nil {
		t.Fatal(err)
	}
	handshake := func(server, client *tls.Config) error {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		errc := make(chan error, 1)
		go func() {
			s := tls.Server(a, server)
			errc <- s.Handshake()
			a.Close()
		}()
		cl := tls.Client(b, client)
		err := cl.Handshake()
		b.Close()
		if serr := <-errc; err == nil {
			err = serr
		}
		return err
	}
	base := func() *tls.Config { return &tls.Config{RootCAs: p.ca.Pool(), ServerName: "localhost"} }
	v13 := base()
	v13.MinVersion = tls.VersionTLS13
	if err := handshake(ServerConfig(c, tls.VersionTLS12), v13); err != nil {
		t.Errorf("TLS 1.3: %v", err)
	}
	v12 := base()
	v12.MaxVersion = tls.VersionTLS12
	if err := handshake(ServerConfig(c, tls.VersionTLS12), v12); err != nil {
		t.Errorf("TLS 1.2: %v", err)
	}
	if err := handshake(ServerConfig(c, tls.VersionTLS13), v12); err == nil {
		t.Error("TLS 1.2 accepted with a TLS 1.3 minimum")
	}
	v11 := base()
	v11.MinVersion, v11.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if err := handshake(ServerConfig(c, tls.VersionTLS12), v11); err == nil {
		t.Error("TLS 1.1 accepted")
	}
	cbc := base()
	cbc.MaxVersion = tls.VersionTLS12
	cbc.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
	if err := handshake(ServerConfig(c, tls.VersionTLS12), cbc); err == nil {
		t.Error("a CBC suite was accepted")
	}
}
