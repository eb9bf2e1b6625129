package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/frontdesk-gw/frontdesk/doctor"
)

const doctorSynopsis = "doctor [--config FILE] [--test-agent SIP] [--test-extension SIP] [--trace FILE] [--wait DURATION]"

// cmdDoctor checks the configured PBX step by step: it registers as the
// gateway's user with a Contact of its own (a running gateway is not
// disturbed) and unregisters at the end. Exit code 1 when a check failed.
func cmdDoctor(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("doctor", doctorSynopsis, stderr)
	path := fs.String("config", "", "config file (default ./frontdesk.yaml, else the embedded demo config)")
	testAgent := fs.String("test-agent", "", "an agent who agreed to receive a test MESSAGE (default doctor.test_agent)")
	testExt := fs.String("test-extension", "", "an extension that agreed to take a test call, e.g. an echo test (default doctor.test_extension)")
	tracePath := fs.String("trace", "", "file the SIP trace is written to (default: a new file in the temporary directory)")
	wait := fs.Duration("wait", 5*time.Second, "how long to wait for each answer of the PBX (NOTIFY, media, keys)")
	level := fs.String("log-level", "error", "level of the SIP user agent's own log on stderr: debug, info, warn, error")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	log, err := newLogger(stderr, *level, "text")
	if err != nil {
		fmt.Fprintln(stderr, "frontdesk doctor:", err)
		return 2
	}
	cfg, _, err := loadConfig(*path)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	opts := doctor.Options{Config: cfg, Out: stdout, Wait: *wait, Log: log.With("component", "doctor-sip"),
		UserAgent: "Frontdesk-doctor/" + version}
	for _, f := range []struct {
		flag, value string
		into        *string
	}{{"--test-agent", *testAgent, &opts.TestAgent}, {"--test-extension", *testExt, &opts.TestExtension}} {
		if f.value == "" {
			continue
		}
		if *f.into, err = doctor.NormalizeTarget(cfg, f.value); err != nil {
			fmt.Fprintf(stderr, "frontdesk doctor: %s %q: %v\n", f.flag, f.value, err)
			return 2
		}
	}
	if opts.MediaHost = cfg.Calls.RTPAddress; opts.MediaHost == "" {
		if opts.MediaHost, err = rtpHost(cfg.SIP); err != nil {
			fmt.Fprintln(stderr, "frontdesk doctor: no address for RTP; set calls.rtp_address:", err)
			return 1
		}
	}
	if *tracePath == "" {
		*tracePath = filepath.Join(os.TempDir(), "frontdesk-doctor-"+time.Now().Format("20060102-150405")+".sip")
	}
	trace, err := os.OpenFile(*tracePath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		fmt.Fprintln(stderr, "frontdesk doctor: SIP trace file:", err)
		return 1
	}
	defer trace.Close()
	opts.Trace, opts.TracePath = trace, *tracePath

	// Ctrl-C ends the checks; the doctor still unregisters.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := doctor.Run(ctx, opts)
	if err != nil {
		fmt.Fprintln(stderr, "frontdesk doctor:", err)
		return 1
	}
	if rep.Failed() {
		return 1
	}
	return 0
}
