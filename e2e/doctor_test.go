//go:build integration

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

const doctorWidget = "4b3a29180f6e4d5c8b7a69584736251a"

// doctorConfig is a gateway config for the test bed at pbx with the
// agents given (YAML flow mappings) and doctor's opt-in keys.
func doctorConfig(pbx string, agents []string, doctorKeys string) string {
	var b strings.Builder
	b.WriteString("# frontdesk doctor test config\n")
	b.WriteString(gatewayHead(pbx, e2eOrigin))
	fmt.Fprintf(&b, "widgets:\n  - id: %s\n    type: cards\n    name: Team\n    agents:\n", doctorWidget)
	for _, a := range agents {
		fmt.Fprintf(&b, "      - %s\n", a)
	}
	b.WriteString(doctorKeys)
	return b.String()
}

// runDoctor runs `frontdesk doctor` (bounded) and returns its report,
// exit code and trace file.
func runDoctor(t *testing.T, cfgPath string, extra ...string) (report string, code int, trace string) {
	t.Helper()
	trace = filepath.Join(t.TempDir(), "doctor.sip")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, frontdeskBin, append([]string{"doctor", "--config", cfgPath, "--trace", trace}, extra...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code <= 0 {
		t.Fatalf("frontdesk doctor: %v\n%s", err, errOut.String())
	}
	t.Logf("frontdesk doctor (exit %d):\n%s%s", code, out.String(), errOut.String())
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(trace)
			if len(data) > 40000 {
				data = data[len(data)-40000:]
			}
			t.Logf("doctor's SIP trace (end):\n%s", data)
		}
	})
	return out.String(), code, trace
}

