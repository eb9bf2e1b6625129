//go:build integration

package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

const (
	callWidget = "5e1f2d3c4b5a49687766554433221100"
	// callWait bounds every wait for a call event.
	callWait = 10 * time.Second
)

// callAgents are the SIP users sipp plays, one per case, so a binding left
// behind by one case cannot fork another case's call.
var callAgents = []string{"busy", "decline", "ring", "early", "echo", "hold", "hangup", "g729", "drop", "silent", "video"}

func callConfig(pbx string) string {
	var agents strings.Builder
	for _, a := range callAgents {
		media := "[voice]"
		if a == "video" {
			media = "[voice, video]"
		}
		fmt.Fprintf(&agents, "      - {id: %s, sip: %s, mode: always, media: %s}\n", a, a, media)
	}
	return fmt.Sprintf(`sip:
  registrar: %s
  domain: frontdesk.test
  username: frontdesk
  password_env: FD_E2E_PASSWORD
  listen: 127.0.0.1:0
  trusted_sources: [127.0.0.1]
%shttp:
  listen: 127.0.0.1:0
  allowed_origins: [%q]
calls:
  webrtc_ips: [127.0.0.1] # media with visitors stays on loopback
  candidate_networks: [127.0.0.0/8] # and visitors' ICE candidates on this host are probed
  ring_timeout: 8s
  rtp_timeout: 5s
  reattach_grace: 1s # a dropped websocket's call waits this long for its page
  max_calls_per_agent: 1
widgets:
  - id: %s
    type: cards
    agents:
%s      - {id: chatonly, sip: chatonly, mode: always, media: [chat]}
      - {id: away, sip: away, mode: inactive, media: [voice]}
`, pbx, loopbackLimits, e2eOrigin, callWidget, agents.String())
}

// callEnv is Kamailio plus the gateway (with SIP trace) for the call tests.
type callEnv struct {
	tb  *testbed.Testbed
	gw  *gatewayProc
	ctx context.Context
}

func startCallEnv(t *testing.T) *callEnv {
	t.Helper()
	if err := testbed.CheckBinaries(false); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	ctx := ctxT(t, 5*time.Minute)
	users := []testbed.User{{Name: "frontdesk", Password: gwPassword}}
	for _, a := range callAgents {
		users = append(users, testbed.User{Name: a, Password: a + "-pw"})
	}
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir:   t.TempDir(),
		Users: users,
		Log:   slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, callConfig(tb.Addr()))
	gw := startGateway(t, cfgPath, "--sip-trace")
	gw.waitHealth("registered", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })
	return &callEnv{tb: tb, gw: gw, ctx: ctx}
}

// agentPhone is a sipp scenario playing an agent's phone, registered at the
// PBX as that agent.
type agentPhone struct {
	uas      *sippProc
	messages string // sipp's message trace
}

// sippAgent starts scenario for agent, with extra sipp arguments (-key
// ...). echo makes sipp send back the RTP it receives (-rtp_echo).
func (e *callEnv) sippAgent(t *testing.T, agent, scenario string, echo bool, extra ...string) *agentPhone {
	t.Helper()
	return e.sippAgentRun(t, agent, scenario, echo, sippRun{calls: 1, timeout: 60 * time.Second}, extra...)
}

// sippAgentRun is sippAgent for run.calls calls, with extra sipp
// arguments (-key ...).
func (e *callEnv) sippAgentRun(t *testing.T, agent, scenario string, echo bool, run sippRun, extra ...string) *agentPhone {
	t.Helper()
	msgs := filepath.Join(t.TempDir(), "messages.log")
	args := []string{"-s", agent, "-mi", "127.0.0.1", "-mp", strconv.Itoa(freeMediaPort(t)), "-trace_msg", "-message_file", msgs}
	if echo {
		args = append(args, "-rtp_echo")
	}
	uas := startSippRun(t, scenario, run, append(args, extra...)...)
	a := &agentPhone{uas: uas, messages: msgs}
	if err := e.tb.Register(e.ctx, agent, agent+"-pw", uas.addr(), 120); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.tb.Register(context.Background(), agent, agent+"-pw", uas.addr(), 0); err != nil {
			t.Errorf("unregister %s: %v", agent, err)
		}
		if t.Failed() {
			data, _ := os.ReadFile(msgs)
			t.Logf("sipp %s messages:\n%s", scenario, data)
		}
	})
	return a
}

