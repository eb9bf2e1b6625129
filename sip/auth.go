package sip

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// maxAuthRounds bounds challenge-response rounds for one request (a proxy
// challenge, a registrar challenge and one stale nonce).
const maxAuthRounds = 3

// digestAnswers are the credentials of one request's attempts: every
// request of the UA (out of dialog, in a dialog, the INVITE of a call)
// answers 401 and 407 through it. A second challenge of the same kind is
// answered only when it says the nonce was stale.
type digestAnswers struct {
	creds  map[string][]string // Authorization / Proxy-Authorization values
	tried  map[string]bool
	rounds int
	// the last challenge answered, for challengeCache
	lastCode   int
	lastChosen []challenge
}

// answer computes the credentials that answer the challenges of res (a 401
// or 407) for the next attempt of method to uri. It returns ErrNoChallenge
// when nothing in res can be answered and ErrAuthRejected when the
// credentials were already refused or the rounds are used up.
func (d *digestAnswers) answer(res *sip.Response, user, password string, method sip.RequestMethod, uri string) error {
	chName, credName := "WWW-Authenticate", "Authorization"
	if res.StatusCode == sip.StatusProxyAuthRequired {
		chName, credName = "Proxy-Authenticate", "Proxy-Authorization"
	}
	chosen := chooseChallenges(parseChallenges(headerValues(res, chName)))
	if len(chosen) == 0 {
		return fmt.Errorf("%s %d: %w", method, res.StatusCode, ErrNoChallenge)
	}
	stale := false
	for _, c := range chosen {
		stale = stale || c.Stale
	}
	if (d.tried[credName] && !stale) || d.rounds >= maxAuthRounds {
		return fmt.Errorf("%s %d: %w", method, res.StatusCode, ErrAuthRejected)
	}
	if d.tried == nil {
		d.tried, d.creds = map[string]bool{}, map[string][]string{}
	}
	d.tried[credName] = true
	d.rounds++
	vals := make([]string, 0, len(chosen))
	for _, c := range chosen {
		vals = append(vals, c.authorization(user, password, string(method), uri, "", 1))
	}
	d.creds[credName] = vals
	d.lastCode, d.lastChosen = res.StatusCode, chosen
	return nil
}

// challengeReuse is how long a challenge is answered in advance. PBXs
// accept a nonce for a while (Asterisk 32 s by default, Kamailio 5 min);
// one they no longer take is challenged again, as stale, and answered.
const challengeReuse = 30 * time.Second

// challengeCache keeps the PBX's latest challenge to a SUBSCRIBE for
// challengeReuse, so that the SUBSCRIBEs of a start-up or a recovery carry
// credentials at once instead of each being challenged first: half the
// requests for the same work. With qop the nonce count goes up on each use.
type challengeCache struct {
	mu     sync.Mutex
	code   int // 401 or 407
	chosen []challenge
	at     time.Time
	nc     uint32 // uses of this nonce so far
}

func (c *challengeCache) remember(code int, chosen []challenge) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.code, c.chosen, c.at, c.nc = code, chosen, time.Now(), 1
}

// apply adds credentials for the cached challenge to req, if it is recent.
func (c *challengeCache) apply(req *sip.Request, user, password string) {
	c.mu.Lock()
	if len(c.chosen) == 0 || time.Since(c.at) > challengeReuse {
		c.mu.Unlock()
		return
	}
	c.nc++
	code, chosen, nc := c.code, c.chosen, c.nc
	c.mu.Unlock()
	name := "Authorization"
	if code == sip.StatusProxyAuthRequired {
		name = "Proxy-Authorization"
	}
	for _, ch := range chosen {
		req.AppendHeader(sip.NewHeader(name, ch.authorization(user, password, string(req.Method), req.Recipient.String(), "", nc)))
	}
}

// apply adds the credentials collected so far to req.
func (d *digestAnswers) apply(req *sip.Request) {
	for name, vals := range d.creds {
		for _, v := range vals {
			req.AppendHeader(sip.NewHeader(name, v))
		}
	}
}

// isChallenge reports a 401 or 407.
func isChallenge(res *sip.Response) bool {
	return res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired
}

// challenge is one Digest challenge from a WWW-Authenticate or
// Proxy-Authenticate header.
type challenge struct {
	Scheme    string // as sent; compared case-insensitively
	Realm     string
	Nonce     string
	Opaque    string
	Algorithm string // upper case; "" means MD5
	QOP       []string
	Stale     bool
}