// reportLines returns the report's check lines of a status ("ok", "warn",
// "FAIL", "--").
func reportLines(report, status string) []string {
	var out []string
	marker := map[string]string{"ok": "[ ok ]", "--": "[ -- ]"}[status]
	if marker == "" {
		marker = "[" + status + "]"
	}
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), marker) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// TestDoctorAllGreen runs frontdesk doctor against the loopback test bed
// while a gateway with the same config runs: Kamailio, baresip agents, a
// sipp echo test extension. Every check is green; the gateway keeps its
// registration and subscriptions; the doctor's binding is gone after.
func TestDoctorAllGreen(t *testing.T) {
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp not installed (run testbed/install.sh): %v", err)
	}
	ctx := ctxT(t, 4*time.Minute)
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir: t.TempDir(),
		Users: []testbed.User{
			{Name: "frontdesk", Password: gwPassword},
			{Name: boolUser, Password: boolPass},
			{Name: "echo", Password: "echo-pw"},
		},
		Agents: []testbed.AgentSpec{
			{Name: "alice", Password: "alice-pw", Presence: testbed.StatusOnline},
			{Name: "bob", Password: "bob-pw", Presence: testbed.StatusBusy},
			{Name: "carol", Password: "carol-pw", Presence: testbed.StatusClosed},
		},
		Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	if err := tb.PublishBoolean(ctx, boolUser, boolPass, true); err != nil {
		t.Fatal(err)
	}
	echo := startSipp(t, "doctor-echo.xml", "-s", "echo", "-mi", "127.0.0.1", "-mp", fmt.Sprint(freeMediaPort(t)), "-rtp_echo")
	if err := tb.Register(ctx, "echo", "echo-pw", echo.addr(), 120); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.Register(context.Background(), "echo", "echo-pw", echo.addr(), 0) })

	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	agents := []string{
		"{id: alice, sip: alice}", "{id: bob, sip: bob}", "{id: carol, sip: carol}",
		`{id: hotline, sip: bob, mode: boolean, boolean: "sip:daytime@frontdesk.test"}`,
		"{id: queue, sip: alice, mode: always}", "{id: holiday, sip: nobody, mode: inactive}",
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "frontdesk.yaml")
	writeConfig(t, cfgPath, doctorConfig(tb.Addr(), agents, "doctor:\n  test_agent: alice\n  test_extension: echo\n"))
	gw := startGateway(t, cfgPath)
	healthy := func(code int, h map[string]any) bool {
		s := h["sip"].(map[string]any)
		return code == 200 && s["subscriptions"] == 7.0 && s["active"] == 7.0
	}
	gw.waitHealth("gateway registered with every subscription active", 20*time.Second, healthy)

	report, code, trace := runDoctor(t, cfgPath)
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	// Green but for the one warning a UDP test bed must get: SIP is not
	// encrypted (TestDoctorSRTP runs over TLS).
	bad := reportLines(report, "FAIL")
	for _, w := range reportLines(report, "warn") {
		if !strings.Contains(w, "SIP over UDP is not encrypted") {
			bad = append(bad, w)
		}
	}
	if len(bad) > 0 {
		t.Errorf("not all green:\n%s", strings.Join(bad, "\n"))
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`\[ ok \] OPTIONS sip:127\.0\.0\.1:\d+ over UDP: 200 OK in .* by frontdesk-testbed: the PBX is reachable`),
		regexp.MustCompile(`\[ ok \] REGISTER sip:frontdesk@frontdesk\.test with digest: 401 Unauthorized, then 200 OK \(challenge: Digest realm="frontdesk\.test".*\); registered for .*; the registrar lists 2 bindings`),
		regexp.MustCompile(`\[ ok \] sip:alice@frontdesk\.test \(alice of widget Team, queue of widget Team\): SUBSCRIBE presence: 407 Proxy Authentication Required, then 20[02] .*; NOTIFY active, application/pidf\+xml: basic open`),
		regexp.MustCompile(`\[ ok \] sip:bob@frontdesk\.test .*: SUBSCRIBE presence: .*basic open, busy`),
		regexp.MustCompile(`\[ ok \] sip:bob@frontdesk\.test .*: SUBSCRIBE dialog: .*application/dialog-info\+xml: idle`),
		regexp.MustCompile(`\[ ok \] sip:carol@frontdesk\.test .*: SUBSCRIBE presence: .*basic closed`),
		regexp.MustCompile(`\[ ok \] sip:daytime@frontdesk\.test \(boolean of hotline of widget Team\): SUBSCRIBE presence: .*basic open`),
		regexp.MustCompile(`\[ ok \] sip:alice@frontdesk\.test .*: OPTIONS: 200 OK .*: a phone answers`),
		regexp.MustCompile(`\[ ok \] MESSAGE to sip:alice@frontdesk\.test: 200`),
		regexp.MustCompile(`\[ ok \] INVITE sip:echo@frontdesk\.test: 183 with SDP: early media \([1-9]\d* RTP packets before the answer\); answered after`),
		regexp.MustCompile(`\[ ok \] codecs: offered PCMU/8000, PCMA/8000, G722/8000, opus/48000/2, telephone-event/8000, telephone-event/48000; the PBX chose PCMU/8000 with telephone-event/8000`),
		regexp.MustCompile(`\[ ok \] RTP both ways: sent \d+ packets of PCMU/8000 to 127\.0\.0\.1:\d+, received \d+ from 127\.0\.0\.1:\d+`),
		regexp.MustCompile(`\[ ok \] hold: re-INVITE a=sendonly answered 200 with a=recvonly`),
		regexp.MustCompile(`\[ ok \] resume: re-INVITE a=sendrecv answered 200 with a=sendrecv`),
		regexp.MustCompile(`\[ ok \] DTMF to the PBX: sent 1# as RFC 4733 telephone-event \(payload type 101\)`),
		regexp.MustCompile(`\[ ok \] DTMF from the PBX: received 1# as RFC 4733 events`),
		regexp.MustCompile(`\[ ok \] BYE: 200 OK: the call ended cleanly`),
		regexp.MustCompile(`\[warn\] SIP over UDP is not encrypted`),
		regexp.MustCompile(`\[ ok \] unregistered the doctor's Contact sip:frontdesk@127\.0\.0\.1:\d+;transport=udp: 200 OK`),
	} {
		if !want.MatchString(report) {
			t.Errorf("report lacks %s", want)
		}
	}
	if err := echo.wait(t, 10*time.Second); err != nil {
		t.Errorf("the echo extension's scenario failed (hold, resume, BYE): %v", err)
	}

	// The trace is kept, with the whole conversation.
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"REGISTER sip:", "SUBSCRIBE sip:", "NOTIFY sip:", "MESSAGE sip:", "INVITE sip:", "BYE sip:", "SIP/2.0 183 "} {
		if !strings.Contains(string(data), m) {
			t.Errorf("the trace lacks %q", m)
		}
	}
	if strings.Contains(string(data), gwPassword) {
		t.Error("the trace shows the SIP password")
	}
	if !strings.Contains(report, trace) {
		t.Errorf("the report does not name the trace file %s", trace)
	}

	// The test agent got the message.
	deadline := time.Now().Add(5 * time.Second)
	for {
		msgs, err := tb.Agent("alice").ReceivedMessages()
		if err == nil && len(msgs) > 0 && strings.Contains(msgs[len(msgs)-1].Body, "Frontdesk doctor: a test message") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice did not get the test message: %v %v", msgs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The gateway was not disturbed, and only its binding is left.
	gw.waitHealth("gateway still registered with every subscription active", 5*time.Second, healthy)
	v := gw.visit(e2eOrigin)
	_, infos := v.start(doctorWidget)
	if infos["alice"]["presence"] != "online" {
		t.Errorf("alice after the doctor: %v", infos["alice"])
	}
	// A second run, without the opt-in tests.
	plain := filepath.Join(dir, "without-tests.yaml")
	writeConfig(t, plain, doctorConfig(tb.Addr(), agents, ""))
	report2, _, _ := runDoctor(t, plain, "--wait", "2s")
	if !strings.Contains(report2, "the registrar lists 2 bindings") {
		t.Error("a second run does not find exactly the gateway's binding and its own: the first left its binding behind")
	}
}

