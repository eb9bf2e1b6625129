//go:build integration

package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/frontdesk-gw/frontdesk/internal/testca"
)

// tlsFiles is a test CA and the gateway's certificate files.
type tlsFiles struct {
	t         *testing.T
	ca        *testca.CA
	cert, key string
}

func newTLSFiles(t *testing.T, dir string) *tlsFiles {
	t.Helper()
	ca, err := testca.New("Frontdesk e2e CA")
	if err != nil {
		t.Fatal(err)
	}
	return &tlsFiles{t: t, ca: ca, cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
}

// issue makes a certificate for 127.0.0.1.
func (f *tlsFiles) issue() *testca.Issued {
	f.t.Helper()
	c, err := f.ca.Issue(testca.Leaf{Names: []string{"127.0.0.1"}})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// install puts c in place as a renewal tool does: each file written aside
// and renamed over the old one.
func (f *tlsFiles) install(c *testca.Issued) {
	f.t.Helper()
	f.replace(f.cert, c.CertPEM)
	f.replace(f.key, c.KeyPEM)
}

func (f *tlsFiles) replace(name string, data []byte) {
	f.t.Helper()
	if err := os.WriteFile(name+".new", data, 0o600); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(name+".new", name); err != nil {
		f.t.Fatal(err)
	}
}

// client trusts only the test CA.
func (f *tlsFiles) client() *tls.Config {
	return &tls.Config{RootCAs: f.ca.Pool()}
}

// servedSerial is the serial number of the certificate addr serves in a
// fresh, verified handshake.
func (f *tlsFiles) servedSerial(addr string) (*big.Int, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, f.client())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

// waitServed waits (bounded) until addr serves the certificate c.
func (f *tlsFiles) waitServed(addr string, c *testca.Issued, within time.Duration) {
	f.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, err := f.servedSerial(addr)
		if err == nil && got.Cmp(c.Serial) == 0 {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: certificate %v not served within %v (got %v, %v)", addr, c.Serial, within, got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tlsGateway starts a gateway (no PBX: sessions need none) serving HTTPS
// with files' certificate and redirecting plain HTTP from a second
// listener. It returns the gateway, its https URL and the redirect
// listener's address.
func tlsGateway(t *testing.T, files *tlsFiles) (gw *gatewayProc, httpsURL, redirectAddr string) {
	t.Helper()
	gw = startGateway(t, noPBXConfig(t, fmt.Sprintf("  tls_cert: %s\n  tls_key: %s\n  redirect_listen: 127.0.0.1:0\n", files.cert, files.key), ""))
	httpsURL = "https://" + strings.TrimPrefix(gw.httpURL, "http://")
	for _, m := range gw.logLines() {
		if m["msg"] == "http listening" && m["tls"] != true {
			t.Fatalf("gateway does not say it serves TLS: %v", m)
		}
		if m["msg"] == "redirect listening" {
			redirectAddr, _ = m["addr"].(string)
		}
	}
	if redirectAddr == "" {
		t.Fatal("no redirect listener logged")
	}
	return gw, httpsURL, redirectAddr
}

// wssVisitor opens a widget session over wss:// verified against the CA.
func wssVisitor(t *testing.T, gw *gatewayProc, files *tlsFiles, httpsURL string) *visitor {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: files.client(), HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.Dial("wss://"+strings.TrimPrefix(httpsURL, "https://")+"/ws", http.Header{"Origin": {e2eOrigin}})
	if err != nil {
		t.Fatalf("open wss: %v", err)
	}
	return gw.visitor(conn)
}

// TestGatewayServesTLS: the gateway speaks HTTPS and wss:// with its own
// certificate, to a Go client that verifies it against the test CA and to
// Chromium (which trusts it by its public key:
// --ignore-certificate-errors-spki-list); plain HTTP on the redirect
// listener is sent to the https address. A renewed certificate renamed
// over the files is served within seconds without a restart, while open
// sessions go on; a broken one is refused, shown on /readyz, and the
// previous one keeps serving.
func TestGatewayServesTLS(t *testing.T) {
	files := newTLSFiles(t, t.TempDir())
	first := files.issue()
	files.install(first)
	gw, httpsURL, redirectAddr := tlsGateway(t, files)
	addr := strings.TrimPrefix(httpsURL, "https://")

	if got, err := files.servedSerial(addr); err != nil || got.Cmp(first.Serial) != 0 {
		t.Fatalf("served %v (%v), want %v", got, err, first.Serial)
	}
	v := wssVisitor(t, gw, files, httpsURL)
	if session, _ := v.start(e2eWidget); session["mt"] != "Session" {
		t.Fatalf("no session over wss: %v", session)
	}

	t.Run("plain HTTP is redirected to https", func(t *testing.T) {
		noFollow := &http.Client{
			Timeout:       5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		req, _ := http.NewRequest("GET", "http://"+redirectAddr+"/frontdesk.js?v=1", nil)
		req.Host = "evil.example"
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := httpsURL + "/frontdesk.js?v=1"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
			t.Fatalf("redirect: %d to %q, want 308 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		follow := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: files.client()}}
		resp, err = follow.Get("http://" + redirectAddr + "/frontdesk.js")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil {
			t.Fatalf("after the redirect: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
		}
	})
	t.Run("TLS 1.1 refused", func(t *testing.T) {
		conf := files.client()
		conf.MinVersion, conf.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		if conn, err := tls.Dial("tcp", addr, conf); err == nil {
			conn.Close()
			t.Fatal("TLS 1.1 handshake accepted")
		}
	})
	t.Run("chromium over wss, first certificate", func(t *testing.T) {
		chromiumPreview(t, httpsURL, first.SPKIHash)
	})

	second := files.issue()
	files.install(second)
	files.waitServed(addr, second, 10*time.Second)
	// The session opened before the renewal goes on.
	v.send(`{"mt":"Ping"}`)
	v.waitFor("Pong on the session opened before the renewal", 5*time.Second, func(m map[string]any) bool { return m["mt"] == "Pong" })
	if n := metricValue(t, gw.metrics(t), "frontdesk_tls_certificate_reloads_total"); n != 1 {
		t.Errorf("reloads counted: %v, want 1", n)
	}
	if !gatewayLogged(gw, "TLS certificate reloaded", "file", files.cert) {
		t.Error("reload not logged")
	}
	t.Run("chromium over wss, renewed certificate", func(t *testing.T) {
		// Only the new key is trusted: this loads only if the renewed
		// certificate is served.
		chromiumPreview(t, httpsURL, second.SPKIHash)
	})

	t.Run("a broken renewal keeps the certificate in use", func(t *testing.T) {
		broken := files.issue()
		files.replace(files.cert, broken.CertPEM) // the key stays second's
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, body := httpGetCode(t, gw.adminURL+"/readyz")
			if strings.Contains(body, "warning: the TLS certificate files changed but cannot be used") &&
				strings.Contains(body, "private key does not match public key") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz does not show the refused certificate: %d %q", code, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if got, err := files.servedSerial(addr); err != nil || got.Cmp(second.Serial) != 0 {
			t.Fatalf("after a broken renewal served %v (%v), want the previous %v", got, err, second.Serial)
		}
		if n := metricValue(t, gw.metrics(t), "frontdesk_tls_certificate_reload_failures_total"); n != 1 {
			t.Errorf("refusals counted: %v, want 1", n)
		}
		if n := metricValue(t, gw.metrics(t), "frontdesk_tls_certificate_rejected"); n != 1 {
			t.Errorf("frontdesk_tls_certificate_rejected %v while refused, want 1", n)
		}
		files.replace(files.key, broken.KeyPEM)
		files.waitServed(addr, broken, 10*time.Second)
		if _, body := httpGetCode(t, gw.adminURL+"/readyz"); strings.Contains(body, "TLS certificate") {
			t.Errorf("/readyz still warns after the fix: %q", body)
		}
		if n := metricValue(t, gw.metrics(t), "frontdesk_tls_certificate_rejected"); n != 0 {
			t.Errorf("frontdesk_tls_certificate_rejected %v after the fix, want 0", n)
		}
	})
}

// chromiumPreview opens the gateway's preview page over https in a fresh
// Chromium that trusts only the certificate key spki, and waits until the
// widget has its session over wss:// (Session, every Info, IceConfig).
func chromiumPreview(t *testing.T, httpsURL, spki string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium unavailable (run testbed/install.sh): %v", err)
	}
	env := &browserEnv{t: t}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromiumOptions(t.TempDir(), chromedp.Flag("ignore-certificate-errors-spki-list", spki))...)
	t.Cleanup(cancel)
	env.alloc = alloc
	env.startBrowser()
	tab := env.newTab(t)
	tab.run("open the preview over https", 20*time.Second, chromedp.Navigate(httpsURL+"/preview/"+e2eWidget))
	tab.waitAttr(e2eWidget, "ready", "1")
	var scheme string
	tab.eval(`location.protocol`, &scheme)
	if scheme != "https:" {
		t.Errorf("page scheme %q", scheme)
	}
}