// done waits for the scenario to finish and fails unless it succeeded (it
// saw everything it expects: ACK, CANCEL, BYE, the right answer SDP).
func (a *agentPhone) done(t *testing.T) {
	t.Helper()
	if err := a.uas.wait(t, 30*time.Second); err != nil {
		t.Fatalf("the agent's scenario failed: %v", err)
	}
}

// freeMediaPort finds a port for sipp's RTP echo with the port two above it
// (video echo) free as well.
func freeMediaPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		port := freeUDPPort(t)
		if port%2 == 1 || port > 65000 {
			continue
		}
		ok := true
		for _, p := range []int{port + 1, port + 2, port + 3} {
			pc, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			pc.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no free media port pair")
	return 0
}

// visitor opens a session on the call widget and returns its phone.
func (e *callEnv) phone(t *testing.T, o phoneOptions) *phone {
	t.Helper()
	v := e.gw.visit(e2eOrigin)
	v.t = t
	t.Cleanup(func() { v.conn.Close() })
	v.start(callWidget)
	return newPhone(t, v, o)
}

// noCallsLeft checks /metrics until no call is counted (bounded).
func (e *callEnv) noCallsLeft(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(callWait)
	for {
		body := e.gw.metrics(t)
		if regexp.MustCompile(`(?m)^frontdesk_calls 0$`).MatchString(body) {
			return
		}
		if time.Now().After(deadline) {
			m := regexp.MustCompile(`(?m)^frontdesk_calls .*$`).FindString(body)
			t.Fatalf("calls still counted after %v: %q", callWait, m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// invites counts the distinct calls (Call-IDs) the gateway sent an INVITE
// for to sip:user@..., from its SIP trace.
func (e *callEnv) invites(user string) int {
	ids := map[string]bool{}
	for _, m := range e.gw.logLines() {
		text, _ := m["sip"].(string)
		if m["msg"] != "sip trace" || m["dir"] != "out" || !strings.HasPrefix(text, "INVITE sip:"+user+"@") {
			continue
		}
		ids[callIDOf(text)] = true
	}
	return len(ids)
}

// sent counts how many of the request lines (prefixes such as "ACK
// sip:user") the gateway's SIP trace shows it sent at least once.
func (e *callEnv) sent(prefixes ...string) int {
	seen := map[string]bool{}
	for _, m := range e.gw.logLines() {
		text, _ := m["sip"].(string)
		if m["msg"] != "sip trace" || m["dir"] != "out" {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(text, p) {
				seen[p] = true
			}
		}
	}
	return len(seen)
}

// mediaSection returns the first m-section of kind in an SDP ("" if none).
func mediaSection(sdp, kind string) string {
	for i, sec := range strings.Split(sdp, "\nm=") {
		if i > 0 && strings.HasPrefix(sec, kind+" ") {
			return "m=" + sec
		}
	}
	return ""
}

func callIDOf(msg string) string {
	for _, l := range strings.Split(msg, "\n") {
		name, val, ok := strings.Cut(l, ":")
		if ok && (strings.EqualFold(name, "Call-ID") || name == "i") {
			return strings.TrimSpace(val)
		}
	}
	return ""
}

// TestCallSipp places calls from a Go WebRTC visitor through the gateway and
// Kamailio to sipp playing the agent's phone, and checks that both sides
// see the right end, and that the gateway counts no call afterwards.
func TestCallSipp(t *testing.T) {
	e := startCallEnv(t)

	for _, tc := range []struct{ agent, scenario, reason string }{
		{"busy", "call-busy.xml", "busy"},
		{"decline", "call-decline.xml", "declined"},
	} {
		t.Run("rejected: "+tc.reason, func(t *testing.T) {
			a := e.sippAgent(t, tc.agent, tc.scenario, false)
			p := e.phone(t, phoneOptions{})
			p.dial(tc.agent, false)
			p.expectEnd(tc.reason, callWait)
			a.done(t)
			e.noCallsLeft(t)
		})
	}

	t.Run("no answer: CANCEL after the ring timeout", func(t *testing.T) {
		a := e.sippAgent(t, "ring", "call-ring.xml", false)
		p := e.phone(t, phoneOptions{})
		p.dial("ring", false)
		p.expect("alerting", callWait)
		p.expectEnd("no-answer", callWait+8*time.Second) // ring_timeout is 8s
		a.done(t)
		e.noCallsLeft(t)
	})

	t.Run("early media, then answered", func(t *testing.T) {
		a := e.sippAgent(t, "early", "call-early.xml", true)
		p := e.phone(t, phoneOptions{Opus: true})
		p.dial("early", false)
		m := p.expect("early", callWait)
		if sdp, _ := m["sdp"].(string); m["cmd"] != "SELECT" || !strings.Contains(sdp, "PCMU/8000") {
			t.Fatalf("early without a PCMU answer: %v", m)
		} else if strings.Contains(strings.ToLower(sdp), "opus") {
			// The visitor offered Opus first; the PBX picked PCMU only.
			t.Errorf("the answer offers the browser a codec the PBX did not take:\n%s", sdp)
		}
		p.waitMedia()
		// The PBX holds the 200 back for 5 s: the audio must reach the
		// visitor while the call is still early.
		p.waitCount("early media", &p.echoed, 25, callWait)
		if p.pending("connected") {
			t.Fatal("the call was connected before early media arrived")
		}
		m = p.expect("connected", callWait)
		if _, has := m["sdp"]; has {
			t.Errorf("connected after early media carries an SDP again: %v", m)
		}
		before := p.echoed.Load()
		p.waitCount("media after the answer", &p.echoed, before+25, 5*time.Second)
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		a.done(t)
		e.noCallsLeft(t)
	})

	t.Run("visitor hangs up; audio both ways", func(t *testing.T) {
		a := e.sippAgent(t, "echo", "call-answer.xml", true)
		p := e.phone(t, phoneOptions{})
		p.dial("echo", false)
		m := p.expect("connected", callWait)
		if sdp, _ := m["sdp"].(string); m["cmd"] != "SELECT" || !strings.Contains(sdp, "PCMU/8000") {
			t.Fatalf("connected without a PCMU answer: %v", m)
		}
		p.waitMedia()
		p.waitCount("our audio back from the agent", &p.echoed, 50, 5*time.Second)
		if lvl, other := p.toneLevel(440), p.toneLevel(1000); lvl < 0.5 || other > 0.1 {
			t.Errorf("received audio: %.2f of its energy at 440 Hz, %.2f at 1000 Hz; want the 440 Hz tone sent", lvl, other)
		}
		if f := p.foreign.Load(); f != 0 {
			t.Errorf("%d packets with a payload type other than PCMU", f)
		}

		// A second CreateCall in the same session is refused, and so is a
		// second visitor calling the same agent (max_calls_per_agent 1).
		p.createCall("echo", false)
		p.expectError("call-in-progress", callWait)
		q := e.phone(t, phoneOptions{})
		q.createCall("echo", false)
		q.expectError("too-many-calls", callWait)
		// The refused requests changed nothing: the call still carries audio.
		before := p.echoed.Load()
		p.waitCount("audio after the refusals", &p.echoed, before+25, 5*time.Second)

		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		a.done(t)
		e.noCallsLeft(t)
		if n := e.invites("echo"); n != 1 {
			t.Errorf("the gateway sent INVITEs for %d calls to the agent, want 1", n)
		}
	})

	t.Run("hold and resume by the agent", func(t *testing.T) {
		a := e.sippAgent(t, "hold", "call-hold.xml", true)
		p := e.phone(t, phoneOptions{})
		p.dial("hold", false)
		p.expect("connected", callWait)
		p.waitMedia()
		p.expect("held", callWait)
		p.expect("connected", callWait)
		before := p.echoed.Load()
		p.waitCount("audio after resume", &p.echoed, before+25, 5*time.Second)
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		a.done(t) // it checked the answers: recvonly to sendonly, sendrecv to sendrecv
		e.noCallsLeft(t)
	})

	t.Run("agent hangs up", func(t *testing.T) {
		a := e.sippAgent(t, "hangup", "call-agent-bye.xml", true)
		p := e.phone(t, phoneOptions{})
		p.dial("hangup", false)
		p.expect("connected", callWait)
		p.expectEnd("ended-by-agent", callWait)
		a.done(t)
		e.noCallsLeft(t)
	})

	t.Run("no common codec: ACK and BYE", func(t *testing.T) {
		a := e.sippAgent(t, "g729", "call-g729.xml", false)
		p := e.phone(t, phoneOptions{})
		p.dial("g729", false)
		p.expectEnd("no-common-codec", callWait)
		a.done(t)
		if n := e.sent("ACK sip:g729", "BYE sip:g729"); n != 2 {
			t.Errorf("the gateway did not both ACK the 200 and send BYE (saw %d of the two in its trace)", n)
		}
		e.noCallsLeft(t)
	})

	t.Run("websocket dropped mid-call: BYE after the grace", func(t *testing.T) {
		a := e.sippAgent(t, "drop", "call-answer.xml", true)
		p := e.phone(t, phoneOptions{})
		p.dial("drop", false)
		p.expect("connected", callWait)
		p.waitMedia()
		p.waitCount("audio", &p.echoed, 10, 5*time.Second)
		p.v.conn.Close()
		a.done(t)
		e.noCallsLeft(t)
	})

	t.Run("no RTP from the agent: media-timeout", func(t *testing.T) {
		a := e.sippAgent(t, "silent", "call-answer.xml", false)
		p := e.phone(t, phoneOptions{})
		p.dial("silent", false)
		p.expect("connected", callWait)
		p.waitMedia()
		p.expectEnd("media-timeout", callWait+5*time.Second) // rtp_timeout is 5s
		if n := p.received.Load(); n != 0 {
			t.Errorf("the visitor received %d audio packets from a silent agent", n)
		}
		a.done(t)
		e.noCallsLeft(t)
	})

	t.Run("video call answered audio-only", func(t *testing.T) {
		a := e.sippAgent(t, "video", "call-video.xml", true)
		p := e.phone(t, phoneOptions{Video: true})
		p.dial("video", true)
		m := p.expect("connected", callWait)
		sdp, _ := m["sdp"].(string)
		audio, video := mediaSection(sdp, "audio"), mediaSection(sdp, "video")
		if !strings.Contains(audio, "a=sendrecv") || strings.HasPrefix(audio, "m=audio 0 ") {
			t.Errorf("the answer does not take audio:\n%s", sdp)
		}
		// Video is declined toward the browser: rejected (port 0) or inactive.
		if video != "" && !strings.HasPrefix(video, "m=video 0 ") && !strings.Contains(video, "a=inactive") {
			t.Errorf("the answer keeps video the agent declined:\n%s", sdp)
		}
		p.waitMedia()
		p.waitCount("audio in a video call", &p.echoed, 25, 5*time.Second)
		if n := p.video.Load(); n != 0 {
			t.Errorf("%d video packets in a call the agent took audio-only", n)
		}
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		a.done(t) // it checked that the INVITE offered video
		e.noCallsLeft(t)
	})

	t.Run("refused before SIP", func(t *testing.T) {
		p := e.phone(t, phoneOptions{Video: true})
		for _, tc := range []struct {
			agent string
			video bool
			code  string
		}{
			{"chatonly", false, "medium-not-allowed"},
			{"echo", true, "medium-not-allowed"}, // voice only
			{"away", false, "agent-unavailable"},
			{"nobody", false, "unknown-agent"},
		} {
			p.createCall(tc.agent, tc.video)
			p.expectError(tc.code, callWait)
			// A widget that sends its offer anyway gets no call either.
			p.propose()
			p.expectError("no-call", callWait)
		}
		p.v.quiet("no call state", time.Second, func(m map[string]any) bool { return m["mt"] == "CallInfo" })
		for _, agent := range []string{"chatonly", "away", "nobody"} {
			if n := e.invites(agent); n != 0 {
				t.Errorf("the gateway sent %d INVITEs to %s", n, agent)
			}
		}
		if n := e.invites("echo"); n != 1 {
			t.Errorf("INVITEs to echo: %d, want only the earlier call's", n)
		}
		e.noCallsLeft(t)
	})

	// Every call ended on both sides, so the gateway stops at once and
	// cleanly (a data race report would make the -race build exit 66).
	e.gw.stop(syscall.SIGTERM)
	if code := e.gw.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("frontdesk exited %d after SIGTERM, want 0", code)
	}
}