// TestDoctorRedLines runs frontdesk doctor against deliberately
// misconfigured PBXs: each says what failed, why and where to change it,
// and exits 1.
func TestDoctorRedLines(t *testing.T) {
	for _, tc := range []struct {
		name     string
		faults   testbed.Faults
		password string
		agents   []string
		want     []string // substrings of FAIL lines
		fix      string   // a line of the advice
	}{
		{
			name: "wrong password", password: "not-the-password",
			agents: []string{"{id: alice, sip: alice}"},
			want:   []string{"REGISTER sip:frontdesk@frontdesk.test: 401 Unauthorized, then 401 Unauthorized", "401 again after answering the challenge: check sip.password"},
			fix:    "change: sip.password (or password_env / password_file) and sip.auth_user",
		},
		{
			name:   "agent unknown to the PBX",
			agents: []string{"{id: alice, sip: alice}", "{id: dave, sip: dave}"},
			want:   []string{"sip:dave@frontdesk.test (dave of widget Team): OPTIONS: 404 Not Found: the PBX knows no phone for this address, and no presence is published for it"},
			fix:    "change: the agent's sip: at ",
		},
		{
			name: "no dialog package", faults: testbed.Faults{NoDialogEvents: true},
			agents: []string{"{id: alice, sip: alice}"},
			want:   []string{"sip:alice@frontdesk.test (alice of widget Team): SUBSCRIBE dialog: 407 Proxy Authentication Required, then 489 Bad Event"},
			fix:    `Kamailio: loadmodule "presence_dialoginfo.so" and "pua_dialoginfo.so"`,
		},
		{
			name: "SUBSCRIBE refused", faults: testbed.Faults{RefuseSubscribe: true},
			agents: []string{"{id: alice, sip: alice}"},
			want: []string{
				"sip:alice@frontdesk.test (alice of widget Team): SUBSCRIBE presence: 407 Proxy Authentication Required, then 403 Subscriptions Not Allowed",
				"sip:alice@frontdesk.test (alice of widget Team): SUBSCRIBE dialog: 407 Proxy Authentication Required, then 403 Subscriptions Not Allowed",
			},
			fix: "likely cause: the PBX's policy does not let the gateway's user subscribe",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t, 2*time.Minute)
			tb, err := testbed.Start(ctx, testbed.Options{
				Dir:    t.TempDir(),
				Users:  []testbed.User{{Name: "frontdesk", Password: gwPassword}},
				Agents: []testbed.AgentSpec{{Name: "alice", Password: "alice-pw", Presence: testbed.StatusOnline}},
				Faults: tc.faults,
				Log:    slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
			})
			if err != nil {
				t.Fatalf("start test bed: %v", err)
			}
			t.Cleanup(func() { _ = tb.Close() })
			password := gwPassword
			if tc.password != "" {
				password = tc.password
			}
			t.Setenv("FD_E2E_PASSWORD", password)
			cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
			writeConfig(t, cfgPath, doctorConfig(tb.Addr(), tc.agents, ""))
			report, code, _ := runDoctor(t, cfgPath, "--wait", "3s")
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			fails := strings.Join(reportLines(report, "FAIL"), "\n")
			for _, w := range tc.want {
				if !strings.Contains(fails, w) {
					t.Errorf("no red line with %q; red lines:\n%s", w, fails)
				}
			}
			if !strings.Contains(report, tc.fix) {
				t.Errorf("the report does not say %q", tc.fix)
			}
			for _, pbx := range []string{"Kamailio: ", "Asterisk: ", "FreeSWITCH: "} {
				if !strings.Contains(report, pbx) {
					t.Errorf("the report names no setting for %s", strings.TrimSuffix(pbx, ": "))
				}
			}
		})
	}
}

