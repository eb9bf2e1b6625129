package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults applied by validation.
const (
	DefaultSIPListen        = "0.0.0.0:5060"
	DefaultExpiry           = 600 * time.Second
	MinExpiry               = 60 * time.Second
	DefaultKeepalive        = 10 * time.Second
	MinKeepalive            = time.Second
	MaxKeepalive            = 10 * time.Minute
	DefaultSubscribeBackoff = time.Hour
	DefaultRefusedRetry     = time.Hour
	MinBackoffCap           = 10 * time.Second
	MaxBackoffCap           = 24 * time.Hour
	MaxSubscribeRate        = 1000 // per second
	DefaultHTTPListen       = ":8080"
	DefaultAdminListen      = "127.0.0.1:9480"
	DefaultTURNTTL          = time.Hour
	DefaultMaxSessions      = 20000
	DefaultMaxSessionsPerIP = 50
	DefaultMaxMessageBytes  = 64 << 10
	DefaultMaxPictureBytes  = 256 << 10
	DefaultStartTimeout     = 10 * time.Second
	DefaultWidgetName       = "Contact"
	DefaultLang             = "en"
	DefaultSidebarZIndex    = 2147483000
	MaxPictureSide          = 2048
	maxSecretFileBytes      = 64 << 10
)

// validator fills defaults and checks one decoded Config, reporting every
// problem through p.
type validator struct {
	p        *problems
	baseDir  string
	pictures map[string]picture // by resolved path, so a shared picture is read once
}

func (v *validator) config(c *Config) {
	v.sip(&c.SIP)
	v.http(&c.HTTP)
	v.admin(&c.Admin, &c.HTTP)
	v.ice(&c.ICE)
	v.limits(&c.Limits)
	v.calls(&c.Calls)
	if c.Calls.PBXMediaIP = pbxMediaIP(c.SIP.PublicAddress, c.Calls.PublicIP); c.SIP.PublicAddress != "" && c.Calls.PBXMediaIP == "" {
		v.p.warnf("sip.public_address", "is a host name and calls.public_ip is not set: SDP toward the PBX names the local RTP address")
	}
	v.sdesOverTLS(c)
	v.chat(&c.Chat)
	v.widgets(c)
	v.doctor(&c.Doctor, c)
	v.cluster(c.Cluster)
	v.smtp(c)
}

// pbxMediaIP is the address the PBX sends media to when it reaches the
// gateway through a NAT (sip.public_address set): that address's host when
// it is an IP, else calls.public_ip. "" when the PBX reaches the gateway
// directly.
func pbxMediaIP(sipPublic, publicIP string) string {
	if sipPublic == "" {
		return ""
	}
	host := sipPublic
	if h, _, err := splitHostPort(sipPublic); err == nil {
		host = h
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.String()
	}
	return publicIP
}

