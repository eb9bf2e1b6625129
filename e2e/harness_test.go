//go:build integration

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// frontdeskBin is the gateway binary under test, built once with -race.
var frontdeskBin string

func TestMain(m *testing.M) {
	// A part of a test run inside a network namespace (runInside) uses
	// the binary its parent built.
	if bin := os.Getenv(insideFrontdeskEnv); bin != "" {
		frontdeskBin = bin
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "frontdesk-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	frontdeskBin = filepath.Join(dir, "frontdesk")
	build := exec.Command("go", "build", "-race", "-o", frontdeskBin, "../cmd/frontdesk")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build frontdesk:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gatewayProc is a running `frontdesk serve`.
type gatewayProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	httpURL string
	// adminURL is the admin listener: /livez, /readyz, /healthz, /metrics.
	adminURL string
	done     chan struct{}

	mu   sync.Mutex
	logs []map[string]any
}

// startGateway runs `frontdesk serve --config path` and waits until its HTTP
// server listens, reading the real address from its JSON log.
func startGateway(t *testing.T, path string, extra ...string) *gatewayProc {
	t.Helper()
	return runGateway(t, exec.Command(frontdeskBin, serveArgs(path, extra...)...))
}

// serveArgs are the arguments of `frontdesk serve` as the tests run it.
func serveArgs(path string, extra ...string) []string {
	return append([]string{"serve", "--config", path, "--log-format", "json", "--log-level", "debug"}, extra...)
}

// runGateway starts cmd, a `frontdesk serve` (perhaps inside a network
// namespace), and waits until its HTTP server listens, reading the real
// address from its JSON log.
func runGateway(t *testing.T, cmd *exec.Cmd) *gatewayProc {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(t.TempDir(), "frontdesk.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start frontdesk: %v", err)
	}
	g := &gatewayProc{t: t, cmd: cmd, done: make(chan struct{})}
	addr, adminAddr := make(chan string, 1), make(chan string, 1)
	go func() {
		defer close(g.done)
		sc := bufio.NewScanner(io.TeeReader(stderr, logFile))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			g.mu.Lock()
			g.logs = append(g.logs, m)
			g.mu.Unlock()
			switch m["msg"] {
			case "http listening":
				select {
				case addr <- m["addr"].(string):
				default:
				}
			case "admin listening":
				select {
				case adminAddr <- m["addr"].(string):
				default:
				}
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		g.stop(syscall.SIGTERM)
		if t.Failed() {
			data, _ := os.ReadFile(logFile.Name())
			lines := strings.Split(string(data), "\n")
			if len(lines) > 80 {
				lines = lines[len(lines)-80:]
			}
			t.Logf("gateway log tail:\n%s", strings.Join(lines, "\n"))
		}
		logFile.Close()
	})
	timeout := time.After(30 * time.Second)
	for g.httpURL == "" || g.adminURL == "" {
		select {
		case a := <-addr:
			g.httpURL = "http://" + a
		case a := <-adminAddr:
			g.adminURL = "http://" + a
		case <-g.done:
			t.Fatal("frontdesk exited during start-up")
		case <-timeout:
			t.Fatal("frontdesk did not start listening within 30s")
		}
	}
	return g
}

// stop signals the gateway and waits for it to exit (bounded).
func (g *gatewayProc) stop(sig os.Signal) {
	select {
	case <-g.done:
		return
	default:
	}
	_ = g.cmd.Process.Signal(sig)
	select {
	case <-g.done:
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
	}
}

// logLines returns the JSON log lines so far.
func (g *gatewayProc) logLines() []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]any(nil), g.logs...)
}

// metrics fetches /metrics from the admin listener.
func (g *gatewayProc) metrics(t *testing.T) string {
	t.Helper()
	return httpGet(t, g.adminURL+"/metrics")
}

// health fetches /healthz from the admin listener.
func (g *gatewayProc) health() (int, map[string]any) {
	g.t.Helper()
	resp, err := http.Get(g.adminURL + "/healthz")
	if err != nil {
		g.t.Fatalf("healthz: %v", err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		g.t.Fatalf("healthz body: %v", err)
	}
	return resp.StatusCode, m
}

// waitHealth polls /healthz until cond holds (bounded).
func (g *gatewayProc) waitHealth(what string, timeout time.Duration, cond func(code int, h map[string]any) bool) map[string]any {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, h := g.health()
		if cond(code, h) {
			return h
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("%s: not reached within %v; last /healthz %d %v", what, timeout, code, h)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// visitor is a Widget-API client.
type visitor struct {
	t    *testing.T
	conn *websocket.Conn
	msgs chan map[string]any
	seq  atomic.Uint64 // the highest chat seq received
	// iceConfig is the IceConfig message start received.
	iceConfig map[string]any
}

// lastSeq is the highest chat seq this visitor received, for ChatResume.
func (v *visitor) lastSeq() uint64 { return v.seq.Load() }

func (g *gatewayProc) visit(origin string) *visitor { return g.visitFrom(origin, "") }

// visitFrom opens a session from the local address source (127.0.0.2 …,
// a visitor of its own), or from any address when source is "".
func (g *gatewayProc) visitFrom(origin, source string) *visitor {
	g.t.Helper()
	url := "ws" + strings.TrimPrefix(g.httpURL, "http") + "/ws"
	d := *websocket.DefaultDialer
	if source != "" {
		d.NetDialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 10 * time.Second}).DialContext
	}
	conn, _, err := d.Dial(url, http.Header{"Origin": {origin}})
	if err != nil {
		g.t.Fatalf("open websocket: %v", err)
	}
	return g.visitor(conn)
}

// visitor reads conn's messages into a new visitor.
func (g *gatewayProc) visitor(conn *websocket.Conn) *visitor { return newVisitor(g.t, conn) }

// newVisitor reads conn's messages into a new visitor.
func newVisitor(t *testing.T, conn *websocket.Conn) *visitor {
	v := &visitor{t: t, conn: conn, msgs: make(chan map[string]any, 256)}
	go func() {
		defer close(v.msgs)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				if n, ok := m["seq"].(float64); ok && uint64(n) > v.seq.Load() {
					v.seq.Store(uint64(n))
				}
				v.msgs <- m
			}
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return v
}

func (v *visitor) send(s string) {
	v.t.Helper()
	if err := v.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		v.t.Fatalf("send: %v", err)
	}
}

