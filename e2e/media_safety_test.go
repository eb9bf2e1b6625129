//go:build integration

package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// The media tests of a gateway exposed to strangers: a third party racing
// the PBX to the gateway's RTP port, a visitor flooding DTMF, and many calls
// ending at once toward a PBX that never answers the BYE.

// mediaConfig is a test gateway for the call widget with the given agents
// (mode always, voice), extra calls and limits keys.
func mediaConfig(pbx string, agents []string, calls, limits string) string {
	var b strings.Builder
	b.WriteString(gatewayHeadWith(pbx, e2eOrigin, calls, limits))
	fmt.Fprintf(&b, "widgets:\n  - id: %s\n    type: cards\n    agents:\n", callWidget)
	for _, a := range agents {
		fmt.Fprintf(&b, "      - {id: %s, sip: %s, mode: always, media: [voice]}\n", a, a)
	}
	return b.String()
}

// startMediaEnv starts Kamailio with a user per agent (sipp plays those not
// in baresip) and the gateway with SIP trace.
func startMediaEnv(t *testing.T, agents []string, baresip []testbed.AgentSpec, calls, limits string) *callEnv {
	t.Helper()
	return startMediaEnvOn(t, agents, baresip, calls, limits, nil)
}

// startMediaEnvOn is startMediaEnv with the gateway reaching Kamailio over
// TLS with pki's certificates (nil: over UDP).
func startMediaEnvOn(t *testing.T, agents []string, baresip []testbed.AgentSpec, calls, limits string, pki *sipPKI) *callEnv {
	t.Helper()
	if err := testbed.CheckBinaries(len(baresip) > 0); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	ctx := ctxT(t, 5*time.Minute)
	users := []testbed.User{{Name: "frontdesk", Password: gwPassword}}
	for _, a := range agents {
		users = append(users, testbed.User{Name: a, Password: a + "-pw"})
	}
	names := append([]string(nil), agents...)
	for _, a := range baresip {
		names = append(names, a.Name)
	}
	opts := testbed.Options{
		Dir:    t.TempDir(),
		Users:  users,
		Agents: baresip,
		Log:    slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if pki != nil {
		opts.TLS = pki.testbedTLS(false)
	}
	tb, err := testbed.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() {
		_ = tb.Close()
		if t.Failed() {
			for _, a := range tb.Agents() {
				t.Logf("--- tail of %s ---\n%s", a.LogPath(), cbFileTail(a.LogPath(), 60))
			}
		}
	})
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	cfg := mediaConfig(tb.Addr(), names, calls, limits)
	if pki != nil {
		cfg = withSIPKeys(t, mediaConfig(tb.TLSAddr(), names, calls, limits), pki.gatewayKeys())
	}
	writeConfig(t, cfgPath, cfg)
	gw := startGateway(t, cfgPath, "--sip-trace")
	gw.waitHealth("registered", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })
	return &callEnv{tb: tb, gw: gw, ctx: ctx}
}

var mAudioPort = regexp.MustCompile(`(?m)^m=audio (\d+) `)

