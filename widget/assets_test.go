package widget

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestPartsServed: the widget script names the call and wait parts by a
// path with their version, and the gateway serves each part there,
// compressed, as a script any site may load, with its ETag.
func TestPartsServed(t *testing.T) {
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
	for _, part := range []string{"call", "wait"} {
		m := regexp.MustCompile(`"(/frontdesk-` + part + `\.js\?v=([0-9a-f]{16}))"`).FindStringSubmatch(main)
		if m == nil {
			t.Fatalf("the widget script names no versioned %s part", part)
		}
		checkPart(t, part, m[1], m[2], get)
	}
}

// checkPart checks that the part the widget script names at url is served
// with its version as ETag, compressed and revalidated.
func checkPart(t *testing.T, part, url, version string, get func(string, http.Header) (*http.Response, string)) {
	t.Helper()
	resp, body := get(url, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("%s part: status %d, headers %v", part, resp.StatusCode, resp.Header)
	}
	if !strings.Contains(body, "definePart(") || resp.Header.Get("ETag") != `"`+version+`"` {
		t.Errorf("%s part: ETag %s for version %s, body starts %.80q", part, resp.Header.Get("ETag"), version, body)
	}
	if resp, _ := get(url, http.Header{"Accept-Encoding": {"gzip"}}); resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("%s part not compressed for a browser that takes gzip: %v", part, resp.Header)
	}
	if resp, _ := get(url, http.Header{"If-None-Match": {`"` + version + `"`}}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("%s part with its ETag: status %d, want 304", part, resp.StatusCode)
	}
}
