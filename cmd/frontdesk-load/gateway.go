package main

// The gateway under test: a real `frontdesk serve` child process, its config,
// its JSON log and its operational endpoints.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	widgetID   = "5e1f0ad0c0de4c1a9d0a10ad5e55104d"
	origin     = "https://load.example.com"
	gwUser     = "frontdesk"
	gwPassword = "load-gw-secret"
	passwdEnv  = "FD_LOAD_PASSWORD"
	// flipAgent is the agent whose presence the rounds flip.
	flipAgent = "alice"
)

// presenceAgents are the test bed users whose presence the widget shows
// (each is one presence and one dialog subscription), with the presence
// published for them before the gateway starts ("" publishes nothing).
var presenceAgents = []struct{ name, password, status string }{
	{flipAgent, "alice-load", "online"},
	{"bob", "bob-load", "online"},
	{"carol", "carol-load", "busy"},
	{"dave", "dave-load", ""},
}

// gatewayConfig is the gateway's config for the test bed at registrar: one
// cards widget with the presence agents and one always-available agent.
func gatewayConfig(registrar string) string {
	var agents strings.Builder
	for _, a := range presenceAgents {
		fmt.Fprintf(&agents, "      - {id: %s, sip: %s, name: %s, department: Load}\n", a.name, a.name, strings.ToUpper(a.name[:1])+a.name[1:])
	}
	agents.WriteString("      - {id: queue, sip: queue, name: Queue, mode: always}\n")
	return fmt.Sprintf(`# frontdesk-load: gateway config for the loopback test bed
sip:
  registrar: %s
  domain: frontdesk.test
  username: %s
  password_env: %s
  listen: 127.0.0.1:0
  trusted_sources: [127.0.0.1]
http:
  listen: 127.0.0.1:0
  allowed_origins: [%q]
limits:
  max_sessions: 150000
  max_sessions_per_ip: 50000
widgets:
  - id: %s
    type: cards
    name: Load
    agents:
%s`, registrar, gwUser, passwdEnv, origin, widgetID, agents.String())
}

// wantSubscriptions is how many subscriptions the config needs.
func wantSubscriptions() int { return 2 * len(presenceAgents) }

// buildGateway builds ./cmd/frontdesk of the module the current directory
// belongs to into dir.
func buildGateway(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module (go env GOMOD): %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the frontdesk module: run from the repository or pass --frontdesk")
	}
	bin := filepath.Join(dir, "frontdesk")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/frontdesk")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/frontdesk: %w\n%s", err, out)
	}
	return bin, nil
}

// gateway is a running `frontdesk serve`.
type gateway struct {
	cmd     *exec.Cmd
	pid     int
	baseURL string
	// adminURL serves /healthz and /metrics (the admin listener).
	adminURL string
	logPath  string
	done     chan struct{} // closed once the process has exited
	changes  chan time.Time

	mu      sync.Mutex
	exitErr error
}

// startGateway runs `frontdesk serve` with the config at cfgPath and log
// level level, and returns once its HTTP server listens (the address comes
// from its JSON log).
func startGateway(ctx context.Context, bin, cfgPath, logPath, level string, cpu int) (*gateway, error) {
	return startGatewayTo(ctx, bin, cfgPath, logPath, level, cpu, make(chan time.Time, 4*maxRounds))
}

// startGatewayTo is startGateway with the channel the flipped agent's
// presence changes go to (the nodes of a cluster share one: whichever holds
// the subscription applies the NOTIFY).
func startGatewayTo(ctx context.Context, bin, cfgPath, logPath, level string, cpu int, changes chan time.Time) (*gateway, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("gateway log: %w", err)
	}
	cmd := pinnedCommand(cpu, bin, "serve", "--config", cfgPath, "--log-format", "json", "--log-level", level)
	cmd.Env = append(os.Environ(), passwdEnv+"="+gwPassword)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("gateway stderr: %w", err)
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	g := &gateway{cmd: cmd, pid: cmd.Process.Pid, logPath: logPath, done: make(chan struct{}), changes: changes}
	addr := make(chan listening, 2)
	go func() {
		defer close(g.done)
		defer logFile.Close()
		g.scanLog(stderr, logFile, addr)
		err := cmd.Wait()
		g.mu.Lock()
		g.exitErr = err
		g.mu.Unlock()
	}()
	timeout := time.After(30 * time.Second)
	for g.baseURL == "" || g.adminURL == "" {
		select {
		case l := <-addr:
			if l.admin {
				g.adminURL = "http://" + l.addr
			} else {
				g.baseURL = "http://" + l.addr
			}
		case <-g.done:
			return nil, fmt.Errorf("gateway exited during start-up: %v; see %s", g.exited(), logPath)
		case <-ctx.Done():
			g.stop(5 * time.Second)
			return nil, fmt.Errorf("gateway did not start listening: %w", ctx.Err())
		case <-timeout:
			g.stop(5 * time.Second)
			return nil, fmt.Errorf("gateway did not start listening within 30s; see %s", logPath)
		}
	}
	return g, nil
}

