package sipaddr

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Addr is a SIP address reduced by the rule of this package.
type Addr struct {
	Scheme string // "sip" or "sips"
	User   string // "" for an address of a host
	Host   string // lower case; IPv6 in brackets
	Port   int    // 0 when absent
}

// Errors of Parse, ParseUser and New; the error texts name the address.
var (
	ErrScheme   = errors.New("not a sip: address")
	ErrHost     = errors.New("bad host")
	ErrPort     = errors.New("bad port")
	ErrUser     = errors.New("bad user part")
	ErrNoUser   = errors.New("no user part")
	ErrPassword = errors.New("password in address")
	ErrEmpty    = errors.New("empty address")
)

// addrError keeps the wording the config has always reported while letting
// callers test the kind with errors.Is.
type addrError struct {
	kind error
	text string
}

func (e *addrError) Error() string { return e.text }
func (e *addrError) Unwrap() error { return e.kind }

func fail(kind error, format string, args ...any) error {
	return &addrError{kind: kind, text: fmt.Sprintf(format, args...)}
}

// String is scheme:[user@]host[:port].
func (a Addr) String() string {
	s := a.AOR()
	if a.Port != 0 {
		s += ":" + strconv.Itoa(a.Port)
	}
	return s
}

// AOR is scheme:[user@]host: the address without its port.
func (a Addr) AOR() string {
	if a.Host == "" {
		return ""
	}
	return a.Scheme + ":" + a.Key()
}

// Key is [user@]host, the identity without scheme or port: what chat
// matches an agent's reply by.
func (a Addr) Key() string {
	if a.Host == "" {
		return ""
	}
	if a.User == "" {
		return a.Host
	}
	return a.User + "@" + a.Host
}

// Parse reads a SIP address in any written form: a name-addr with display
// name and angle brackets, a sip: or sips: URI, user@host, host or
// host:port (no scheme means sip).
func Parse(v string) (Addr, error) {
	return parse(v, "", false)
}

// ParseUser reads the address of a user: like Parse, except that text
// without "@" is a user part at domain ("alice", "sip:alice").
func ParseUser(v, domain string) (Addr, error) {
	return parse(v, domain, true)
}

// ParseServer reads the address of a server (a registrar, a proxy): host,
// host:port or a sip:/sips: URI, whose user part is ignored. Without a
// scheme, user@host is refused: it names a user, not a server.
func ParseServer(v string) (Addr, error) {
	a, err := parse(v, "", false)
	if err != nil {
		return Addr{}, err
	}
	if a.User != "" {
		lv := strings.ToLower(strings.TrimSpace(v))
		if !strings.HasPrefix(lv, "sip:") && !strings.HasPrefix(lv, "sips:") {
			return Addr{}, fail(ErrHost, "%q names a user, not a server: give host, host:port or a sip: URI", strings.TrimSpace(v))
		}
		a.User = ""
	}
	return a, nil
}

// Hostname is Host without the brackets of an IPv6 address.
func (a Addr) Hostname() string {
	return strings.TrimSuffix(strings.TrimPrefix(a.Host, "["), "]")
}

// New applies the rule to the parts of an already parsed URI (an empty
// scheme means sip).
func New(scheme, user, host string, port int) (Addr, error) {
	var a Addr
	switch strings.ToLower(scheme) {
	case "", "sip":
		a.Scheme = "sip"
	case "sips":
		a.Scheme = "sips"
	default:
		return Addr{}, fail(ErrScheme, "%q is not a sip: address", scheme+":")
	}
	h, err := normalizeHost(host)
	if err != nil {
		return Addr{}, err
	}
	if port < 0 || port > 65535 {
		return Addr{}, fail(ErrPort, "%q has an invalid port %q", host, strconv.Itoa(port))
	}
	u, err := normalizeUser(user)
	if err != nil {
		return Addr{}, err
	}
	a.User, a.Host, a.Port = u, h, port
	return a, nil
}

func parse(v, domain string, userAddr bool) (Addr, error) {
	orig := v
	v = strings.TrimSpace(uriOf(v))
	if v == "" {
		return Addr{}, fail(ErrEmpty, "empty address")
	}
	scheme, rest := "sip", v
	lower := strings.ToLower(v)
	switch {
	case strings.HasPrefix(lower, "sips:"):
		scheme, rest = "sips", v[5:]
	case strings.HasPrefix(lower, "sip:"):
		rest = v[4:]
	case otherScheme(v, userAddr):
		return Addr{}, fail(ErrScheme, "%q is not a sip: address", strings.TrimSpace(orig))
	}
	userinfo, hostpart, hasAt := strings.Cut(rest, "@")
	if !hasAt {
		userinfo, hostpart = "", rest
		if userAddr {
			userinfo, hostpart = cutParams(rest), domain
			if domain == "" {
				return Addr{}, fail(ErrHost, "%q has no domain and sip.domain is not set", strings.TrimSpace(orig))
			}
		}
	}
	if userAddr && userinfo == "" {
		return Addr{}, fail(ErrNoUser, "%q has no user part", strings.TrimSpace(orig))
	}
	if strings.Contains(userinfo, ":") {
		return Addr{}, fail(ErrPassword, "%q must not contain a password", strings.TrimSpace(orig))
	}
	hostport := cutParams(hostpart)
	host, port, err := splitHostPort(hostport)
	if err != nil {
		return Addr{}, err
	}
	if !isHost(host) {
		err := fail(ErrHost, "%q is not a host name or IP address", host)
		if hasAt {
			err = &addrError{kind: ErrHost, text: fmt.Sprintf("domain of %q: %v", strings.TrimSpace(orig), err)}
		}
		return Addr{}, err
	}
	a, err := New(scheme, userinfo, host, port)
	if errors.Is(err, ErrUser) {
		return Addr{}, fail(ErrUser, "%q has characters not allowed in a SIP user part", userinfo)
	}
	return a, err
}