// TestDoctorSRTP: with calls.srtp sdes (which needs SIP over TLS) the
// test call offers RTP/SAVP with SDES keys; a baresip phone that insists
// on SRTP answers with its own key and its media authenticates and
// decrypts.
func TestDoctorSRTP(t *testing.T) {
	pki := newSIPPKI(t, "Frontdesk doctor test CA", "127.0.0.1")
	tb := startTLSTestbed(t, pki.testbedTLS(false),
		testbed.AgentSpec{Name: "secure", Password: "secure-pw", Presence: testbed.StatusOnline, AnswerCalls: true, SRTP: true})
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	cfg := doctorConfig("sips:"+tb.TLSAddr(), []string{"{id: secure, sip: secure}"}, "doctor:\n  test_extension: secure\n")
	cfg = strings.Replace(cfg, "calls:\n", "calls:\n  srtp: sdes\n", 1)
	writeConfig(t, cfgPath, withSIPKeys(t, cfg, pki.gatewayKeys()))
	report, code, _ := runDoctor(t, cfgPath)
	if fails := reportLines(report, "FAIL"); len(fails) > 0 || code != 0 {
		t.Errorf("exit %d, red lines:\n%s", code, strings.Join(fails, "\n"))
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`\[ ok \] RTP both ways: sent \d+ packets of \S+ to 127\.0\.0\.1:\d+, received \d+`),
		regexp.MustCompile(`\[ ok \] SRTP: SDES AES_CM_128_HMAC_SHA1_80 both ways: [1-9]\d* packets from the PBX authenticated and decrypted with its key`),
		regexp.MustCompile(`\[ ok \] hold: re-INVITE a=sendonly answered 200 with a=(recvonly|inactive)`),
		regexp.MustCompile(`\[ ok \] BYE: 200 OK`),
		regexp.MustCompile(`\[ ok \] SIP over TLS: the PBX's certificate was verified \(CA: \S+ca\.pem\)`),
	} {
		if !want.MatchString(report) {
			t.Errorf("report lacks %s", want)
		}
	}
}