// listening is an address the gateway's log says it listens on: the
// visitor port, or the admin listener.
type listening struct {
	addr  string
	admin bool
}

// scanLog copies the gateway's log to w, hands over the HTTP and admin
// addresses, and records when the flipped agent's presence changed.
func (g *gateway) scanLog(r io.Reader, w io.Writer, addr chan<- listening) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	flipURI := []byte("sip:" + flipAgent + "@")
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = w.Write(line)
		_, _ = w.Write([]byte{'\n'})
		switch {
		case bytes.Contains(line, []byte(`"msg":"http listening"`)), bytes.Contains(line, []byte(`"msg":"admin listening"`)):
			var m struct{ Msg, Addr string }
			if json.Unmarshal(line, &m) == nil && m.Addr != "" {
				select {
				case addr <- listening{addr: m.Addr, admin: m.Msg == "admin listening"}:
				default:
				}
			}
		case bytes.Contains(line, []byte(`"msg":"presence changed"`)) && bytes.Contains(line, flipURI):
			var m struct {
				Time  time.Time
				Event string
			}
			if json.Unmarshal(line, &m) == nil && m.Event == "presence" {
				select {
				case g.changes <- m.Time:
				default:
				}
			}
		}
	}
	// After an over-long line, keep copying so the gateway never blocks on
	// a full pipe.
	_, _ = io.Copy(w, r)
}

// exited returns the process's exit error once it has exited.
func (g *gateway) exited() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.exitErr
}

// alive reports whether the process still runs.
func (g *gateway) alive() bool {
	select {
	case <-g.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, then SIGKILL after timeout, and waits for the exit.
// It returns the exit error (nil for a clean exit).
func (g *gateway) stop(timeout time.Duration) error {
	if g.alive() {
		_ = syscall.Kill(g.pid, syscall.SIGTERM)
	}
	select {
	case <-g.done:
		return g.exited()
	case <-time.After(timeout):
	}
	_ = syscall.Kill(g.pid, syscall.SIGKILL)
	select {
	case <-g.done:
	case <-time.After(timeout):
		return fmt.Errorf("gateway (pid %d) did not exit after SIGKILL", g.pid)
	}
	return fmt.Errorf("gateway (pid %d) ignored SIGTERM for %v and was killed", g.pid, timeout)
}

// healthz is the part of /healthz the tool looks at.
type healthz struct {
	Status string `json:"status"`
	SIP    struct {
		Registration  string `json:"registration"`
		Subscriptions int    `json:"subscriptions"`
		Active        int    `json:"active"`
	} `json:"sip"`
	Sessions     int  `json:"sessions"`
	Calls        int  `json:"calls"`
	CallsEnabled bool `json:"calls_enabled"`
	Cluster      *struct {
		Connected bool `json:"connected"`
	} `json:"cluster"`
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func (g *gateway) health(ctx context.Context) (int, healthz, error) {
	var h healthz
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.adminURL+"/healthz", nil)
	if err != nil {
		return 0, h, fmt.Errorf("healthz request: %w", err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, h, fmt.Errorf("GET /healthz: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return resp.StatusCode, h, fmt.Errorf("decode /healthz: %w", err)
	}
	return resp.StatusCode, h, nil
}

// waitReady polls /healthz until the gateway is registered with want
// subscriptions, all active.
func (g *gateway) waitReady(ctx context.Context, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		code, h, err := g.health(ctx)
		if err == nil && code == http.StatusOK && h.SIP.Registration == "registered" &&
			h.SIP.Subscriptions == want && h.SIP.Active == want {
			return nil
		}
		if !g.alive() {
			return fmt.Errorf("gateway exited: %v; see %s", g.exited(), g.logPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway not registered with %d active subscriptions within %v (last: %d %+v, err %v)",
				want, timeout, code, h, err)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// wsURL is the Widget-API endpoint.
func (g *gateway) wsURL() string {
	return "ws" + strings.TrimPrefix(g.baseURL, "http") + "/ws"
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// logger returns l, or a logger that discards.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
