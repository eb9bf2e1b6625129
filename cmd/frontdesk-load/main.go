// Command frontdesk-load measures the gateway under load against the real
// loopback test bed (Kamailio on 127.0.0.1) and a real `frontdesk serve`.
//
//	frontdesk-load sessions [--sessions 10000] [--rounds 20] [--nodes 3] [--json]
//	frontdesk-load calls [--system frontdesk|janus] [--pin] [--steps 10,50,100,200] [--hold 20s] [--json]
//	frontdesk-load compare [--steps 50,100,200] [--hold 20s] [--json]
//
// See `frontdesk-load --help` and docs/performance.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"
)

const usage = `frontdesk-load — load measurements for the frontdesk gateway

Usage:
  frontdesk-load sessions [flags]
  frontdesk-load calls [flags]
  frontdesk-load compare [flags]

Commands:
  sessions  start the loopback test bed and a real 'frontdesk serve', open N idle
            widget sessions, report the gateway's memory per session, then flip an
            agent's presence R times and report how long the Info takes to reach
            every session
  calls     start the loopback test bed, an echo far end and a real 'frontdesk serve',
            ramp up concurrent visitor calls (pion, PCMU 20 ms) through the Widget-API
            and report per step: gateway CPU per call-second, RSS, loss, round trip
            and setup time; --system janus measures Janus's SIP plugin instead
  compare   the calls ladder for frontdesk, then for Janus, back to back, each pinned
            to a core of its own, and one table of the ratios

Run 'frontdesk-load COMMAND --help' for its flags. Everything runs on 127.0.0.1.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "sessions":
		return cmdSessions(args[1:], stdout, stderr)
	case "calls":
		return cmdCalls(args[1:], stdout, stderr, false)
	case "compare":
		return cmdCalls(args[1:], stdout, stderr, true)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "frontdesk-load: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func cmdSessions(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sessions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: frontdesk-load sessions [flags]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	def := defaultOptions()
	o := def
	fs.StringVar(&o.Frontdesk, "frontdesk", "", "gateway binary (default: build ./cmd/frontdesk of this module into a temporary directory)")
	fs.IntVar(&o.Sessions, "sessions", def.Sessions, "idle websocket sessions to open")
	fs.IntVar(&o.Rounds, "rounds", def.Rounds, "presence flips (busy, online, busy, …) to time")
	fs.IntVar(&o.Ramp, "ramp", def.Ramp, fmt.Sprintf("sessions opened per second (1..%d)", maxRamp))
	fs.DurationVar(&o.Timeout, "timeout", def.Timeout, "bound on the whole run")
	fs.DurationVar(&o.GCWait, "gc-wait", def.GCWait, "after the ramp, wait up to this long for the gateway's next garbage collection before the second memory reading (0: skip)")
	fs.StringVar(&o.Dir, "dir", "", "working directory for config and logs (default: a temporary directory, removed unless the run fails)")
	fs.IntVar(&o.Nodes, "nodes", def.Nodes, fmt.Sprintf("gateways (1..%d); more than one form a cluster on a nats-server of the run's own, sessions spread evenly", maxNodes))
	asJSON := fs.Bool("json", false, "also print the result as JSON")
	verbose := fs.Bool("v", false, "log progress at debug level")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(stderr, "frontdesk-load sessions:", err)
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// The SIP library under the test bed logs to the default logger; keep
	// only its warnings unless -v.
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: max(level, slog.LevelWarn)})))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := runSessions(ctx, o)
	if res == nil {
		return report(stdout, stderr, "sessions", nil, nil, *asJSON, err)
	}
	return report(stdout, stderr, "sessions", res, func() { printTable(stdout, res) }, *asJSON, err)
}

// cmdCalls runs `calls` or, with compare, `compare`.
func cmdCalls(args []string, stdout, stderr io.Writer, compare bool) int {
	mode := "calls"
	if compare {
		mode = "compare"
	}
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: frontdesk-load %s [flags]\n\nFlags:\n", mode)
		fs.PrintDefaults()
	}
	def := defaultCallsOptions()
	o := def
	fs.StringVar(&o.WebRTCStack, "webrtc-stack", def.WebRTCStack, "frontdesk's calls.webrtc_stack: lite or pion")
	if !compare {
		fs.StringVar(&o.System, "system", def.System, "system under test: frontdesk, or janus (Janus's SIP plugin, Debian's janus package)")
		fs.BoolVar(&o.Pin, "pin", false, "pin the system under test to the first CPU and this tool, the far end and Kamailio to the others")
	}
	steps := fs.String("steps", "10,50,100,200", fmt.Sprintf("concurrent calls per step, increasing, each at most %d; calls stay up from step to step", maxCallsStep))
	fs.StringVar(&o.Frontdesk, "frontdesk", "", "gateway binary (default: build ./cmd/frontdesk of this module into a temporary directory)")
	fs.DurationVar(&o.Hold, "hold", def.Hold, "measuring time per step, with all of the step's calls up")
	fs.IntVar(&o.Rate, "rate", def.Rate, "calls set up per second while ramping")
	fs.DurationVar(&o.Settle, "settle", def.Settle, "wait after a ramp before measuring")
	fs.Float64Var(&o.MaxLoss, "max-loss", def.MaxLoss, "a step with this much packet loss (percent) or more is unhealthy and ends the ramp")
	fs.DurationVar(&o.MaxRTT, "max-rtt", def.MaxRTT, "a step whose round-trip p99 exceeds this is unhealthy and ends the ramp")
	fs.DurationVar(&o.Timeout, "timeout", def.Timeout, "bound on the whole run")
	fs.StringVar(&o.Dir, "dir", "", "working directory for config and logs (default: a temporary directory, removed unless the run fails)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this tool's own process (visitors and echo, not the gateway) to `file`")
	asJSON := fs.Bool("json", false, "also print the result as JSON")
	verbose := fs.Bool("v", false, "log progress at debug level")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	var err error
	if o.Steps, err = parseSteps(*steps); err == nil {
		err = o.validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "frontdesk-load %s: %v\n", mode, err)
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: max(level, slog.LevelWarn)})))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "frontdesk-load %s: %v\n", mode, err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "frontdesk-load %s: %v\n", mode, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if compare {
		res, err := runCompare(ctx, o)
		if res == nil {
			return report(stdout, stderr, mode, nil, nil, *asJSON, err)
		}
		return report(stdout, stderr, mode, res, func() { printCompare(stdout, res) }, *asJSON, err)
	}
	res, err := runCalls(ctx, o)
	if res == nil {
		return report(stdout, stderr, mode, nil, nil, *asJSON, err)
	}
	return report(stdout, stderr, mode, res, func() { printCalls(stdout, res) }, *asJSON, err)
}

// report prints a run's result (a table, then JSON when asked) and its
// error, and returns the exit code. res is nil when the run produced none.
func report(stdout, stderr io.Writer, mode string, res any, table func(), asJSON bool, err error) int {
	if res != nil {
		table()
		if asJSON {
			if jerr := printJSON(stdout, res); jerr != nil {
				fmt.Fprintf(stderr, "frontdesk-load %s: %v\n", mode, jerr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "frontdesk-load %s: %v\n", mode, err)
		return 1
	}
	return 0
}

// Options configure runSessions.
type Options struct {
	Frontdesk string        // gateway binary; "" builds ./cmd/frontdesk
	Sessions  int           // sessions to open
	Rounds    int           // presence flips
	Ramp      int           // sessions opened per second
	Timeout   time.Duration // bound on the whole run
	GCWait    time.Duration // bound on waiting for the gateway's next GC; 0 skips
	Dir       string        // working directory; "" uses a temporary one
	// Nodes is the number of gateways; above 1 they form a cluster on a
	// nats-server of the run's own, on 127.0.0.2, .3, … (cluster.go).
	Nodes int
	Log   *slog.Logger
}

const (
	maxSessions = 100000
	maxRounds   = 1000
	maxRamp     = 20000
	maxNodes    = 5
)

func defaultOptions() Options {
	return Options{
		Sessions: 10000,
		Rounds:   20,
		Ramp:     2000,
		Timeout:  5 * time.Minute,
		GCWait:   150 * time.Second,
		Nodes:    1,
	}
}

func (o Options) validate() error {
	switch {
	case o.Sessions < 1 || o.Sessions > maxSessions:
		return fmt.Errorf("--sessions %d: want 1..%d", o.Sessions, maxSessions)
	case o.Rounds < 0 || o.Rounds > maxRounds:
		return fmt.Errorf("--rounds %d: want 0..%d", o.Rounds, maxRounds)
	case o.Ramp < 1 || o.Ramp > maxRamp:
		return fmt.Errorf("--ramp %d: want 1..%d", o.Ramp, maxRamp)
	case o.Timeout <= 0 || o.Timeout > 2*time.Hour:
		return fmt.Errorf("--timeout %v: want more than 0 and at most 2h", o.Timeout)
	case o.GCWait < 0 || o.GCWait > o.Timeout:
		return fmt.Errorf("--gc-wait %v: want 0..--timeout", o.GCWait)
	case o.Nodes < 1 || o.Nodes > maxNodes:
		return fmt.Errorf("--nodes %d: want 1..%d", o.Nodes, maxNodes)
	}
	return nil
}
