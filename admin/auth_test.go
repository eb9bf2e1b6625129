package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
)

func tokenAdmin() config.Admin { return config.Admin{ResolvedToken: testToken} }

func TestLoginWithToken(t *testing.T) {
	f := newFixture(t, tokenAdmin(), "127.0.0.1:9480")

	// Not logged in: the page sends to the login page, the API says 401.
	if res, _ := f.get("/admin/"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/login" {
		t.Fatalf("page without login: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := f.get("/admin/api/state"); res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("state without login: %d", res.StatusCode)
	}
	res, body := f.get("/admin/login")
	if res.StatusCode != 200 || !strings.Contains(body, `name="token"`) || res.Header.Get("Content-Security-Policy") != csp {
		t.Fatalf("login page: %d %q %s", res.StatusCode, res.Header.Get("Content-Security-Policy"), body)
	}

	// A wrong token is refused, says so, and sets no cookie.
	res, body = f.login("wrong-token-wrong-token")
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "That token is not right.") || len(res.Cookies()) != 0 {
		t.Fatalf("wrong token: %d cookies %v", res.StatusCode, res.Cookies())
	}

	// The right one sets an HttpOnly SameSite=Strict cookie that opens the view.
	res, _ = f.login(testToken)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/" || len(res.Cookies()) != 1 {
		t.Fatalf("right token: %d %v", res.StatusCode, res.Cookies())
	}
	c := res.Cookies()[0]
	if c.Name != cookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin" || c.Secure {
		t.Errorf("cookie %+v", c)
	}
	if strings.Contains(c.Value, testToken) {
		t.Error("the cookie carries the token")
	}
	res, body = f.get("/admin/", "Cookie", c.Name+"="+c.Value)
	if res.StatusCode != 200 || !strings.Contains(body, `<script defer src="/admin/admin.js">`) {
		t.Fatalf("page with the cookie: %d", res.StatusCode)
	}
	res, body = f.get("/admin/api/state", "Cookie", c.Name+"="+c.Value)
	var st State
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Access.Via != "session" || st.Access.Mode != "token" {
		t.Fatalf("state with the cookie: %d %s", res.StatusCode, body)
	}

	// A forged or altered cookie does not.
	forged := c.Value[:len(c.Value)-2] + "AA"
	if res, _ := f.get("/admin/api/state", "Cookie", c.Name+"="+forged); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("altered cookie: %d", res.StatusCode)
	}

	// Bearer works without a cookie; a wrong one is refused.
	if res, _ := f.get("/admin/api/state", "Authorization", "Bearer "+testToken); res.StatusCode != 200 {
		t.Errorf("bearer: %d", res.StatusCode)
	}
	if res, _ := f.get("/admin/api/state", "Authorization", "Bearer "+testToken+"x"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong bearer: %d", res.StatusCode)
	}

	// Logging out deletes the cookie.
	req, _ := http.NewRequest("POST", f.http.URL+"/admin/logout", nil)
	res, _ = f.do(req)
	if res.StatusCode != http.StatusSeeOther || len(res.Cookies()) != 1 || res.Cookies()[0].MaxAge >= 0 {
		t.Errorf("logout: %d %v", res.StatusCode, res.Cookies())
	}
}

func TestSessionsEndWithTheProcessOrToken(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	a := newGate(testToken, false, true, false, clock)
	v := a.newSession()
	if !a.sessionValid(v) {
		t.Fatal("fresh session not valid")
	}
	if b := newGate(testToken, false, true, false, clock); b.sessionValid(v) {
		t.Error("a session of another process (same token) is valid")
	}
	now = now.Add(sessionLife + time.Second)
	if a.sessionValid(v) {
		t.Error("an expired session is valid")
	}
}

func TestLoginRefusals(t *testing.T) {
	f := newFixture(t, tokenAdmin(), "127.0.0.1:9480")
	if res, _ := f.login(testToken, "Origin", "https://evil.example"); res.StatusCode != http.StatusForbidden || len(res.Cookies()) != 0 {
		t.Errorf("cross-origin login: %d", res.StatusCode)
	}
	if res, _ := f.login(testToken, "Sec-Fetch-Site", "cross-site"); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login: %d", res.StatusCode)
	}
	if res, _ := f.login(testToken, "Origin", f.http.URL); res.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin login: %d", res.StatusCode)
	}
	// Guessing is limited per address: the right token waits too.
	limited := false
	for i := range 20 {
		res, _ := f.login("guess-guess-guess-" + string(rune('a'+i)))
		if res.StatusCode == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("20 wrong tokens in a row were all tried")
	}
	if res, _ := f.login(testToken); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right token right after the limit: %d, want 429", res.StatusCode)
	}
}

func TestLoopbackOnlyWithoutProtection(t *testing.T) {
	f := newFixture(t, config.Admin{}, "127.0.0.1:9480")
	res, body := f.get("/admin/api/state")
	var st State
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Access.Via != "loopback" || st.Access.Mode != "loopback only" ||
		!strings.Contains(st.Access.Note, "served only on the loopback admin address") {
		t.Fatalf("loopback state: %d %s", res.StatusCode, body)
	}
	// A page elsewhere that rebinds its name to 127.0.0.1 names itself.
	req, _ := http.NewRequest("GET", f.http.URL+"/admin/api/state", nil)
	req.Host = "attacker.example:9480"
	if res, _ := f.do(req); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("rebinding host: %d", res.StatusCode)
	}
	req.Host = "localhost:9480"
	if res, _ := f.do(req); res.StatusCode != 200 {
		t.Errorf("localhost: %d", res.StatusCode)
	}
	if res, _ := f.login(testToken); res.StatusCode != http.StatusForbidden {
		t.Errorf("login without a token configured: %d", res.StatusCode)
	}

	// Off loopback, without protection, nothing is served.
	g := newFixture(t, config.Admin{}, "0.0.0.0:9480")
	for _, p := range []string{"/admin/", "/admin/api/state", "/admin/login", "/admin/api/trace"} {
		if res, body := g.get(p); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "not served on this address") {
			t.Errorf("%s off loopback: %d %s", p, res.StatusCode, body)
		}
	}
}

func TestClientCertificateOnly(t *testing.T) {
	// Over plain HTTP no certificate can be shown: the page says what is needed.
	f := newFixture(t, config.Admin{ClientCA: "ca.pem", TLSCert: "c.pem", TLSKey: "k.pem"}, "0.0.0.0:9480")
	res, body := f.get("/admin/")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "client certificate") {
		t.Errorf("page without a certificate: %d %s", res.StatusCode, body)
	}
	if res, _ := f.get("/admin/api/state"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("state without a certificate: %d", res.StatusCode)
	}
}

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:9480": true, "127.0.0.1": true, "[::1]:9480": true, "localhost:1": true, "LOCALHOST.": true,
		"127.1.2.3:9": true, "10.0.0.1:9480": false, "example.com": false, "127.0.0.1.nip.io:9480": false, "": false,
	} {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
