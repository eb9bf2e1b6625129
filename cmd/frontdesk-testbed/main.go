// Command frontdesk-testbed runs the loopback demo PBX (Kamailio plus baresip
// agents) on fixed ports and changes agent state while it runs.
//
//	frontdesk-testbed up                       start, print what runs, wait for Ctrl-C
//	frontdesk-testbed presence alice busy      online|busy|on-the-phone|away|closed|offline
//	frontdesk-testbed boolean daytime false    true|false
//	frontdesk-testbed dial alice sip:bob@frontdesk.test
//	frontdesk-testbed accept bob
//	frontdesk-testbed hangup alice
//	frontdesk-testbed message alice "Hello from Alice"
//	frontdesk-testbed inbox alice
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// Fixed demo ports, all on 127.0.0.1.
const (
	kamailioPort = testbed.DemoPort // Kamailio UDP and TCP
	controlPort  = 15099            // HTTP control of the running "up" process
)

var (
	demoAgents = testbed.DemoAgents()
	demoUsers  = testbed.DemoUsers()
)

// state is written to DIR/state.json by "up" and read by the other commands.
type state struct {
	PID      int               `json:"pid"`
	Kamailio string            `json:"kamailio"`
	Domain   string            `json:"domain"`
	Control  string            `json:"control"`
	Agents   map[string]string `json:"agents"` // name -> ctrl_tcp address
}

const usage = `frontdesk-testbed: a loopback demo PBX for frontdesk (Kamailio + baresip agents)

Usage:
  frontdesk-testbed [--dir DIR] up
  frontdesk-testbed [--dir DIR] presence AGENT online|busy|on-the-phone|away|closed|offline
  frontdesk-testbed [--dir DIR] boolean USER true|false
  frontdesk-testbed [--dir DIR] dial AGENT URI
  frontdesk-testbed [--dir DIR] accept|hangup AGENT
  frontdesk-testbed [--dir DIR] message AGENT TEXT    the agent chats to the gateway
  frontdesk-testbed [--dir DIR] inbox AGENT           the messages the agent received (not those it sent)

"up" starts, on 127.0.0.1 only:
  Kamailio           127.0.0.1:15060 (UDP+TCP), domain frontdesk.test
  gateway account    frontdesk / frontdesk-demo
  agents (baresip)   alice/alice-demo online, bob/bob-demo busy, carol/carol-demo offline,
                     queue/queue-demo and hotline/hotline-demo (behind the "always" and
                     the boolean agent), dave/dave-demo (the inactive one)
                     SIP ports 15070-15078 and 15086 (+1 each for TLS), ctrl_tcp 15080-15085
  boolean object     daytime / daytime-demo, published true
  control (HTTP)     127.0.0.1:15099, used by the other commands
and runs until SIGINT/SIGTERM. Logs, config and DIR/state.json live in DIR.

Flags:
`

func main() {
	fs := flag.NewFlagSet("frontdesk-testbed", flag.ContinueOnError)
	dir := fs.String("dir", filepath.Join(os.TempDir(), "frontdesk-testbed"), "working directory (config, logs, state.json)")
	verbose := fs.Bool("v", false, "debug logging")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	args := fs.Args()
	if len(args) == 0 {
		fs.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch cmd := args[0]; {
	case cmd == "up" && len(args) == 1:
		err = up(ctx, *dir, log)
	case cmd == "presence" && len(args) == 3:
		err = control(ctx, *dir, "/presence", url.Values{"user": {args[1]}, "status": {args[2]}})
	case cmd == "boolean" && len(args) == 3:
		err = control(ctx, *dir, "/boolean", url.Values{"user": {args[1]}, "value": {args[2]}})
	case cmd == "dial" && len(args) == 3:
		err = agentCommand(ctx, *dir, args[1], "dial", args[2])
	case (cmd == "hangup" || cmd == "accept") && len(args) == 2:
		err = agentCommand(ctx, *dir, args[1], cmd, "")
	case cmd == "message" && len(args) == 3:
		err = control(ctx, *dir, "/message", url.Values{"agent": {args[1]}, "text": {args[2]}})
	case cmd == "inbox" && len(args) == 2:
		err = control(ctx, *dir, "/inbox", url.Values{"agent": {args[1]}})
	default:
		fs.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "frontdesk-testbed:", err)
		os.Exit(1)
	}
}