// parseChallenges reads every challenge in the header values. One value may
// hold several comma-joined challenges, and folded line breaks count as
// white space.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, v := range values {
		s := scanner{s: v}
		for {
			s.skip(" \t\r\n,")
			tok := s.token()
			if tok == "" {
				if s.done() {
					break
				}
				s.i++ // a stray character: skip it rather than loop
				continue
			}
			s.skip(" \t\r\n")
			if s.peek() != '=' {
				out = append(out, challenge{Scheme: tok})
				continue
			}
			s.i++
			s.skip(" \t\r\n")
			val := s.value()
			if len(out) == 0 {
				continue // a parameter before any scheme
			}
			c := &out[len(out)-1]
			switch strings.ToLower(tok) {
			case "realm":
				c.Realm = val
			case "nonce":
				c.Nonce = val
			case "opaque":
				c.Opaque = val
			case "algorithm":
				c.Algorithm = strings.ToUpper(val)
			case "stale":
				c.Stale = strings.EqualFold(val, "true")
			case "qop":
				for q := range strings.SplitSeq(val, ",") {
					if q = strings.ToLower(strings.TrimSpace(q)); q != "" {
						c.QOP = append(c.QOP, q)
					}
				}
			}
		}
	}
	return out
}

// chooseChallenges picks, per realm in order of appearance, the strongest
// Digest challenge this UA can answer. Unsupported algorithms, qop without
// "auth" and challenges without a nonce are skipped.
func chooseChallenges(cs []challenge) []challenge {
	var out []challenge
	index := map[string]int{}
	for _, c := range cs {
		if !strings.EqualFold(c.Scheme, "digest") || c.Nonce == "" || newHash(c.Algorithm) == nil {
			continue
		}
		if len(c.QOP) > 0 && !c.hasQOP("auth") {
			continue
		}
		i, seen := index[c.Realm]
		if !seen {
			index[c.Realm] = len(out)
			out = append(out, c)
			continue
		}
		if strength(c.Algorithm) > strength(out[i].Algorithm) {
			out[i] = c
		}
	}
	return out
}

func (c challenge) hasQOP(q string) bool {
	for _, v := range c.QOP {
		if v == q {
			return true
		}
	}
	return false
}

func strength(alg string) int {
	if strings.HasPrefix(alg, "SHA-256") {
		return 2
	}
	return 1
}

// newHash returns the hash of a supported algorithm, or nil.
func newHash(alg string) func() hash.Hash {
	switch alg {
	case "", "MD5", "MD5-SESS":
		return md5.New
	case "SHA-256", "SHA-256-SESS":
		return sha256.New
	}
	return nil
}

// authorization computes the credentials answering c (RFC 2617, RFC 7616,
// RFC 8760) for one request, the nc-th with this nonce. cnonce is random
// when empty.
func (c challenge) authorization(user, password, method, uri, cnonce string, nc uint32) string {
	h := newHash(c.Algorithm)
	if h == nil {
		return ""
	}
	hx := func(parts ...string) string {
		d := h()
		d.Write([]byte(strings.Join(parts, ":")))
		return hex.EncodeToString(d.Sum(nil))
	}
	qop := ""
	if c.hasQOP("auth") {
		qop = "auth"
		if cnonce == "" {
			cnonce = randomHex(8)
		}
	}
	ncHex := fmt.Sprintf("%08x", nc)
	ha1 := hx(user, c.Realm, password)
	if strings.HasSuffix(c.Algorithm, "-SESS") {
		ha1 = hx(ha1, c.Nonce, cnonce)
	}
	ha2 := hx(method, uri)
	var resp string
	if qop != "" {
		resp = hx(ha1, c.Nonce, ncHex, cnonce, qop, ha2)
	} else {
		resp = hx(ha1, c.Nonce, ha2)
	}

	var b strings.Builder
	b.WriteString("Digest username=" + quote(user) + ", realm=" + quote(c.Realm) +
		", nonce=" + quote(c.Nonce) + ", uri=" + quote(uri) + ", response=" + quote(resp))
	if c.Algorithm != "" {
		b.WriteString(", algorithm=" + c.Algorithm)
	}
	if c.Opaque != "" {
		b.WriteString(", opaque=" + quote(c.Opaque))
	}
	if qop != "" {
		b.WriteString(", qop=" + qop + ", nc=" + ncHex + ", cnonce=" + quote(cnonce))
	}
	return b.String()
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// scanner walks an auth header value.
type scanner struct {
	s string
	i int
}

func (s *scanner) done() bool { return s.i >= len(s.s) }

func (s *scanner) peek() byte {
	if s.done() {
		return 0
	}
	return s.s[s.i]
}

func (s *scanner) skip(set string) {
	for !s.done() && strings.IndexByte(set, s.s[s.i]) >= 0 {
		s.i++
	}
}

func (s *scanner) token() string {
	start := s.i
	for !s.done() && strings.IndexByte(" \t\r\n,=\"", s.s[s.i]) < 0 {
		s.i++
	}
	return s.s[start:s.i]
}

// value reads a quoted string (with backslash escapes) or a token.
func (s *scanner) value() string {
	if s.peek() != '"' {
		return s.token()
	}
	s.i++
	var b strings.Builder
	for !s.done() {
		ch := s.s[s.i]
		s.i++
		switch {
		case ch == '\\' && !s.done():
			b.WriteByte(s.s[s.i])
			s.i++
		case ch == '"':
			return b.String()
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}
