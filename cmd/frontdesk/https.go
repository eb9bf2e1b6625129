package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/tlscert"
)

// certExpiryWarning is how long before its end an expiring certificate
// shows as a warning on /readyz and /healthz.
const certExpiryWarning = 14 * 24 * time.Hour

// loadCert loads the visitor port's certificate; nil without TLS.
func loadCert(h config.HTTP, log *slog.Logger) (*tlscert.Cert, error) {
	if h.TLSCert == "" {
		return nil, nil
	}
	c, err := tlscert.Load(tlscert.Options{CertFile: h.TLSCert, KeyFile: h.TLSKey, Log: log})
	if err != nil {
		return nil, fmt.Errorf("http.tls_cert: %w", err)
	}
	return c, nil
}

// tlsConfig is the visitor port's TLS configuration.
func tlsConfig(h config.HTTP, c *tlscert.Cert) *tls.Config {
	minVersion := uint16(tls.VersionTLS12)
	if h.TLSMinVersion == "1.3" {
		minVersion = tls.VersionTLS13
	}
	return tlscert.ServerConfig(c, minVersion)
}

// certWarnings are the certificate's problems that do not stop visitors
// being served: refused renewals and a near end.
func certWarnings(st tlscert.Status, now time.Time) []string {
	var out []string
	if st.Err != nil {
		out = append(out, "the TLS certificate files changed but cannot be used; the previous certificate serves: "+st.Err.Error())
	}
	switch left := st.NotAfter.Sub(now); {
	case left <= 0:
		out = append(out, "the TLS certificate expired on "+st.NotAfter.UTC().Format(time.RFC3339))
	case left < certExpiryWarning:
		in := fmt.Sprintf("%d days", int(left.Hours()/24))
		if left < 24*time.Hour {
			in = fmt.Sprintf("%d hours", int(left.Hours()))
		}
		out = append(out, fmt.Sprintf("the TLS certificate expires on %s (in %s); renew it",
			st.NotAfter.UTC().Format(time.RFC3339), in))
	}
	return out
}

// acmeToken is what an ACME HTTP-01 token looks like (base64url).
var acmeToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// maxChallengeBytes bounds a challenge file (a key authorization is
// under 100 bytes).
const maxChallengeBytes = 4 << 10

// redirectHandler answers plain HTTP with a permanent redirect to the same
// path at target (the https public URL). The Host a request names is never
// used: the redirect goes to the configured address only. With webroot,
// ACME HTTP-01 challenges under /.well-known/acme-challenge/ are served
// from webroot/.well-known/acme-challenge/ instead.
func redirectHandler(target, webroot string) http.Handler {
	target = strings.TrimRight(target, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token, ok := strings.CutPrefix(r.URL.Path, "/.well-known/acme-challenge/"); ok && webroot != "" {
			serveChallenge(w, r, webroot, token)
			return
		}
		path := r.URL.RequestURI()
		if !strings.HasPrefix(path, "/") {
			path = "/"
		}
		http.Redirect(w, r, target+path, http.StatusPermanentRedirect)
	})
}

// serveChallenge serves one ACME challenge file, or 404.
func serveChallenge(w http.ResponseWriter, r *http.Request, webroot, token string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !acmeToken.MatchString(token) {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(filepath.Join(webroot, ".well-known", "acme-challenge", token))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxChallengeBytes+1))
	if err != nil || len(data) > maxChallengeBytes {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}
