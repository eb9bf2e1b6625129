package widget

import (
	"net/url"
	"strings"
	"sync"

	"github.com/frontdesk-gw/frontdesk/config"
)

// originAllowed reports whether a page at origin may open widget w. The
// widget's own list wins over the gateway default; "*" allows any page. The
// gateway's own public origin (its preview pages) is always allowed. A request
// without Origin is no browser page and passes only with "*".
func originAllowed(cfg *config.Config, w *config.Widget, origin string) bool {
	allowed := w.AllowedOrigins
	if len(allowed) == 0 {
		allowed = cfg.HTTP.AllowedOrigins
	}
	for _, a := range allowed {
		if a == "*" {
			return true
		}
	}
	if origin == "" || origin == "null" {
		return false
	}
	o := normalizeOrigin(origin)
	if o == normalizeOrigin(cfg.HTTP.PublicURL) {
		return true
	}
	for _, a := range allowed {
		if normalizeOrigin(a) == o {
			return true
		}
	}
	return false
}

// normalizeOrigin reduces a URL or origin to scheme://host[:port] in lower
// case, dropping default ports, so that equal origins compare equal.
func normalizeOrigin(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + host + ":" + port
	}
	return scheme + "://" + host
}

// connLimiter counts open sessions globally and per client address.
type connLimiter struct {
	mu    sync.Mutex
	total int
	perIP map[string]int
}

func newConnLimiter() *connLimiter { return &connLimiter{perIP: map[string]int{}} }

// acquire takes a session slot for ip, or says why not. release gives it back
// and is safe to call once.
func (l *connLimiter) acquire(ip string, maxTotal, maxPerIP int) (release func(), code ErrorCode) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if maxTotal > 0 && l.total >= maxTotal {
		return nil, CodeOverloaded
	}
	if maxPerIP > 0 && l.perIP[ip] >= maxPerIP {
		return nil, CodeOverloaded
	}
	l.total++
	l.perIP[ip]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.perIP[ip]--; l.perIP[ip] <= 0 {
				delete(l.perIP, ip)
			}
		})
	}, CodeUnknown
}