// uriOf takes the URI out of a name-addr ("Name" <sip:x@y>;tag=1).
func uriOf(v string) string {
	rest := strings.TrimSpace(v)
	if strings.HasPrefix(rest, `"`) { // a quoted display name may hold '<'
		for i := 1; i < len(rest); i++ {
			if rest[i] == '\\' {
				i++
			} else if rest[i] == '"' {
				rest = rest[i+1:]
				break
			}
		}
	}
	i := strings.IndexByte(rest, '<')
	if i < 0 {
		return v
	}
	rest = rest[i+1:]
	if j := strings.IndexByte(rest, '>'); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// otherScheme reports "scheme:..." of a scheme other than sip. For an
// address of a user any ':' without '@' is one (the config's rule); for
// other addresses host:port and a bare IPv6 address are not.
func otherScheme(v string, userAddr bool) bool {
	before, after, ok := strings.Cut(v, ":")
	if !ok || strings.Contains(before, "@") || strings.HasPrefix(v, "[") {
		return false
	}
	if userAddr {
		return !strings.Contains(v, "@")
	}
	if net.ParseIP(cutParams(v)) != nil {
		return false
	}
	return strings.Contains(after, "@") || !allDigits(cutParams(after))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// cutParams drops URI parameters and headers.
func cutParams(s string) string {
	if i := strings.IndexAny(s, ";?"); i >= 0 {
		return s[:i]
	}
	return s
}

// splitHostPort splits "host", "host:port", "[v6]", "[v6]:port" or a bare
// IPv6 address; port is 0 when absent.
func splitHostPort(s string) (string, int, error) {
	host, portStr := s, ""
	switch {
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
	case strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1:
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return "", 0, fail(ErrHost, "%q is not host:port", s)
		}
		if p == "" {
			return "", 0, fail(ErrPort, "%q has an empty port", s)
		}
		host, portStr = h, p
	}
	if portStr == "" {
		return host, 0, nil
	}
	n, err := strconv.Atoi(portStr)
	if err != nil || n <= 0 || n > 65535 {
		return "", 0, fail(ErrPort, "%q has an invalid port %q", s, portStr)
	}
	return host, n, nil
}

var dnsLabelRe = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$`)

// isHost reports an IP address (IPv6 with or without brackets) or a DNS name.
func isHost(h string) bool {
	if strings.HasPrefix(h, "[") {
		bare := strings.TrimSuffix(h[1:], "]")
		return len(bare) == len(h)-2 && strings.Contains(bare, ":") && net.ParseIP(bare) != nil
	}
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 || strings.ContainsAny(h, ":[]") {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if !dnsLabelRe.MatchString(label) {
			return false
		}
	}
	return true
}

// normalizeHost lower-cases a host and puts an IPv6 address in brackets.
func normalizeHost(h string) (string, error) {
	if !isHost(h) {
		return "", fail(ErrHost, "%q is not a host name or IP address", h)
	}
	bare := strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if ip := net.ParseIP(bare); ip != nil && strings.Contains(bare, ":") {
		return "[" + strings.ToLower(bare) + "]", nil
	}
	return strings.ToLower(h), nil
}

// reserved are the characters whose escapes are not the character itself
// (RFC 3261 25.1).
const reserved = ";/?:@&=+$,"

// normalizeUser unescapes what RFC 3261 19.1.4 says is equivalent and
// refuses characters that have no place in a user part.
func normalizeUser(u string) (string, error) {
	if !strings.ContainsRune(u, '%') {
		if !validUser(u) {
			return "", fail(ErrUser, "%q has characters not allowed in a SIP user part", u)
		}
		return u, nil
	}
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(u) || !isHex(u[i+1]) || !isHex(u[i+2]) {
			return "", fail(ErrUser, "%q has characters not allowed in a SIP user part", u)
		}
		d := unhex(u[i+1])<<4 | unhex(u[i+2])
		if d > 0x20 && d < 0x7f && d != '%' && !strings.ContainsRune(reserved, rune(d)) && validUser(string(rune(d))) {
			b.WriteByte(d)
		} else {
			b.WriteString("%" + strings.ToUpper(u[i+1:i+3]))
		}
		i += 2
	}
	out := b.String()
	if !validUser(out) {
		return "", fail(ErrUser, "%q has characters not allowed in a SIP user part", u)
	}
	return out, nil
}

// validUser refuses white space, control and non-ASCII characters and
// those that would end or break a URI in a header.
func validUser(u string) bool {
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`<>"@\:`, c) >= 0 {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
