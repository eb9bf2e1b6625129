//go:build integration

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// The TURN test's network: the gateway, the test PBX and coturn share one
// namespace ("srv"); the visitor is in another ("vis"), joined to it by a
// veth link, behind a firewall that lets out only the gateway's web port
// and the TURN server's.
const (
	turnSrvIP     = "10.99.0.1"
	turnVisitorIP = "10.99.0.2"
	turnWebPort   = "8080"
	turnPort      = "3478"
	turnSecret    = "turn-e2e-secret"
	turnAgentHz   = 440  // baresip's built-in sine
	turnVisitorHz = 1000 // the visitor's microphone
)

// TestVisitorThroughTURN: a visitor whose network lets out nothing but the
// gateway's web port and the TURN server (coturn with use-auth-secret)
// calls an agent with the short-lived credentials the gateway handed out
// in IceConfig. The call's media takes the relay, audio crosses both ways
// (the visitor hears the agent's 440 Hz, the agent's phone records the
// visitor's 1000 Hz), and the firewall dropped the direct attempts. The
// gateway, at its default candidate policy (no calls.candidate_networks),
// never sent a packet to the visitor's private address: the relay needs
// no exception.
func TestVisitorThroughTURN(t *testing.T) {
	requireNetns(t, "turnserver", "kamailio", "baresip")
	ctx := ctxT(t, 3*time.Minute)
	n, ns := newNetwork(t, ctx, "srv", "vis")
	if err := n.Link(ctx, testbed.End{Netns: ns["srv"], Dev: "eth0", Addr: turnSrvIP + "/24"},
		testbed.End{Netns: ns["vis"], Dev: "eth0", Addr: turnVisitorIP + "/24"}); err != nil {
		t.Fatal(err)
	}
	netExec(t, ctx, n, ns["vis"],
		"iptables -A OUTPUT -o lo -j ACCEPT",
		"iptables -A OUTPUT -p tcp -d "+turnSrvIP+" --dport "+turnWebPort+" -j ACCEPT",
		"iptables -A OUTPUT -p udp -d "+turnSrvIP+" --dport "+turnPort+" -j ACCEPT",
		"iptables -A OUTPUT -j DROP",
		// Counts what the gateway sends the visitor directly (not relayed).
		"iptables -A INPUT -p udp -s "+turnSrvIP+" ! --sport "+turnPort+" -j ACCEPT",
	)
	runInside(t, ns["srv"], "turn-gateway", map[string]string{"FD_E2E_VISITOR_NETNS": ns["vis"]}, 2*time.Minute)

	// The visitor tried the direct way too (ICE checks toward the
	// gateway's host candidate), and the firewall dropped it.
	rules, err := n.Output(ctx, ns["vis"], "iptables", "-L", "OUTPUT", "-v", "-x", "-n")
	if err != nil {
		t.Fatal(err)
	}
	if dropped := rulePackets(t, rules, "DROP"); dropped == 0 {
		t.Errorf("the visitor's firewall dropped nothing: the direct path was never tried\n%s", rules)
	} else {
		t.Logf("the visitor's firewall dropped %d packets of direct attempts", dropped)
	}
	rules, err = n.Output(ctx, ns["vis"], "iptables", "-L", "INPUT", "-v", "-x", "-n")
	if err != nil {
		t.Fatal(err)
	}
	if direct := rulePackets(t, rules, "ACCEPT"); direct != 0 {
		t.Errorf("the gateway sent %d packets to the visitor's private address, which its candidate policy refuses\n%s", direct, rules)
	}
}

// rulePackets reads the packet count of the last rule with target in
// `iptables -L -v -x -n` output.
func rulePackets(t *testing.T, rules, target string) int {
	t.Helper()
	n := -1
	for _, l := range strings.Split(rules, "\n") {
		f := strings.Fields(l)
		if len(f) > 2 && f[2] == target {
			v, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("iptables counter %q: %v", f[0], err)
			}
			n = v
		}
	}
	if n < 0 {
		t.Fatalf("no %s rule in\n%s", target, rules)
	}
	return n
}

// turnGatewaySide runs in "srv": the test PBX on loopback, coturn and the
// gateway on the link to the visitor; then the visitor in its namespace.
func turnGatewaySide(t *testing.T) {
	ctx := ctxT(t, 110*time.Second)
	visNS := insideParam(t, "FD_E2E_VISITOR_NETNS")
	bed, err := testbed.Start(ctx, testbed.Options{
		Dir:    t.TempDir(),
		Users:  []testbed.User{{Name: "frontdesk", Password: gwPassword}},
		Agents: []testbed.AgentSpec{{Name: "alice", Password: "alice-pw", AnswerCalls: true, Record: true}},
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = bed.Close() })
	port, _ := strconv.Atoi(turnPort)
	turn, err := testbed.StartTURN(ctx, testbed.TURNOptions{Dir: t.TempDir(), IP: turnSrvIP, Port: port, Secret: turnSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("coturn log:\n%s", cbFileTail(turn.LogPath(), 40))
		}
		_ = turn.Close()
	})

	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	t.Setenv("FD_E2E_TURN_SECRET", turnSecret)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, fmt.Sprintf(`sip:
  registrar: %s
  domain: frontdesk.test
  username: frontdesk
  password_env: FD_E2E_PASSWORD
  listen: 127.0.0.1:0
  trusted_sources: [127.0.0.1]
calls:
  webrtc_ips: [%s] # the link toward the visitor
ice:
  turn:
    - urls: [%q]
      secret_env: FD_E2E_TURN_SECRET
      ttl: 10m
%shttp:
  listen: %s:%s
  allowed_origins: [%q]
widgets:
  - id: %s
    type: cards
    agents: [{id: alice, sip: alice, name: Alice}]
`, bed.Addr(), turnSrvIP, turn.URL(), loopbackLimits, turnSrvIP, turnWebPort, e2eOrigin, e2eWidget))
	gw := startGateway(t, cfgPath)
	gw.waitHealth("registered, alice watched", 20*time.Second, func(code int, h map[string]any) bool {
		s := h["sip"].(map[string]any)
		return code == 200 && s["active"] == 2.0
	})

	alice := bed.Agent("alice")
	before := cbRecordings(t, alice)
	runInside(t, visNS, "turn-visitor", map[string]string{
		"FD_E2E_WS":        "ws://" + turnSrvIP + ":" + turnWebPort + "/ws",
		"FD_E2E_IP":        turnVisitorIP,
		"FD_E2E_RECORDING": alice.RecordDir(),
	}, 80*time.Second)

	rec := cbNewRecording(t, alice, before)
	cbCheckRecording(t, alice, rec, turnVisitorHz)
	if n, err := turn.Allocations(":"); err != nil || n == 0 {
		t.Errorf("coturn allocated %d relays with minted credentials (%v), want at least one", n, err)
	}
	body := gw.metrics(t)
	if !regexp.MustCompile(`(?m)^frontdesk_calls 0$`).MatchString(body) {
		t.Errorf("a call is still counted after the visitor hung up")
	}
}

