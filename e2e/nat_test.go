//go:build integration

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// The NAT test's network: the gateway ("gw") has only a private address
// and reaches the rest through a router ("nat") that maps the public
// address natPublicIP one to one onto it (DNAT in, SNAT out). The PBX and
// the visitor are on the public side ("pub"), which has no route to the
// private network: they reach the gateway only at its public address.
const (
	natPublicSideIP = "10.99.2.2"  // the PBX and the visitor
	natRouterPubIP  = "10.99.2.1"  // the router, public side
	natPublicIP     = "10.99.2.10" // the gateway's public address, on the router
	natRouterPrivIP = "10.99.1.1"  // the router, private side
	natGatewayIP    = "10.99.1.2"  // the gateway's own (private) address
	natAgentHz      = 440          // baresip's built-in sine
	natVisitorHz    = 1000
)

// TestGatewayBehindNAT: the gateway behind a 1:1 NAT, with calls.public_ip
// and sip.public_address set to its public address, registers to a PBX on
// the other side, and a visitor there calls an agent: audio crosses both
// ways on both legs (browser and PBX), and neither the browser nor the PBX
// is ever told the private address.
func TestGatewayBehindNAT(t *testing.T) {
	requireNetns(t, "kamailio", "baresip")
	ctx := ctxT(t, 3*time.Minute)
	n, ns := newNetwork(t, ctx, "pub", "nat", "gw")
	for _, l := range [][2]testbed.End{
		{{Netns: ns["pub"], Dev: "eth0", Addr: natPublicSideIP + "/24"}, {Netns: ns["nat"], Dev: "pub0", Addr: natRouterPubIP + "/24"}},
		{{Netns: ns["nat"], Dev: "priv0", Addr: natRouterPrivIP + "/24"}, {Netns: ns["gw"], Dev: "eth0", Addr: natGatewayIP + "/24"}},
	} {
		if err := n.Link(ctx, l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	netExec(t, ctx, n, ns["gw"], "ip route add default via "+natRouterPrivIP)
	if err := n.Exec(ctx, ns["nat"], "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"); err != nil {
		t.Fatal(err)
	}
	netExec(t, ctx, n, ns["nat"],
		"ip addr add "+natPublicIP+"/24 dev pub0",
		// One to one: everything for the public address goes to the
		// gateway, everything from the gateway leaves from the public
		// address, and nothing reaches the private side unmapped.
		"iptables -t nat -A PREROUTING -i pub0 -d "+natPublicIP+" -j DNAT --to-destination "+natGatewayIP,
		"iptables -t nat -A POSTROUTING -o pub0 -s "+natGatewayIP+" -j SNAT --to-source "+natPublicIP,
		"iptables -A FORWARD -i pub0 -o priv0 -m conntrack --ctstate ESTABLISHED,RELATED,DNAT -j ACCEPT",
		"iptables -A FORWARD -i pub0 -o priv0 -j DROP",
	)
	runInside(t, ns["pub"], "nat-public", map[string]string{"FD_E2E_GATEWAY_NETNS": ns["gw"]}, 2*time.Minute)
}

// natPublicSide runs in "pub": the test PBX and the visitor; the gateway
// is started in its own namespace behind the NAT.
func natPublicSide(t *testing.T) {
	ctx := ctxT(t, 110*time.Second)
	bed, err := testbed.Start(ctx, testbed.Options{
		Dir:    t.TempDir(),
		Host:   natPublicSideIP,
		Users:  []testbed.User{{Name: "frontdesk", Password: gwPassword}},
		Agents: []testbed.AgentSpec{{Name: "alice", Password: "alice-pw", AnswerCalls: true, Record: true}},
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	alice := bed.Agent("alice")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- tail of %s ---\n%s", alice.LogPath(), cbFileTail(alice.LogPath(), 80))
		}
		_ = bed.Close()
	})

	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, fmt.Sprintf(`sip:
  registrar: %s
  domain: frontdesk.test
  username: frontdesk
  password_env: FD_E2E_PASSWORD
  listen: %[2]s:5060
  public_address: %[3]s:5060 # the PBX reaches the gateway here
  trusted_sources: [%[4]s]
calls:
  public_ip: %[3]s
  webrtc_ips: [%[2]s]
%[5]shttp:
  listen: %[2]s:8080
  allowed_origins: [%[6]q]
admin:
  listen: %[2]s:9480 # reached through the NAT by this test only
widgets:
  - id: %[7]s
    type: cards
    agents: [{id: alice, sip: alice, name: Alice}]
`, bed.Addr(), natGatewayIP, natPublicIP, natPublicSideIP, loopbackLimits, e2eOrigin, e2eWidget))
	gw := runGateway(t, testbed.Command(insideParam(t, "FD_E2E_GATEWAY_NETNS"), frontdeskBin, serveArgs(cfgPath)...))
	// From here the gateway is reached at its public address only.
	gw.httpURL = "http://" + natPublicIP + ":8080"
	gw.adminURL = "http://" + natPublicIP + ":9480"
	gw.waitHealth("registered through the NAT, alice watched", 20*time.Second, func(code int, h map[string]any) bool {
		s := h["sip"].(map[string]any)
		return code == 200 && s["active"] == 2.0
	})

	conn, _, err := (&websocket.Dialer{HandshakeTimeout: 10 * time.Second}).Dial("ws://"+natPublicIP+":8080/ws", map[string][]string{"Origin": {e2eOrigin}})
	if err != nil {
		t.Fatalf("open the widget session: %v", err)
	}
	v := newVisitor(t, conn)
	v.start(e2eWidget)
	before := cbRecordings(t, alice)
	p := newPhone(t, v, phoneOptions{ToneHz: natVisitorHz, IP: natPublicSideIP})
	p.dial("alice", false)
	answer := p.expectAnswered()
	sdp, _ := answer["sdp"].(string)
	if !strings.Contains(sdp, " "+natPublicIP+" ") || strings.Contains(sdp, natGatewayIP) {
		t.Errorf("the browser's answer must name the public address only:\n%s", sdp)
	}
	p.waitMedia()
	waitTone(t, p, natAgentHz)
	rec := cbNewRecording(t, alice, before)
	cbWaitRecordingHears(t, alice, rec, natVisitorHz)
	p.hangUp()
	p.expect("terminated", callWait)
	cbCheckRecording(t, alice, rec, natVisitorHz)

	// The PBX leg: the INVITE's SDP named the public address, never the
	// private one (the agent's SIP trace shows what it received).
	trace, err := os.ReadFile(alice.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(trace), "c=IN IP4 "+natPublicIP) {
		t.Errorf("the agent was not offered media at the public address %s", natPublicIP)
	}
	if strings.Contains(string(trace), natGatewayIP) {
		t.Errorf("the agent's SIP trace shows the private address %s", natGatewayIP)
	}
}
