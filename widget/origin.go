package widget

import (
	"net/url"
	"strings"

	"github.com/frontdesk-gw/frontdesk/config"
)

// originAllowed reports whether a page at origin may open widget w. The
// widget's own list wins over the gateway default; "*" allows any page. The
// gateway's own origin own (its preview and call pages at http.public_url)
// is always allowed; the Host a request names is not trusted for that, as a
// DNS-rebound name would pass. A request without Origin is no browser page
// and passes only with "*".
func originAllowed(cfg *config.Config, w *config.Widget, origin, own string) bool {
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
	if o == "" {
		return false
	}
	if own != "" && o == own {
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
// (a request's Origin header); it returns "" for those, which callers never
// treat as a match.
func normalizeOrigin(s string) string {
	o, err := config.NormalizeOrigin(strings.TrimSpace(s))
	if err != nil || o == "*" {
		return ""
	}
	return o
}

// originOf returns the origin of an absolute URL that may carry a path.
func originOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return normalizeOrigin(u.Scheme + "://" + u.Host)
}