// next returns the next message, failing after timeout.
func (v *visitor) next(timeout time.Duration) map[string]any {
	v.t.Helper()
	select {
	case m, ok := <-v.msgs:
		if !ok {
			v.t.Fatal("websocket closed")
		}
		return m
	case <-time.After(timeout):
		v.t.Fatalf("no message within %v", timeout)
	}
	return nil
}

// waitFor skips messages until match holds, returning the match and how long
// it took.
func (v *visitor) waitFor(what string, timeout time.Duration, match func(m map[string]any) bool) (map[string]any, time.Duration) {
	v.t.Helper()
	start := time.Now()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-v.msgs:
			if !ok {
				v.t.Fatalf("%s: websocket closed", what)
			}
			if match(m) {
				return m, time.Since(start)
			}
		case <-deadline:
			v.t.Fatalf("%s: not seen within %v", what, timeout)
		}
	}
}

// quiet asserts that nothing matching arrives for d.
func (v *visitor) quiet(what string, d time.Duration, match func(m map[string]any) bool) {
	v.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m, ok := <-v.msgs:
			if ok && match(m) {
				v.t.Fatalf("%s: unexpected %v", what, m)
			}
		case <-deadline:
			return
		}
	}
}

// start sends Start and collects Session, the Infos and IceConfig.
func (v *visitor) start(widgetID string) (map[string]any, map[string]map[string]any) {
	v.t.Helper()
	v.send(`{"mt":"Start","uuid":"` + widgetID + `"}`)
	session := v.next(10 * time.Second)
	if session["mt"] != "Session" {
		v.t.Fatalf("got %v, want Session", session)
	}
	infos := map[string]map[string]any{}
	for {
		m := v.next(10 * time.Second)
		switch m["mt"] {
		case "Info":
			infos[m["id"].(string)] = m
		case "IceConfig":
			v.iceConfig = m
			return session, infos
		default:
			v.t.Fatalf("unexpected %v during start", m)
		}
	}
}

func infoOf(id, presence string) func(m map[string]any) bool {
	return func(m map[string]any) bool {
		return m["mt"] == "Info" && m["id"] == id && (presence == "" || m["presence"] == presence)
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	_, body := httpGetCode(t, url)
	return body
}

// httpGetCode is httpGet with the status code.
func httpGetCode(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(data)
}

// loopbackLimits lifts the limits on starting calls, chats and left
// messages: every test visitor comes from 127.0.0.1 and the tests ring the
// same few agents in quick succession. The limits have tests of their own.
const loopbackLimits = `limits:
  calls: {per_session: off, per_ip: off, per_agent: off}
  chats: {per_session: off, per_ip: off, per_agent: off}
  messages_left: {per_session: off, per_ip: off, per_agent: off}
`

// gatewayHead is the sip, calls, limits and http sections of a test gateway's config:
// registered as frontdesk through the test bed's Kamailio at pbx, SIP and
// HTTP on free loopback ports, browser media on loopback, pages from origin
// allowed.
func gatewayHead(pbx, origin string) string { return gatewayHeadWith(pbx, origin, "", "") }

// gatewayHeadWith is gatewayHead with more keys in its calls and limits
// sections (lines indented by two spaces).
func gatewayHeadWith(pbx, origin, calls, limits string) string {
	return fmt.Sprintf(`sip:
  registrar: %s
  domain: frontdesk.test
  username: frontdesk
  password_env: FD_E2E_PASSWORD
  listen: 127.0.0.1:0
  register_expiry: 120s
  subscribe_expiry: 120s
  trusted_sources: [127.0.0.1]
calls:
  webrtc_ips: [127.0.0.1] # media with visitors stays on loopback
  candidate_networks: [127.0.0.0/8] # and visitors' ICE candidates on this host are probed
%s%s%shttp:
  listen: 127.0.0.1:0
  allowed_origins: [%q]
`, pbx, calls, loopbackLimits, limits, origin)
}