func up(ctx context.Context, dir string, log *slog.Logger) error {
	// The control port doubles as a lock: only one demo runs at a time.
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(controlPort))
	if err != nil {
		return fmt.Errorf("control port %d busy (is a demo already running?): %w", controlPort, err)
	}
	defer ln.Close()

	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	began := time.Now()
	tb, err := testbed.Start(startCtx, testbed.Options{
		Dir:    dir,
		Port:   kamailioPort,
		Users:  demoUsers,
		Agents: demoAgents,
		Log:    log,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := tb.Close(); err != nil {
			log.Warn("shutdown", "err", err)
		}
	}()
	if err := tb.PublishBoolean(startCtx, "daytime", "daytime-demo", true); err != nil {
		return err
	}

	st := state{PID: os.Getpid(), Kamailio: tb.Addr(), Domain: tb.Domain(), Control: ln.Addr().String(), Agents: map[string]string{}}
	for _, a := range tb.Agents() {
		st.Agents[a.Name()] = a.CtrlAddr()
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	statePath := filepath.Join(tb.Dir(), "state.json")
	if err := os.WriteFile(statePath, b, 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(statePath)

	srv := &http.Server{Handler: controlHandler(tb), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	}()

	fmt.Printf(`frontdesk test bed up in %v
  Kamailio     %s (UDP+TCP), domain %s, log %s
  gateway      sip:frontdesk@%s  password frontdesk-demo
  agents       %s
  boolean      sip:daytime@%s = true (password daytime-demo)
  directory    %s (state.json, logs)
Change state while it runs:
  frontdesk-testbed presence alice busy     (online|busy|on-the-phone|away|closed|offline)
  frontdesk-testbed boolean daytime false
  frontdesk-testbed dial alice sip:bob@frontdesk.test ; frontdesk-testbed hangup alice
Ctrl-C stops everything.
`, time.Since(began).Round(time.Millisecond), tb.Addr(), tb.Domain(), filepath.Join(tb.Dir(), "kamailio.log"),
		tb.Domain(), agentSummary(tb), tb.Domain(), tb.Dir())

	<-ctx.Done()
	log.Info("stopping")
	return nil
}

func agentSummary(tb *testbed.Testbed) string {
	var parts []string
	for i, a := range tb.Agents() {
		parts = append(parts, fmt.Sprintf("%s (%s, password %s, initially %s)", a.URI(), a.SIPAddr(), a.Password(), demoAgents[i].Presence))
	}
	return strings.Join(parts, "\n               ")
}

func controlHandler(tb *testbed.Testbed) http.Handler {
	passwords := map[string]string{}
	for _, u := range demoUsers {
		passwords[u.Name] = u.Password
	}
	for _, a := range demoAgents {
		passwords[a.Name] = a.Password
	}
	mux := http.NewServeMux()
	publish := func(w http.ResponseWriter, r *http.Request, status string) {
		user := r.FormValue("user")
		pw, ok := passwords[user]
		if !ok {
			http.Error(w, "unknown user "+strconv.Quote(user), http.StatusNotFound)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := tb.PublishPresence(ctx, user, pw, status); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "%s is now %s\n", user, status)
	}
	mux.HandleFunc("POST /presence", func(w http.ResponseWriter, r *http.Request) {
		publish(w, r, r.FormValue("status"))
	})
	// Chat as an agent: send a MESSAGE to the gateway, read what arrived.
	mux.HandleFunc("POST /message", func(w http.ResponseWriter, r *http.Request) {
		a := tb.Agent(r.FormValue("agent"))
		if a == nil {
			http.Error(w, "unknown agent "+strconv.Quote(r.FormValue("agent")), http.StatusNotFound)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := a.SendMessage(ctx, r.FormValue("text")); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "%s sent the message\n", a.Name())
	})
	mux.HandleFunc("POST /inbox", func(w http.ResponseWriter, r *http.Request) {
		a := tb.Agent(r.FormValue("agent"))
		if a == nil {
			http.Error(w, "unknown agent "+strconv.Quote(r.FormValue("agent")), http.StatusNotFound)
			return
		}
		msgs, err := a.ReceivedMessages()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		n := 0
		for _, m := range msgs {
			if strings.Contains(m.Body, "isComposing") {
				continue
			}
			n++
			fmt.Fprintf(w, "received from %s\n%s\n\n", m.From, m.Body)
		}
		if n == 0 {
			fmt.Fprintf(w, "%s has received no messages yet\n", a.Name())
		}
	})
	mux.HandleFunc("POST /boolean", func(w http.ResponseWriter, r *http.Request) {
		v, err := strconv.ParseBool(r.FormValue("value"))
		if err != nil {
			http.Error(w, "value must be true or false", http.StatusBadRequest)
			return
		}
		status := testbed.StatusClosed
		if v {
			status = testbed.StatusOnline
		}
		publish(w, r, status)
	})
	return mux
}

func readState(dir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return st, fmt.Errorf("no running test bed found (run \"frontdesk-testbed up\" first): %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("read state.json: %w", err)
	}
	return st, nil
}

func control(ctx context.Context, dir, path string, form url.Values) error {
	st, err := readState(dir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+st.Control+path, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("control request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("control %s: %w", st.Control, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", strings.TrimSpace(string(body)))
	}
	fmt.Print(string(body))
	return nil
}

func agentCommand(ctx context.Context, dir, agent, command, params string) error {
	st, err := readState(dir)
	if err != nil {
		return err
	}
	addr, ok := st.Agents[agent]
	if !ok {
		return fmt.Errorf("unknown agent %q", agent)
	}
	out, err := testbed.CtrlCommand(ctx, addr, command, params)
	if err != nil {
		return err
	}
	if out = strings.TrimSpace(out); out != "" {
		fmt.Println(out)
	}
	return nil
}
