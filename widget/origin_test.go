package widget

import (
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
			if got := originAllowed(cfg, tt.widget, tt.origin); got != tt.want {
				t.Errorf("originAllowed(%q) = %v, want %v", tt.origin, got, tt.want)
			}
		})
	}
}