// rtpPort waits (bounded) for the gateway's INVITE to user in its SIP trace
// and returns the RTP port its offer names.
func (e *callEnv) rtpPort(t *testing.T, user string) int {
	t.Helper()
	deadline := time.Now().Add(callWait)
	for {
		for _, m := range e.gw.logLines() {
			text, _ := m["sip"].(string)
			if m["msg"] != "sip trace" || m["dir"] != "out" || !strings.HasPrefix(text, "INVITE sip:"+user+"@") {
				continue
			}
			if mm := mAudioPort.FindStringSubmatch(strings.ReplaceAll(text, "\r\n", "\n")); mm != nil {
				port, _ := strconv.Atoi(mm[1])
				return port
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no INVITE to %s with an audio port in the gateway's trace within %v", user, callWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metricSample returns the value of one series ("name" or
// `name{label="x"}`) in a /metrics body.
func metricSample(body, series string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if ok && name == series {
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			return v, err == nil
		}
	}
	return 0, false
}

func (e *callEnv) metric(t *testing.T, series string) float64 {
	t.Helper()
	v, ok := metricSample(e.gw.metrics(t), series)
	if !ok {
		t.Fatalf("/metrics has no %s", series)
	}
	return v
}

// hostileSender is a third party on 127.0.0.2 sending to the gateway's RTP
// port 4 packets every 5 ms (16 times a stream's rate, so it nearly always
// is the first to reach the port once the call is answered): in plain mode a perfect
// in-sequence PCMU stream of a 660 Hz tone, in srtp mode packets with an
// RTP header and random bytes (no SRTP of any key of the call). It counts
// what reaches it: the visitor's audio, if the gateway were fooled.
type hostileSender struct {
	conn     *net.UDPConn
	sent     atomic.Int64
	received atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
}

// hostileHz is the tone of the hostile stream, apart from the visitor's and
// the agent's.
const hostileHz = 660

func startHostile(t *testing.T, to netip.AddrPort, srtp bool) *hostileSender {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.2:0")))
	if err != nil {
		t.Fatalf("hostile sender on 127.0.0.2: %v", err)
	}
	h := &hostileSender{conn: c, stop: make(chan struct{})}
	h.wg.Add(2)
	go func() {
		defer h.wg.Done()
		buf := make([]byte, 2048)
		for {
			if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			h.received.Add(1)
		}
	}()
	go func() {
		defer h.wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		pkt := make([]byte, 12+frameSamples)
		// Bounded: at most two minutes of packets, whatever the test does.
		for seq, n := uint16(1), 0; n < 4*24000; seq, n = seq+1, n+1 {
			if n%4 == 0 {
				select {
				case <-h.stop:
					return
				case <-tick.C:
				}
			}
			pkt[0], pkt[1] = 0x80, 0
			binary.BigEndian.PutUint16(pkt[2:], seq)
			binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*frameSamples)
			binary.BigEndian.PutUint32(pkt[8:], 0x0badcafe)
			if srtp {
				_, _ = rand.Read(pkt[12:])
			} else {
				for i := range frameSamples {
					x := 0.4 * 32767 * math.Sin(2*math.Pi*hostileHz*float64(int(seq)*frameSamples+i)/ulawRate)
					pkt[12+i] = linearToULaw(int16(x))
				}
			}
			if _, err := c.WriteToUDPAddrPort(pkt, to); err == nil {
				h.sent.Add(1)
			}
		}
	}()
	t.Cleanup(h.close)
	return h
}

func (h *hostileSender) close() {
	select {
	case <-h.stop:
		return
	default:
	}
	close(h.stop)
	_ = h.conn.Close()
	h.wg.Wait()
}

// TestHostileRTPSender: a third party that sends to the gateway's RTP port
// from before the call is answered and all through it, faster than the
// PBX, neither hears the visitor nor is heard: the call keeps its audio both
// ways, and /metrics counts the refused packets. Plain RTP with sipp echoing
// the visitor's audio, and SDES-SRTP (over SIP over TLS, which SDES needs)
// with a baresip phone that plays a tone and records what it hears.
func TestHostileRTPSender(t *testing.T) {
	t.Run("plain RTP", func(t *testing.T) {
		e := startMediaEnv(t, []string{"raced"}, nil, "", "")
		a := e.sippAgent(t, "raced", "call-answer-slow.xml", true)
		p := e.phone(t, phoneOptions{})
		p.dial("raced", false)
		// The INVITE names the port; the agent's phone rings for 1.5 s,
		// so the hostile stream is there long before the answer.
		h := startHostile(t, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(e.rtpPort(t, "raced"))), false)
		p.expect("alerting", callWait)
		p.expect("connected", callWait)
		p.waitMedia()
		p.waitCount("the visitor's audio echoed by the agent's phone", &p.echoed, 100, 10*time.Second)
		if lvl, hostile := p.toneLevel(440), p.toneLevel(hostileHz); lvl < 0.5 || hostile > 0.1 {
			t.Errorf("the visitor hears %.2f of the energy at its own echoed 440 Hz, %.2f at the hostile %d Hz", lvl, hostile, hostileHz)
		}
		if n := h.received.Load(); n != 0 {
			t.Errorf("the hostile sender received %d packets of the visitor's audio", n)
		}
		if sent := h.sent.Load(); sent < 400 {
			t.Errorf("the hostile sender sent only %d packets; the race was not run", sent)
		}
		if n := e.metric(t, `frontdesk_rtp_rejected_packets_total{reason="source"}`); n < 100 {
			t.Errorf("/metrics counts %v packets refused for their source, want the hostile stream's", n)
		}
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		a.done(t)
		e.noCallsLeft(t)
	})

	t.Run("SDES", func(t *testing.T) {
		e := startMediaEnvOn(t, nil, []testbed.AgentSpec{{Name: "secure", Password: "secure-pw", AnswerCalls: true, SRTP: true, Record: true}},
			"  srtp: sdes\n", "", newSIPPKI(t, "Frontdesk SIP test CA", "127.0.0.1"))
		agent := e.tb.Agent("secure")
		p := e.phone(t, phoneOptions{ToneHz: cbMicHz})
		p.dial("secure", false)
		h := startHostile(t, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(e.rtpPort(t, "secure"))), true)
		m := p.expectAnswer(callWait)
		if sdp, _ := m["sdp"].(string); !strings.Contains(sdp, "PCMU/8000") {
			t.Fatalf("connected without a PCMU answer: %v", m)
		}
		p.waitMedia()
		// The agent's phone plays baresip's 440 Hz sine.
		p.waitCount("the agent's audio", &p.received, 100, 10*time.Second)
		if lvl := p.toneLevel(cbValerieHz); lvl < 0.5 {
			t.Errorf("the visitor hears %.2f of the energy at the agent's 440 Hz", lvl)
		}
		rec := cbNewRecording(t, agent, nil)
		cbWaitRecordingHears(t, agent, rec, cbMicHz)
		if n := h.received.Load(); n != 0 {
			t.Errorf("the hostile sender received %d packets of the visitor's audio", n)
		}
		if n := e.metric(t, `frontdesk_rtp_rejected_packets_total{reason="srtp"}`); n < 100 {
			t.Errorf("/metrics counts %v packets failing SRTP, want the hostile stream's", n)
		}
		if !strings.Contains(callTrace(e, "INVITE sip:secure@"), "RTP/SAVP") {
			t.Error("the gateway's INVITE does not offer SDES-SRTP")
		}
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		e.noCallsLeft(t)
	})
}

