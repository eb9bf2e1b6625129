package widget

import (
	"fmt"
	"html"
	"strings"

	"github.com/frontdesk-gw/frontdesk/config"
)

// Snippet returns the HTML a website pastes to embed widget w served by the
// gateway at publicURL: one async script tag, plus the container the cards
// are drawn into for a business-cards widget.
func Snippet(w *config.Widget, publicURL string) string {
	base := strings.TrimRight(publicURL, "/")
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- Frontdesk contact widget: %s -->\n", html.EscapeString(w.Name))
	if w.Type == config.WidgetCards {
		fmt.Fprintf(&b, "<div data-frontdesk-cards=\"%s\"></div>\n", w.ID)
	}
	fmt.Fprintf(&b, "<script async src=\"%s/frontdesk.js\" data-frontdesk-widget=\"%s\" data-frontdesk-gateway=\"%s\"></script>\n",
		html.EscapeString(base), w.ID, html.EscapeString(base))
	return b.String()
}

// CSP returns the Content-Security-Policy sources a host page needs for the
// gateway at publicURL, as directive → sources.
func CSP(publicURL string) map[string]string {
	origin := originOf(publicURL)
	ws := strings.Replace(strings.Replace(origin, "https://", "wss://", 1), "http://", "ws://", 1)
	return map[string]string{
		"script-src":  origin,
		"connect-src": ws,
		"img-src":     "data:",
	}
}
