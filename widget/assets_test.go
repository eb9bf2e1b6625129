package widget

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestCallPartServed: the widget script names the call part by a path with
// its version, and the gateway serves the part there, compressed, as a
// script any site may load, with its ETag.
func TestCallPartServed(t *testing.T) {
	f := newFixture(t, testYAML)
	get := func(path string, header http.Header) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, f.http.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		// Without DisableCompression the client would ask for gzip and
		// unpack it unseen.
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	_, main := get("/frontdesk.js", nil)
	m := regexp.MustCompile(`"(/frontdesk-call\.js\?v=([0-9a-f]{16}))"`).FindStringSubmatch(main)
	if m == nil {
		t.Fatal("the widget script names no versioned call part")
	}
	resp, body := get(m[1], nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("call part: status %d, headers %v", resp.StatusCode, resp.Header)
	}
	if !strings.Contains(body, "definePart(") || resp.Header.Get("ETag") != `"`+m[2]+`"` {
		t.Errorf("call part: ETag %s for version %s, body starts %.80q", resp.Header.Get("ETag"), m[2], body)
	}
	if resp, _ := get(m[1], http.Header{"Accept-Encoding": {"gzip"}}); resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("call part not compressed for a browser that takes gzip: %v", resp.Header)
	}
	if resp, _ := get(m[1], http.Header{"If-None-Match": {`"` + m[2] + `"`}}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("call part with its ETag: status %d, want 304", resp.StatusCode)
	}
}