// expectAnswer is expect("connected") after any number of alerting states
// (baresip may ring before it answers).
func (p *phone) expectAnswer(timeout time.Duration) map[string]any {
	p.t.Helper()
	for {
		m := p.nextMessage("CallInfo connected", timeout)
		if m["mt"] == "CallInfo" && m["state"] == "alerting" {
			continue
		}
		p.queue = append([]map[string]any{m}, p.queue...)
		return p.expect("connected", timeout)
	}
}

// callTrace is the first outgoing SIP message starting with prefix.
func callTrace(e *callEnv, prefix string) string {
	for _, m := range e.gw.logLines() {
		if text, _ := m["sip"].(string); m["msg"] == "sip trace" && m["dir"] == "out" && strings.HasPrefix(text, prefix) {
			return text
		}
	}
	return ""
}

// TestDTMFFlood: a visitor sending 25 keys at once gets the first ones
// played in the media, one after the other, and a dtmf-queue-full Error for
// the rest; the call goes on and the gateway's goroutines do not pile up.
func TestDTMFFlood(t *testing.T) {
	e := startMediaEnv(t, []string{"keys"}, nil, "", "")
	a := e.sippAgent(t, "keys", "call-answer-te.xml", true)
	p := e.phone(t, phoneOptions{DTMF: true})
	p.dial("keys", false)
	p.expect("connected", callWait)
	p.waitMedia()
	p.waitCount("the visitor's audio echoed", &p.echoed, 25, 10*time.Second)
	before := e.metric(t, "go_goroutines")
	// 25 keys: within the session's message burst (30), beyond what the
	// call queues (one playing, 16 waiting).
	const keys = 25
	for i := range keys {
		p.sendJSON(map[string]any{"mt": "Dtmf", "digit": string("0123456789*#"[i%12])})
	}
	// The gateway answers the keys it cannot queue, in order, before it
	// answers a Ping sent after them.
	p.sendJSON(map[string]any{"mt": "Ping"})
	refused := 0
	for done := false; !done; {
		m := p.nextWidgetMessage("Pong after the keys", callWait)
		switch {
		case m["mt"] == "Pong":
			done = true
		case m["mt"] == "Error" && m["code"] == "dtmf-queue-full":
			refused++
		case m["mt"] == "Error" || m["mt"] == "CallInfo":
			t.Fatalf("got %v while sending keys", m)
		}
	}
	// One key plays, 16 wait: the rest of the burst is refused (a key may
	// finish while the burst is read).
	if refused < keys-17-2 || refused > keys-17 {
		t.Errorf("%d keys refused of %d, want about %d", refused, keys, keys-17)
	}
	t.Logf("%d of %d keys refused", refused, keys)
	if now := e.metric(t, "go_goroutines"); now-before > 10 {
		t.Errorf("the gateway's goroutines went from %v to %v with %d keys waiting", before, now, keys-refused)
	}
	// The accepted keys play (sipp echoes them back as telephone-event),
	// and the visitor's audio still flows.
	p.waitCount("the keys echoed as telephone-event", &p.foreign, int64(keys-refused-2)*8, 20*time.Second)
	echoed := p.echoed.Load()
	p.waitCount("audio after the keys", &p.echoed, echoed+25, 10*time.Second)
	p.hangUp()
	p.expectEnd("ended-by-visitor", callWait)
	a.done(t)
	e.noCallsLeft(t)
}