func (v *validator) sip(s *SIP) {
	const path = "sip"
	secure := sipsServer(s.Registrar) || sipsServer(s.OutboundProxy)
	switch s.Transport = strings.ToLower(s.Transport); s.Transport {
	case "":
		s.Transport = "udp"
		if secure {
			s.Transport = "tls"
		}
	case "udp", "tcp", "tls":
		if secure && s.Transport != "tls" {
			v.p.errf(path+".transport", "%s with a sips: registrar or outbound proxy: sips: needs tls", s.Transport)
		}
	default:
		v.p.errf(path+".transport", "%s", oneOf(s.Transport, "udp", "tcp", "tls"))
	}
	if s.Registrar == "" {
		v.p.errf(path+".registrar", "is required (the PBX's host, host:port or sip: URI)")
	} else if host, err := serverHost(s.Registrar); err != nil {
		v.p.errf(path+".registrar", "%v", err)
	} else if s.Domain == "" {
		s.Domain = host
	}
	if s.Domain != "" {
		s.Domain = strings.ToLower(s.Domain)
		if !isHost(s.Domain) {
			v.p.errf(path+".domain", "%q is not a domain name or IP address", s.Domain)
		}
	}
	if s.Username == "" {
		v.p.errf(path+".username", "is required (the SIP user the gateway registers as)")
	}
	if s.AuthUser == "" {
		s.AuthUser = s.Username
	}
	if s.OutboundProxy != "" {
		if _, err := serverHost(s.OutboundProxy); err != nil {
			v.p.errf(path+".outbound_proxy", "%v", err)
		}
	}
	if s.Listen == "" {
		s.Listen = DefaultSIPListen
	}
	if _, port, err := checkHostPort(s.Listen, true); err != nil || port == "" {
		v.p.errf(path+".listen", "%q is not an address such as 0.0.0.0:5060", s.Listen)
	}
	if s.PublicAddress != "" {
		if _, _, err := checkHostPort(s.PublicAddress, false); err != nil {
			v.p.errf(path+".public_address", "%v", err)
		}
	}
	s.RegisterExpiry = v.expiry(path+".register_expiry", s.RegisterExpiry)
	s.SubscribeExpiry = v.expiry(path+".subscribe_expiry", s.SubscribeExpiry)
	switch k := s.KeepaliveInterval; {
	case k == 0:
		s.KeepaliveInterval = DefaultKeepalive
	case k < MinKeepalive || k > MaxKeepalive:
		v.p.errf(path+".keepalive_interval", "%v is outside %v to %v", k, MinKeepalive, MaxKeepalive)
	}
	v.subscribePacing(path, s)
	for _, l := range []struct {
		key string
		uri *string
	}{{"presence", &s.ResourceList.Presence}, {"dialog", &s.ResourceList.Dialog}} {
		if *l.uri == "" {
			continue
		}
		uri, _, err := normalizeSIP(*l.uri, s.Domain)
		if err != nil {
			v.p.errf(path+".resource_list."+l.key, "%v", err)
			continue
		}
		*l.uri = uri
	}
	for i, src := range s.TrustedSources {
		if _, _, err := net.ParseCIDR(src); err != nil && !isHost(src) {
			v.p.errf(indexPath(path+".trusted_sources", i), "%q is not an IP address, CIDR or host name", src)
		}
	}
	for i, d := range s.Transfer.Domains {
		if !isHostPort(d) {
			v.p.errf(indexPath(path+".transfer.domains", i), "%q is not a host or host:port", d)
		}
	}
	v.sipTLS(s)
	v.password(s)
}

// isHostPort accepts a host name or IP address with an optional port.
func isHostPort(s string) bool {
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		return err == nil && n > 0 && n <= 65535 && (isHost(h) || net.ParseIP(h) != nil)
	}
	return isHost(s) || net.ParseIP(s) != nil
}

// DefaultSubscribeRate is sip.subscribe_rate when unset.
var DefaultSubscribeRate = Rate{Count: 50, Per: time.Second}

// subscribePacing checks how fast the gateway may subscribe and how long it
// waits after failures and refusals.
func (v *validator) subscribePacing(path string, s *SIP) {
	switch r := s.SubscribeRate; {
	case r == Rate{}:
		s.SubscribeRate = DefaultSubscribeRate
	case !r.Limited():
		v.p.errf(path+".subscribe_rate", "cannot be off: the PBX must be protected from bursts; write it as count/period, such as 50/s")
	case float64(r.Count)/r.Per.Seconds() > MaxSubscribeRate:
		v.p.errf(path+".subscribe_rate", "%s is more than %d per second", r, MaxSubscribeRate)
	case r.Per/time.Duration(r.Count) > time.Minute:
		v.p.errf(path+".subscribe_rate", "%s is less than one a minute", r)
	}
	s.SubscribeBackoffMax = v.backoffCap(path+".subscribe_backoff_max", s.SubscribeBackoffMax, DefaultSubscribeBackoff)
	s.RefusedRetry = v.backoffCap(path+".refused_retry", s.RefusedRetry, DefaultRefusedRetry)
}

func (v *validator) backoffCap(path string, d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < MinBackoffCap || d > MaxBackoffCap:
		v.p.errf(path, "%v is outside %v to %v", d, MinBackoffCap, MaxBackoffCap)
	}
	return d
}

