//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// proxyProc is a running reverse proxy (haproxy, nginx), started and
// stopped by its PID.
type proxyProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startProxy checks the config with check (haproxy -c, nginx -t) and runs
// the proxy in the foreground until the test ends; its output goes to a
// log shown when the test fails.
func startProxy(t *testing.T, name string, check, run []string) *proxyProc {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/" + name); err != nil {
			t.Fatalf("%s not installed (run testbed/install.sh): %v", name, err)
		}
	}
	if out, err := exec.Command(bin, check...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, check, err, out)
	}
	cmd := exec.Command(bin, run...)
	logFile, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proxyProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			data, _ := os.ReadFile(logFile.Name())
			t.Logf("%s log:\n%s", name, data)
		}
	})
	return p
}

// startHAProxy runs haproxy with cfg.
func startHAProxy(t *testing.T, cfg string) *proxyProc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return startProxy(t, "haproxy", []string{"-c", "-f", path}, []string{"-db", "-f", path})
}

// startNginx runs nginx with cfg, its prefix and temporary files in dir.
// nginx's master stops its workers on SIGTERM.
func startNginx(t *testing.T, dir, cfg string) *proxyProc {
	t.Helper()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path}
	return startProxy(t, "nginx", append([]string{"-t"}, args...), args)
}