// cpuSeconds is the user+system CPU time of process pid so far, from
// /proc/<pid>/stat (utime and stime, in clock ticks of 1/100 s on Linux).
func cpuSeconds(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the gateway's CPU time: %w", err)
	}
	// The command name may hold spaces; the fields after it do not.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %q", pid, s)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat: %q", pid, s)
	}
	return (utime + stime) / 100, nil
}

// cpuWindow is the gateway's CPU time over a window of wall time, and the
// calls it counted at the window's end.
type cpuWindow struct {
	cpu, seconds float64
	calls        float64
	err          error
}

// measureCPU samples the gateway's CPU time now and after d, on its own
// goroutine, so what the test does meanwhile cannot stretch the window.
func measureCPU(g *gatewayProc, d time.Duration) <-chan cpuWindow {
	out := make(chan cpuWindow, 1)
	pid := g.cmd.Process.Pid
	start := time.Now()
	cpu0, err := cpuSeconds(pid)
	go func() {
		if err != nil {
			out <- cpuWindow{err: err}
			return
		}
		time.Sleep(d) // the measurement window itself
		cpu1, err := cpuSeconds(pid)
		w := cpuWindow{cpu: cpu1 - cpu0, seconds: time.Since(start).Seconds(), err: err}
		if resp, err := http.Get(g.adminURL + "/metrics"); err != nil {
			w.err = err
		} else {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
			resp.Body.Close()
			var ok bool
			if w.calls, ok = metricSample(string(body), "frontdesk_calls"); !ok {
				w.err = fmt.Errorf("/metrics (%s) has no frontdesk_calls", resp.Status)
			}
		}
		out <- w
	}()
	return out
}

// byes counts the distinct calls the gateway's trace shows a BYE for to
// sip:user@....
func (e *callEnv) byes(user string) int {
	ids := map[string]bool{}
	for _, m := range e.gw.logLines() {
		text, _ := m["sip"].(string)
		if m["msg"] == "sip trace" && m["dir"] == "out" && strings.HasPrefix(text, "BYE sip:"+user+"@") {
			ids[callIDOf(text)] = true
		}
	}
	return len(ids)
}

