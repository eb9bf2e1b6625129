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
	if o == originOf(cfg.HTTP.PublicURL) {
		return true
	}
	for _, a := range allowed {
		if normalizeOrigin(a) == o {
			return true
		}
	}
	return false
}

// normalizeOrigin is config.NormalizeOrigin for values that may be invalid
// (a request's Origin header): those compare equal to nothing.
func normalizeOrigin(s string) string {
	o, err := config.NormalizeOrigin(strings.TrimSpace(s))
	if err != nil || o == "*" {
		return "\x00invalid"
	}
	return o
}

// originOf returns the origin of an absolute URL that may carry a path.
func originOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "\x00invalid"
	}
	return normalizeOrigin(u.Scheme + "://" + u.Host)
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
