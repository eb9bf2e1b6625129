package widget

import (
	"strings"
	"testing"

	"github.com/frontdesk-gw/frontdesk/config"
)

func TestOriginAllowed(t *testing.T) {
	cfg := &config.Config{HTTP: config.HTTP{
		PublicURL:      "https://gw.example.com:443/frontdesk/",
		AllowedOrigins: []string{"https://www.example.com", "http://shop.example.com:8080"},
	}}
	own := &config.Widget{}
	strict := &config.Widget{AllowedOrigins: []string{"https://only.example.org"}}
	open := &config.Widget{AllowedOrigins: []string{"*"}}
	tests := []struct {
		name   string
		widget *config.Widget
		origin string
		want   bool
	}{
		{name: "listed", widget: own, origin: "https://www.example.com", want: true},
		{name: "default port spelled out", widget: own, origin: "https://www.example.com:443", want: true},
		{name: "upper case", widget: own, origin: "HTTPS://WWW.EXAMPLE.COM", want: true},
		{name: "listed with port", widget: own, origin: "http://shop.example.com:8080", want: true},
		{name: "other port", widget: own, origin: "http://shop.example.com", want: false},
		{name: "other scheme", widget: own, origin: "http://www.example.com", want: false},
		{name: "suffix attack", widget: own, origin: "https://www.example.com.evil.net", want: false},
		{name: "gateway's own pages", widget: own, origin: "https://gw.example.com", want: true},
		{name: "widget list wins", widget: strict, origin: "https://www.example.com", want: false},
		{name: "widget list", widget: strict, origin: "https://only.example.org", want: true},
		{name: "file page", widget: own, origin: "null", want: false},
		{name: "no origin", widget: own, origin: "", want: false},
		{name: "garbage", widget: own, origin: "https://www.example.com/path?q", want: false},
		{name: "star", widget: open, origin: "https://anything.example.net", want: true},
		{name: "star without origin", widget: open, origin: "", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := originAllowed(cfg, tt.widget, tt.origin, originOf(cfg.HTTP.PublicURL)); got != tt.want {
				t.Errorf("originAllowed(%q) = %v, want %v", tt.origin, got, tt.want)
			}
		})
	}
}

// TestOriginEqualToHostIsNotTrusted: a page whose Origin matches the Host it
// asked for (a DNS-rebound name pointing at the gateway) is refused unless
// that origin is http.public_url or allowed; the gateway's own pages at
// public_url keep working.
func TestOriginEqualToHostIsNotTrusted(t *testing.T) {
	f := newFixture(t, testYAML)
	hostPort := strings.TrimPrefix(f.http.URL, "http://")
	for _, tc := range []struct{ name, host, origin, code string }{
		{"rebound name", "evil.example:8080", "http://evil.example:8080", "origin-not-allowed"},
		{"listener address", hostPort, "http://" + hostPort, "origin-not-allowed"},
		{"public_url", "gw.example.com", "https://gw.example.com", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.dialHost(tc.host, tc.origin)
			c.send(`{"mt":"Start","uuid":"` + testWidget + `"}`)
			m := c.recv()
			if tc.code == "" {
				if m["mt"] != "Session" {
					t.Fatalf("got %v, want Session", m)
				}
				return
			}
			if m["mt"] != "Error" || m["code"] != tc.code {
				t.Fatalf("got %v, want Error %s", m, tc.code)
			}
			c.expectClosed()
		})
	}
	if n := f.srv.Refused(RefusedOrigin); n != 2 {
		t.Errorf("%d sessions counted as refused for their origin, want 2", n)
	}
}

// TestListenURLStandsInForPublicURL: without public_url (listen port 0) the
// listener's own URL is the gateway's origin.
func TestListenURLStandsInForPublicURL(t *testing.T) {
	f := newFixture(t, strings.Replace(testYAML, "  public_url: https://gw.example.com\n", "  listen: 127.0.0.1:0\n", 1))
	f.srv.SetListenURL(f.http.URL)
	hostPort := strings.TrimPrefix(f.http.URL, "http://")
	c := f.dialHost(hostPort, f.http.URL)
	c.send(`{"mt":"Start","uuid":"` + testWidget + `"}`)
	if m := c.recv(); m["mt"] != "Session" {
		t.Fatalf("got %v, want Session", m)
	}
	c = f.dialHost("evil.example", "http://evil.example")
	c.send(`{"mt":"Start","uuid":"` + testWidget + `"}`)
	if m := c.recv(); m["code"] != "origin-not-allowed" {
		t.Fatalf("got %v, want origin-not-allowed", m)
	}
}