// turnVisitorSide runs in "vis": the visitor's phone takes the TURN
// server from IceConfig, calls alice, and checks the media took the relay
// and audio crosses both ways.
func turnVisitorSide(t *testing.T) {
	conn, _, err := (&websocket.Dialer{HandshakeTimeout: 10 * time.Second}).Dial(insideParam(t, "FD_E2E_WS"), map[string][]string{"Origin": {e2eOrigin}})
	if err != nil {
		t.Fatalf("open the widget session: %v", err)
	}
	v := newVisitor(t, conn)
	v.start(e2eWidget)
	servers := iceServersOf(t, v.iceConfig)
	if len(servers) != 1 || !slices.Contains(servers[0].URLs, "turn:"+turnSrvIP+":"+turnPort+"?transport=udp") {
		t.Fatalf("IceConfig TURN servers %+v", servers)
	}
	user := servers[0].Username
	if expiry, _, ok := strings.Cut(user, ":"); !ok || !regexp.MustCompile(`^\d+$`).MatchString(expiry) {
		t.Fatalf("TURN username %q is not <expiry>:<label>", user)
	}
	t.Logf("TURN credentials minted for this session: %s", user)

	p := newPhone(t, v, phoneOptions{ToneHz: turnVisitorHz, IP: insideParam(t, "FD_E2E_IP"), ICEServers: servers})
	p.dial("alice", false)
	p.expectAnswered()
	p.waitMedia()
	pair, err := p.pc.GetSenders()[0].Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected candidate pair: %v", err)
	}
	if pair.Local.Typ != webrtc.ICECandidateTypeRelay {
		t.Fatalf("media takes %s, want the TURN relay", pair)
	}
	t.Logf("media takes %s", pair)
	waitTone(t, p, turnAgentHz)
	// The agent's phone records what it hears; wait until it has heard
	// the visitor for two seconds before hanging up.
	recDir := insideParam(t, "FD_E2E_RECORDING")
	deadline := time.Now().Add(callWait)
	for {
		if rec := newestRecording(recDir); rec != "" {
			if rep, err := cbAnalyseWAV(rec); err == nil {
				if match, _ := rep.matching(turnVisitorHz); match >= 4 {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent does not hear %d Hz within %v", turnVisitorHz, callWait)
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.hangUp()
	p.expect("terminated", callWait)
}

// expectAnswered waits for CallInfo connected; alerting may come first
// or not (an agent answering at once may not ring first).
func (p *phone) expectAnswered() map[string]any {
	p.t.Helper()
	deadline := time.Now().Add(callWait)
	for !p.pending("alerting") && !p.pending("connected") {
		if time.Now().After(deadline) {
			p.t.Fatalf("call neither alerting nor connected within %v", callWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p.pending("alerting") {
		p.expect("alerting", callWait)
	}
	return p.expect("connected", callWait)
}

// waitTone waits (bounded) until the phone hears hz.
func waitTone(t *testing.T, p *phone, hz float64) {
	t.Helper()
	deadline := time.Now().Add(callWait)
	for p.toneLevel(hz) < 0.5 {
		if time.Now().After(deadline) {
			t.Fatalf("the visitor does not hear %v Hz within %v (level %.2f, %d packets)", hz, callWait, p.toneLevel(hz), p.received.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the visitor hears %v Hz (level %.2f)", hz, p.toneLevel(hz))
}

// newestRecording is the newest received-audio WAV in dir ("" when none).
func newestRecording(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	newest, at := "", time.Time{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !strings.HasSuffix(e.Name(), "-dec.wav") {
			continue
		}
		if info.ModTime().After(at) {
			newest, at = filepath.Join(dir, e.Name()), info.ModTime()
		}
	}
	return newest
}

// iceServersOf reads an IceConfig's iceServers.
func iceServersOf(t *testing.T, m map[string]any) []webrtc.ICEServer {
	t.Helper()
	list, _ := m["iceServers"].([]any)
	var out []webrtc.ICEServer
	for _, item := range list {
		s, _ := item.(map[string]any)
		var server webrtc.ICEServer
		urls, _ := s["urls"].([]any)
		for _, u := range urls {
			server.URLs = append(server.URLs, fmt.Sprint(u))
		}
		server.Username, _ = s["username"].(string)
		server.Credential, _ = s["credential"].(string)
		out = append(out, server)
	}
	return out
}