func (v *validator) expiry(path string, d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultExpiry
	case d < MinExpiry:
		v.p.errf(path, "%v is shorter than the minimum of %v", d, MinExpiry)
	case d%time.Second != 0:
		v.p.errf(path, "%v is not a whole number of seconds", d)
	}
	return d
}

// password resolves exactly one of password, password_env and password_file.
func (v *validator) password(s *SIP) {
	set := 0
	for _, f := range []string{s.Password, s.PasswordEnv, s.PasswordFile} {
		if f != "" {
			set++
		}
	}
	switch {
	case set == 0:
		v.p.errf("sip", "one of password, password_env or password_file is required")
	case set > 1:
		v.p.errf("sip.password", "set only one of password, password_env and password_file")
	case s.Password != "":
		s.ResolvedPassword = s.Password
		v.p.warnf("sip.password", "inline password: prefer password_env or password_file")
	case s.PasswordEnv != "":
		s.ResolvedPassword = v.env("sip.password_env", s.PasswordEnv)
	default:
		s.ResolvedPassword = v.secretFile("sip.password_file", s.PasswordFile)
	}
}

// env reads a non-empty environment variable.
func (v *validator) env(path, name string) string {
	val, ok := os.LookupEnv(name)
	switch {
	case !ok:
		v.p.errf(path, "environment variable %s is not set", name)
	case val == "":
		v.p.errf(path, "environment variable %s is empty", name)
	}
	return val
}

// secretFile reads a secret from a file; one trailing newline is ignored.
func (v *validator) secretFile(path, name string) string {
	data, err := readBounded(resolvePath(v.baseDir, name), maxSecretFileBytes)
	if err != nil {
		v.p.errf(path, "cannot read %q: %v", name, unwrapPathErr(err))
		return ""
	}
	secret := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if secret == "" {
		v.p.errf(path, "%q is empty", name)
	}
	return secret
}

// unwrapPathErr drops the file name an *os.PathError repeats.
func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func (v *validator) http(h *HTTP) {
	const path = "http"
	if h.Listen == "" {
		h.Listen = DefaultHTTPListen
	}
	host, port, err := checkHostPort(h.Listen, true)
	if err != nil || port == "" {
		v.p.errf(path+".listen", "%q is not an address such as :8080 or 127.0.0.1:8080", h.Listen)
	}
	if (h.TLSCert == "") != (h.TLSKey == "") {
		v.p.errf(path+".tls_cert", "tls_cert and tls_key must be set together")
	} else if h.TLSCert != "" {
		h.TLSCert = v.existingFile(path+".tls_cert", h.TLSCert)
		h.TLSKey = v.existingFile(path+".tls_key", h.TLSKey)
	}
	if h.PublicURL == "" && err == nil && port != "0" {
		h.PublicURL = derivePublicURL(host, port, h.TLSCert != "")
	} else if h.PublicURL != "" {
		if perr := checkWebURL(h.PublicURL); perr != nil {
			v.p.errf(path+".public_url", "%v", perr)
		}
		h.PublicURL = strings.TrimSuffix(h.PublicURL, "/")
	}
	v.httpsOnly(h, port)
	h.AllowedOrigins = v.origins(path+".allowed_origins", h.AllowedOrigins)
	for i, p := range h.TrustedProxies {
		if _, err := ParseAddrOrPrefix(p); err != nil {
			v.p.errf(indexPath(path+".trusted_proxies", i), "%v", err)
		}
	}
	switch h.ForwardedHeader = strings.ToLower(h.ForwardedHeader); h.ForwardedHeader {
	case "":
		h.ForwardedHeader = "x-forwarded-for"
	case "x-forwarded-for", "forwarded":
	default:
		v.p.errf(path+".forwarded_header", "%s", oneOf(h.ForwardedHeader, "x-forwarded-for", "forwarded"))
	}
	if h.ProxyProtocol && len(h.TrustedProxies) == 0 {
		v.p.errf(path+".proxy_protocol", "needs trusted_proxies: the addresses of the load balancers that send it")
	}
}

