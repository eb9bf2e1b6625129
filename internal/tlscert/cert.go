package tlscert

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultInterval is how often Run checks the files.
const DefaultInterval = time.Second

// maxFileBytes bounds a certificate or key file: a chain of a few
// certificates is a few KiB.
const maxFileBytes = 1 << 20

// Options say where the key pair is and how to watch it.
type Options struct {
	// CertFile is the PEM certificate chain, leaf first; KeyFile its
	// private key.
	CertFile, KeyFile string
	// Interval is how often Run checks the files (default DefaultInterval).
	Interval time.Duration
	// Log receives reloads and refused files.
	Log *slog.Logger
}

// Cert is the certificate in use. Its methods are safe for concurrent use.
type Cert struct {
	opts    Options
	current atomic.Pointer[loaded]

	reloads, failures atomic.Uint64

	mu      sync.Mutex
	lastErr error // why the files on disk are not in use; nil when they are
}

// loaded is one key pair in use and the bytes it came from.
type loaded struct {
	pair     *tls.Certificate
	certPEM  []byte
	keyPEM   []byte
	files    fileStates
	loadedAt time.Time
}

// Status is what an operator wants to know about the certificate.
type Status struct {
	// Subject and DNSNames name the certificate in use.
	Subject  string
	DNSNames []string
	// NotAfter is when it expires.
	NotAfter time.Time
	// LoadedAt is when it was loaded.
	LoadedAt time.Time
	// Reloads counts renewed certificates taken into use, Failures the
	// changed files that were refused.
	Reloads, Failures uint64
	// Err is why the files on disk are not the certificate in use (nil
	// when they are).
	Err error
}

// Load reads the key pair; it fails when the files cannot be used.
func Load(opts Options) (*Cert, error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	c := &Cert{opts: opts}
	files := statFiles(opts.CertFile, opts.KeyFile)
	if files.err != nil {
		return nil, files.err
	}
	l, err := c.read(files)
	if err != nil {
		return nil, err
	}
	c.current.Store(l)
	return c, nil
}

// GetCertificate is for tls.Config: every handshake gets the certificate in
// use.
func (c *Cert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current.Load().pair, nil
}

// GetClientCertificate is for tls.Config of a client: when a server asks
// for a client certificate, every handshake gets the certificate in use.
func (c *Cert) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return c.current.Load().pair, nil
}

// Status reports the certificate in use and the last refused change.
func (c *Cert) Status() Status {
	l := c.current.Load()
	leaf := l.pair.Leaf
	c.mu.Lock()
	err := c.lastErr
	c.mu.Unlock()
	return Status{
		Subject:  leaf.Subject.String(),
		DNSNames: leaf.DNSNames,
		NotAfter: leaf.NotAfter,
		LoadedAt: l.loadedAt,
		Reloads:  c.reloads.Load(),
		Failures: c.failures.Load(),
		Err:      err,
	}
}

// Run checks the files every Interval until ctx ends.
func (c *Cert) Run(ctx context.Context) {
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	w := c.newWatch()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.check(w)
		}
	}
}

// watch is what Run knows between checks: what the previous check saw,
// and what was last loaded or refused.
type watch struct{ seen, tried fileStates }

func (c *Cert) newWatch() *watch {
	files := c.current.Load().files
	return &watch{seen: files, tried: files}
}

// check loads the files when they changed and then stayed the same since
// the previous check.
func (c *Cert) check(w *watch) {
	now := statFiles(c.opts.CertFile, c.opts.KeyFile)
	if now.equal(w.tried) {
		return
	}
	if !now.equal(w.seen) {
		w.seen = now // changed: wait until it stays so for one check
		return
	}
	w.tried = now
	if now.err != nil {
		c.refuse(now.err)
	} else {
		c.reload(now)
	}
}

// reload loads the files, or keeps the certificate in use when they cannot
// be used.
func (c *Cert) reload(files fileStates) {
	l, err := c.read(files)
	if err != nil {
		c.refuse(err)
		return
	}
	old := c.current.Load()
	c.setErr(nil)
	if bytes.Equal(l.certPEM, old.certPEM) && bytes.Equal(l.keyPEM, old.keyPEM) {
		return // touched, not changed
	}
	c.current.Store(l)
	c.reloads.Add(1)
	c.opts.Log.Info("TLS certificate reloaded", "file", c.opts.CertFile,
		"subject", l.pair.Leaf.Subject.String(), "not_after", l.pair.Leaf.NotAfter)
}

func (c *Cert) refuse(err error) {
	c.failures.Add(1)
	c.setErr(err)
	c.opts.Log.Warn("TLS certificate files changed but cannot be used; the previous certificate serves",
		"file", c.opts.CertFile, "err", err)
}

func (c *Cert) setErr(err error) {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
}

// read loads and checks the key pair.
func (c *Cert) read(files fileStates) (*loaded, error) {
	certPEM, err := readBounded(c.opts.CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readBounded(c.opts.KeyFile)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair %s, %s: %w", c.opts.CertFile, c.opts.KeyFile, err)
	}
	leaf := pair.Leaf
	if leaf == nil { // GODEBUG=x509keypairleaf=0
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parse TLS certificate %s: %w", c.opts.CertFile, err)
		}
		pair.Leaf = leaf
	}
	now := time.Now()
	switch {
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("TLS certificate %s expired on %s", c.opts.CertFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("TLS certificate %s is not valid before %s", c.opts.CertFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return &loaded{pair: &pair, certPEM: certPEM, keyPEM: keyPEM, files: files, loadedAt: now}, nil
}

func readBounded(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read TLS file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read TLS file %s: %w", name, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("read TLS file %s: larger than %d bytes", name, maxFileBytes)
	}
	return data, nil
}

// fileStates are what a check compares of the two files: the files, or
// why they could not be looked at.
type fileStates struct {
	cert, key os.FileInfo
	err       error
}

func statFiles(certFile, keyFile string) fileStates {
	cert, err := os.Stat(certFile)
	if err != nil {
		return fileStates{err: fmt.Errorf("read TLS file: %w", err)}
	}
	key, err := os.Stat(keyFile)
	if err != nil {
		return fileStates{err: fmt.Errorf("read TLS file: %w", err)}
	}
	return fileStates{cert: cert, key: key}
}

func (s fileStates) equal(o fileStates) bool {
	if s.err != nil || o.err != nil {
		return s.err != nil && o.err != nil && s.err.Error() == o.err.Error()
	}
	return sameFile(s.cert, o.cert) && sameFile(s.key, o.key)
}

// sameFile: the same file (a rename over it or a symlink swap makes another
// one), with the same size and modification time.
func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