// freeTCPPort finds a port to bind on 127.0.0.1 (haproxy cannot report a
// port it picked itself).
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListening waits (bounded) until addr accepts TCP connections.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// proxySession opens a widget session to url from the local address
// source, with header added to the upgrade request, and starts it. It
// returns the HTTP status of the upgrade (101 when a session runs).
func proxySession(t *testing.T, url, source string, header http.Header) int {
	t.Helper()
	d := websocket.Dialer{
		HandshakeTimeout: 5 * time.Second,
		NetDialContext: (&net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)},
			Timeout:   5 * time.Second,
		}).DialContext,
	}
	h := http.Header{"Origin": {e2eOrigin}}
	for k, v := range header {
		h[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := d.DialContext(ctx, url, h)
	if err != nil {
		if resp != nil {
			return resp.StatusCode
		}
		t.Fatalf("websocket from %s to %s: %v", source, url, err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"mt":"Start","uuid":"`+e2eWidget+`"}`)); err != nil {
		t.Fatalf("Start from %s: %v", source, err)
	}
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("session from %s: %v", source, err)
	}
	var m map[string]any
	if json.Unmarshal(data, &m) != nil || m["mt"] != "Session" {
		t.Fatalf("session from %s: got %s, want Session", source, data)
	}
	_ = conn.SetReadDeadline(time.Time{})
	return http.StatusSwitchingProtocols
}

// proxiedGateway starts a gateway (without a PBX: sessions need none) that
// trusts proxies on 127.0.0.1 and reads the PROXY protocol from them.
func proxiedGateway(t *testing.T, perIP int) *gatewayProc {
	t.Helper()
	cfg := fmt.Sprintf(`sip:
  registrar: 127.0.0.1:%d # no PBX: sessions do not need one
  domain: frontdesk.test
  username: frontdesk
  password: unused
  listen: 127.0.0.1:0
  trusted_sources: [127.0.0.1]
http:
  listen: 127.0.0.1:0
  allowed_origins: [%q]
  trusted_proxies: [127.0.0.1] # the proxies connect from 127.0.0.1
  proxy_protocol: true
limits:
  max_sessions_per_ip: %d
widgets:
  - id: %s
    type: cards
    agents: [{id: alice, sip: alice}]
`, freeUDPPort(t), e2eOrigin, perIP, e2eWidget)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, cfg)
	return startGateway(t, cfgPath)
}

// proxyMode is one way a proxy in front passes visitors on.
type proxyMode struct{ name, addr string }

// checkVisitorsBehindProxy: through each mode, more distinct visitors than
// perIP (each from a loopback address of its own: 127.0.0.2 …) all get a
// session, while one visitor is held to perIP whatever X-Forwarded-For it
// makes up; the refusals are counted and logged with the visitor's
// address. Then direct connections from an untrusted address are held to
// perIP too, whatever headers they send.
func checkVisitorsBehindProxy(t *testing.T, gw *gatewayProc, perIP, visitors int, modes []proxyMode) {
	for _, m := range modes {
		waitListening(t, m.addr)
	}
	refusedBefore := metricValue(t, gw.metrics(t), `frontdesk_widget_sessions_refused_total{reason="max-sessions-per-ip"}`)
	for i, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			url := "ws://" + mode.addr + "/ws"
			for v := range visitors {
				source := fmt.Sprintf("127.0.0.%d", 2+v)
				if code := proxySession(t, url, source, nil); code != http.StatusSwitchingProtocols {
					t.Fatalf("visitor %s: upgrade answered %d, want a session", source, code)
				}
			}
			source := fmt.Sprintf("127.0.0.%d", 100+i)
			opened, refused := 0, 0
			for n := range visitors {
				spoof := http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", n+1)}}
				switch code := proxySession(t, url, source, spoof); code {
				case http.StatusSwitchingProtocols:
					opened++
				case http.StatusServiceUnavailable:
					refused++
				default:
					t.Fatalf("visitor %s: upgrade answered %d", source, code)
				}
			}
			if opened != perIP || refused != visitors-perIP {
				t.Errorf("one visitor opened %d sessions and was refused %d times, want %d and %d", opened, refused, perIP, visitors-perIP)
			}
			got := metricValue(t, gw.metrics(t), `frontdesk_widget_sessions_refused_total{reason="max-sessions-per-ip"}`)
			if got-refusedBefore != float64(visitors-perIP) {
				t.Errorf("refusals counted: %v, want %d", got-refusedBefore, visitors-perIP)
			}
			refusedBefore = got
			if !gatewayLogged(gw, "session refused", "ip", source) {
				t.Errorf("no refusal logged with the visitor's address %s", source)
			}
		})
	}
	t.Run("direct from an untrusted address, headers ignored", func(t *testing.T) {
		opened := 0
		for n := range perIP + 5 {
			spoof := http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", n+1)}, "Forwarded": {fmt.Sprintf("for=198.51.100.%d", n+1)}}
			if proxySession(t, "ws"+strings.TrimPrefix(gw.httpURL, "http")+"/ws", "127.0.0.200", spoof) == http.StatusSwitchingProtocols {
				opened++
			}
		}
		if opened != perIP {
			t.Errorf("an untrusted peer opened %d sessions with made-up headers, want %d", opened, perIP)
		}
	})
}

// TestBehindHAProxy runs the gateway behind a real HAProxy, in HTTP mode
// (option forwardfor: X-Forwarded-For) and in TCP mode (send-proxy-v2);
// see checkVisitorsBehindProxy.
func TestBehindHAProxy(t *testing.T) {
	const perIP, visitors = 50, 60
	gw := proxiedGateway(t, perIP)
	gwAddr := strings.TrimPrefix(gw.httpURL, "http://")
	httpPort, tcpPort := freeTCPPort(t), freeTCPPort(t)
	startHAProxy(t, fmt.Sprintf(`global
  maxconn 2000
defaults
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout tunnel 60s
frontend web
  mode http
  bind 127.0.0.1:%d
  option forwardfor
  default_backend gateway_http
backend gateway_http
  mode http
  server gw %s
frontend l4
  mode tcp
  bind 127.0.0.1:%d
  default_backend gateway_tcp
backend gateway_tcp
  mode tcp
  server gw %s send-proxy-v2
`, httpPort, gwAddr, tcpPort, gwAddr))
	checkVisitorsBehindProxy(t, gw, perIP, visitors, []proxyMode{
		{"http mode, X-Forwarded-For", "127.0.0.1:" + strconv.Itoa(httpPort)},
		{"tcp mode, PROXY protocol v2", "127.0.0.1:" + strconv.Itoa(tcpPort)},
	})
}

// TestBehindNginx runs the gateway behind a real nginx, as a websocket
// reverse proxy ($proxy_add_x_forwarded_for) and as a stream proxy
// (proxy_protocol on: PROXY v1); see checkVisitorsBehindProxy.
func TestBehindNginx(t *testing.T) {
	const perIP, visitors = 50, 60
	gw := proxiedGateway(t, perIP)
	gwAddr := strings.TrimPrefix(gw.httpURL, "http://")
	httpPort, tcpPort := freeTCPPort(t), freeTCPPort(t)
	dir := t.TempDir()
	startNginx(t, dir, fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; "" close; }
  server {
    listen 127.0.0.1:%[2]d;
    location / {
      proxy_pass http://%[4]s;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 1h;
    }
  }
}
stream {
  server {
    listen 127.0.0.1:%[3]d;
    proxy_pass %[4]s;
    proxy_protocol on;
  }
}
`, dir, httpPort, tcpPort, gwAddr))
	checkVisitorsBehindProxy(t, gw, perIP, visitors, []proxyMode{
		{"http proxy, X-Forwarded-For", "127.0.0.1:" + strconv.Itoa(httpPort)},
		{"stream proxy, PROXY protocol v1", "127.0.0.1:" + strconv.Itoa(tcpPort)},
	})
}

// metricValue reads one sample from a Prometheus text exposition.
func metricValue(t *testing.T, body, name string) float64 {
	t.Helper()
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// gatewayLogged reports whether the gateway logged msg with attribute key
// equal to value.
func gatewayLogged(gw *gatewayProc, msg, key, value string) bool {
	for _, m := range gw.logLines() {
		if m["msg"] == msg && m[key] == value {
			return true
		}
	}
	return false
}
