package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/ratelimit"
)

const (
	// cookieName is the session cookie the login page sets.
	cookieName = "frontdesk_admin"
	// sessionLife is how long a login lasts.
	sessionLife = 12 * time.Hour
	// maxLoginBody bounds the login form.
	maxLoginBody = 4 << 10
)

// Login attempts (and wrong bearer tokens) allowed per client address and
// in all: a token of 16 characters or more is out of reach of guessing at
// this pace, and a flood costs nothing.
var (
	loginRatePerIP = config.Rate{Count: 10, Per: time.Minute}
	loginRateAll   = config.Rate{Count: 60, Per: time.Minute}
)

// Access is how the admin view is protected and how a request got in; the
// page shows it.
type Access struct {
	// Mode is "token", "client certificate", "token or client
	// certificate" or "loopback only".
	Mode string `json:"mode"`
	// Via is how this request was admitted: "token", "session", "client
	// certificate CN=…" or "loopback".
	Via string `json:"via,omitempty"`
	// Note explains an unprotected view.
	Note string `json:"note,omitempty"`
}

// gate decides who may see the admin view.
type gate struct {
	token    string // "" when none is configured
	clientCA bool   // the admin listener's TLS verifies client certificates
	loopback bool   // the admin listener is on a loopback address
	secure   bool   // the admin listener speaks TLS
	key      []byte // signs session cookies: from the token and a secret of this process
	limiter  *ratelimit.Limiter
	now      func() time.Time
}

func newGate(token string, clientCA, loopback, secure bool, now func() time.Time) *gate {
	g := &gate{token: token, clientCA: clientCA, loopback: loopback, secure: secure,
		limiter: ratelimit.New(ratelimit.Options{MaxKeys: 10_000, Now: now}), now: now}
	if token != "" {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret) // never fails (crypto/rand)
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(token))
		g.key = mac.Sum(nil)
	}
	return g
}

// protected reports whether a token or a client certificate is asked for.
func (g *gate) protected() bool { return g.token != "" || g.clientCA }

// served reports whether the view is served at all: an unprotected view
// only on a loopback listener.
func (g *gate) served() bool { return g.protected() || g.loopback }

// access describes the protection, for the page.
func (g *gate) access() Access {
	switch {
	case g.token != "" && g.clientCA:
		return Access{Mode: "token or client certificate"}
	case g.token != "":
		return Access{Mode: "token"}
	case g.clientCA:
		return Access{Mode: "client certificate"}
	}
	return Access{Mode: "loopback only", Note: "No admin token or client CA is configured: this view is served only on the " +
		"loopback admin address, to anyone on this host. Set admin.token_env or admin.token_file (or admin.client_ca) to protect it."}
}

// admit reports how r gets in, or ok false.
func (g *gate) admit(r *http.Request) (via string, ok bool) {
	if g.clientCA && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return "client certificate CN=" + r.TLS.VerifiedChains[0][0].Subject.CommonName, true
	}
	if g.token != "" {
		if bearer, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found && g.tokenMatches(bearer) {
			return "token", true
		}
		if c, err := r.Cookie(cookieName); err == nil && g.sessionValid(c.Value) {
			return "session", true
		}
	}
	if !g.protected() && g.loopback && loopbackPeer(r) && loopbackHost(r.Host) {
		return "loopback", true
	}
	return "", false
}

// tokenMatches compares in constant time (digests first, so the length
// does not show either).
func (g *gate) tokenMatches(s string) bool {
	a, b := sha256.Sum256([]byte(s)), sha256.Sum256([]byte(g.token))
	return g.token != "" && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// newSession returns a cookie value valid for sessionLife.
func (g *gate) newSession() string {
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(g.now().Add(sessionLife).Unix()))
	return base64.RawURLEncoding.EncodeToString(append(exp[:], g.sign(exp[:])...))
}

func (g *gate) sessionValid(v string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) != 8+sha256.Size || g.key == nil {
		return false
	}
	exp := int64(binary.BigEndian.Uint64(raw[:8]))
	return hmac.Equal(raw[8:], g.sign(raw[:8])) && g.now().Unix() < exp
}

func (g *gate) sign(exp []byte) []byte {
	mac := hmac.New(sha256.New, g.key)
	mac.Write([]byte("frontdesk admin session\x00"))
	mac.Write(exp)
	return mac.Sum(nil)
}

// cookie is the session cookie with value; maxAge < 0 deletes it.
func (g *gate) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: value, Path: "/admin", MaxAge: maxAge,
		HttpOnly: true, Secure: g.secure, SameSite: http.SameSiteStrictMode}
}

// allowAttempt takes one login attempt of r's address; false when too many.
func (g *gate) allowAttempt(r *http.Request) bool {
	refused, _ := g.limiter.Allow(
		ratelimit.Check{Scope: "ip", Key: peerIP(r), Rate: loginRatePerIP},
		ratelimit.Check{Scope: "all", Key: "", Rate: loginRateAll},
	)
	return refused == ""
}

// sameOrigin refuses form posts from other sites. Browsers say where a
// request comes from in Sec-Fetch-Site, else in Origin; a request with
// neither is no browser's cross-site post (and the cookie is
// SameSite=Strict anyway).
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(origin, scheme+"://"+r.Host)
}

func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func loopbackPeer(r *http.Request) bool {
	ip := net.ParseIP(peerIP(r))
	return ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a Host header names this host by a
// loopback address or "localhost": a page elsewhere that rebinds its own
// name to 127.0.0.1 still sends its name.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