// httpsOnly checks the TLS version and the redirect to HTTPS; listenPort
// is http.listen's port.
func (v *validator) httpsOnly(h *HTTP, listenPort string) {
	const path = "http"
	tlsOn := h.TLSCert != ""
	switch h.TLSMinVersion {
	case "":
		h.TLSMinVersion = "1.2"
	case "1.2", "1.3":
		if !tlsOn && h.TLSMinVersion != "1.2" {
			v.p.warnf(path+".tls_min_version", "has no effect without tls_cert and tls_key")
		}
	default:
		v.p.errf(path+".tls_min_version", "%s", oneOf(h.TLSMinVersion, "1.2", "1.3"))
	}
	if h.RedirectListen == "" {
		if h.ACMEWebroot != "" {
			v.p.errf(path+".acme_webroot", "needs redirect_listen: the challenges are served there")
		}
		return
	}
	_, port, err := checkHostPort(h.RedirectListen, true)
	switch {
	case err != nil || port == "":
		v.p.errf(path+".redirect_listen", "%q is not an address such as :80", h.RedirectListen)
	case port != "0" && port == listenPort && sameHostOrAny(h.RedirectListen, h.Listen):
		v.p.errf(path+".redirect_listen", "%q is http.listen too: the redirect needs a port of its own", h.RedirectListen)
	}
	// public_url is derived at start when http.listen's port is 0.
	if https := strings.HasPrefix(h.PublicURL, "https://"); !https && (h.PublicURL != "" || !tlsOn) {
		v.p.errf(path+".redirect_listen", "redirects to public_url, which must be https")
	}
	if h.ACMEWebroot != "" {
		full := resolvePath(v.baseDir, h.ACMEWebroot)
		if st, err := os.Stat(full); err != nil {
			v.p.errf(path+".acme_webroot", "cannot use %q: %v", h.ACMEWebroot, unwrapPathErr(err))
		} else if !st.IsDir() {
			v.p.errf(path+".acme_webroot", "%q is not a directory", h.ACMEWebroot)
		}
		h.ACMEWebroot = full
	}
}

// sameHostOrAny reports whether two listen addresses with the same port
// would collide: the same host, or either on every address.
func sameHostOrAny(a, b string) bool {
	ha, _, _ := splitHostPort(a)
	hb, _, _ := splitHostPort(b)
	everywhere := func(h string) bool { ip := net.ParseIP(h); return h == "" || (ip != nil && ip.IsUnspecified()) }
	return ha == hb || everywhere(ha) || everywhere(hb)
}

func (v *validator) admin(a *Admin, h *HTTP) {
	const path = "admin.listen"
	if a.Listen == "" {
		a.Listen = DefaultAdminListen
		if _, port, err := splitHostPort(h.Listen); err == nil && port == "0" {
			a.Listen = "127.0.0.1:0"
		}
	}
	host, port, err := checkHostPort(a.Listen, true)
	if err != nil || port == "" {
		v.p.errf(path, "%q is not an address such as 127.0.0.1:9480", a.Listen)
		return
	}
	if a.Listen == h.Listen && port != "0" {
		v.p.errf(path, "%q is http.listen too: the admin listener needs a port of its own", a.Listen)
	}
	v.adminAccess(a)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		v.p.warnf(path, "%q is not a loopback address: health details and metrics are reachable from the network; firewall it%s", a.Listen, unprotectedNote(a))
	}
}

func (v *validator) existingFile(path, name string) string {
	full := resolvePath(v.baseDir, name)
	if _, err := os.Stat(full); err != nil {
		v.p.errf(path, "cannot use %q: %v", name, unwrapPathErr(err))
	}
	return full
}