// TestMassHangupBYENeverAnswered: 100 visitors hang up at once, toward an
// agent's phone that never answers the BYE, so every SIP leg waits out its
// request timeout. Meanwhile the gateway stays idle (CPU far below one core:
// a spinning call costs about one) and a new call sets up and carries audio.
func TestMassHangupBYENeverAnswered(t *testing.T) {
	const calls = 100
	// While the BYEs wait (the gateway gives up after 10 s, Kamailio after
	// its 10 s fr_timer), the CPU is measured over window.
	const window = 5 * time.Second
	e := startMediaEnv(t, []string{"mass", "fresh"}, nil,
		"  rtp_timeout: 120s\n  max_calls: 300\n  max_calls_per_agent: 300\n", "  max_sessions_per_ip: 300\n")
	mass := e.sippAgentRun(t, "mass", "call-bye-unanswered.xml", false, sippRun{calls: calls, timeout: 4 * time.Minute})
	fresh := e.sippAgent(t, "fresh", "call-answer.xml", true)

	phones := make([]*phone, calls)
	for i := range phones {
		phones[i] = e.phone(t, phoneOptions{})
		phones[i].dial("mass", false)
	}
	for _, p := range phones {
		p.expect("connected", 60*time.Second)
		p.waitMedia()
	}
	if n := e.metric(t, "frontdesk_calls"); n != calls {
		t.Fatalf("frontdesk_calls = %v, want %d", n, calls)
	}

	// All hang up at once; the media ends, the BYEs go unanswered. The
	// visitors' own media stops too, so only the gateway's waiting is left.
	for _, p := range phones {
		p.hangUp()
	}
	deadline := time.Now().Add(callWait)
	var firstBYE time.Time
	for n := e.byes("mass"); n < calls; n = e.byes("mass") {
		if n > 0 && firstBYE.IsZero() {
			firstBYE = time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("BYEs sent for %d of %d calls within %v", n, calls, callWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Only once every hangup was taken (its BYE is out): a browser closing
	// its media first would end the call as media-failed instead.
	for _, p := range phones {
		p.close()
	}
	if firstBYE.IsZero() {
		firstBYE = time.Now()
	}
	// The window must end before the first legs give up (10 s after their
	// BYE): on a loaded machine the last BYE can go out seconds after the
	// first.
	w0 := min(window, time.Until(firstBYE.Add(9*time.Second)))
	if w0 < 2*time.Second {
		t.Fatalf("the BYEs took %v to go out: no time left to measure while they wait", time.Since(firstBYE))
	}
	start, measured := time.Now(), measureCPU(e.gw, w0)

	// A new call during the window sets up and carries audio both ways.
	q := e.phone(t, phoneOptions{})
	q.dial("fresh", false)
	q.expect("connected", callWait)
	q.waitMedia()
	q.waitCount("audio of the new call echoed", &q.echoed, 25, callWait)
	settled := time.Since(start)

	w := <-measured
	if w.err != nil {
		t.Fatal(w.err)
	}
	load := w.cpu / w.seconds
	t.Logf("gateway CPU while %d BYEs waited: %.2f s in %.2f s (%.3f CPU-seconds per second); the new call carried audio after %.1f s",
		calls, w.cpu, w.seconds, load, settled.Seconds())
	if w.calls < calls*9/10 {
		t.Fatalf("only %v calls counted at the end of the window: the BYEs did not wait the whole window", w.calls)
	}
	if load > 0.3 {
		t.Errorf("the gateway used %.2f CPU-seconds per second while ended calls waited for their BYE's answer (a spinning loop costs about one core per call)", load)
	}
	if settled > w0 {
		t.Errorf("the new call carried audio only after %.1f s, beyond the %v window", settled.Seconds(), w0)
	}

	// Every visitor hears the end once the legs gave up; the new call
	// goes on until its visitor hangs up.
	for _, p := range phones {
		p.expectEnd("ended-by-visitor", 30*time.Second)
	}
	before := q.echoed.Load()
	q.waitCount("the new call's audio after the mass hang-up", &q.echoed, before+25, 5*time.Second)
	q.hangUp()
	q.expectEnd("ended-by-visitor", callWait)
	fresh.done(t)
	e.noCallsLeft(t)
	mass.done(t) // it saw INVITE, ACK and BYE of every call
}