// derivePublicURL builds http(s)://host:port from a listen address; an
// unspecified host becomes 127.0.0.1.
func derivePublicURL(host, port string, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func (v *validator) origins(path string, in []string) []string {
	out := make([]string, 0, len(in))
	for i, o := range in {
		norm, err := NormalizeOrigin(o)
		if err != nil {
			v.p.errf(indexPath(path, i), "%v", err)
			continue
		}
		out = append(out, norm)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (v *validator) ice(ice *ICE) {
	for i, u := range ice.STUN {
		if err := checkICEURL(u, "stun:", "stuns:"); err != nil {
			v.p.errf(indexPath("ice.stun", i), "%v", err)
		}
	}
	for i := range ice.TURN {
		v.turn(indexPath("ice.turn", i), &ice.TURN[i])
	}
}

func (v *validator) turn(path string, t *TURN) {
	if len(t.URLs) == 0 {
		v.p.errf(path+".urls", "at least one turn: or turns: URL is required")
	}
	for i, u := range t.URLs {
		if err := checkICEURL(u, "turn:", "turns:"); err != nil {
			v.p.errf(indexPath(path+".urls", i), "%v", err)
		}
	}
	static := t.Username != "" || t.Credential != ""
	switch {
	case t.Secret != "" && t.SecretEnv != "":
		v.p.errf(path+".secret", "set only one of secret and secret_env")
	case (t.Secret != "" || t.SecretEnv != "") && static:
		v.p.errf(path+".username", "use either secret/secret_env or username/credential, not both")
	case t.Secret != "":
		t.ResolvedSecret = t.Secret
		v.p.warnf(path+".secret", "inline secret: prefer secret_env")
	case t.SecretEnv != "":
		t.ResolvedSecret = v.env(path+".secret_env", t.SecretEnv)
	case t.Username == "" || t.Credential == "":
		v.p.errf(path, "set secret_env (short-lived credentials) or both username and credential")
	default:
		v.p.warnf(path+".username", "static TURN credentials are handed to every visitor; prefer secret_env")
	}
	switch {
	case t.TTL == 0:
		t.TTL = DefaultTURNTTL
	case t.TTL < time.Minute:
		v.p.errf(path+".ttl", "%v is shorter than one minute", t.TTL)
	}
}

// checkICEURL checks that u starts with one of the schemes and names a host.
func checkICEURL(u string, schemes ...string) error {
	for _, s := range schemes {
		if rest, ok := strings.CutPrefix(strings.ToLower(u), s); ok {
			if i := strings.IndexByte(rest, '?'); i >= 0 {
				rest = rest[:i]
			}
			if _, _, err := checkHostPort(rest, false); err != nil {
				return fmt.Errorf("%q: %w", u, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%q does not start with %s", u, strings.Join(schemes, " or "))
}

func (v *validator) limits(l *Limits) {
	const path = "limits"
	positive := func(key string, val *int, def int) {
		switch {
		case *val == 0:
			*val = def
		case *val < 0:
			v.p.errf(joinPath(path, key), "%d is negative", *val)
		}
	}
	perIPSet := l.MaxSessionsPerIP != 0
	positive("max_sessions", &l.MaxSessions, DefaultMaxSessions)
	positive("max_sessions_per_ip", &l.MaxSessionsPerIP, DefaultMaxSessionsPerIP)
	if !perIPSet {
		l.MaxSessionsPerIP = min(l.MaxSessionsPerIP, l.MaxSessions) // a small max_sessions caps the default
	}
	positive("max_message_bytes", &l.MaxMessageBytes, DefaultMaxMessageBytes)
	positive("max_picture_bytes", &l.MaxPictureBytes, DefaultMaxPictureBytes)
	if l.MaxSessionsPerIP > l.MaxSessions {
		v.p.errf(path+".max_sessions_per_ip", "%d is more than max_sessions (%d)", l.MaxSessionsPerIP, l.MaxSessions)
	}
	if l.MaxPictureBytes > MaxFileBytes {
		v.p.errf(path+".max_picture_bytes", "%d is more than %d", l.MaxPictureBytes, MaxFileBytes)
	}
	switch {
	case l.StartTimeout == 0:
		l.StartTimeout = DefaultStartTimeout
	case l.StartTimeout < 0:
		v.p.errf(path+".start_timeout", "%v is negative", l.StartTimeout)
	}
	positive("max_waiting", &l.MaxWaiting, DefaultMaxWaiting)
	fillRates(&l.Calls, DefaultCallRates)
	fillRates(&l.Chats, DefaultChatRates)
	fillRates(&l.MessagesLeft, DefaultMessageLeftRates)
	fillRates(&l.Transcripts, DefaultTranscriptRates)
}
