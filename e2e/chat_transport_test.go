//go:build integration

package e2e

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// sipListenAddr reads the gateway's SIP listen address from its log.
func (g *gatewayProc) sipListenAddr(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range g.logLines() {
			if l["msg"] == "sip listening" {
				return l["addr"].(string)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("gateway did not log its SIP listen address")
	return ""
}

func (g *gatewayProc) logged(msg string) bool {
	for _, l := range g.logLines() {
		if m, _ := l["msg"].(string); strings.Contains(m, msg) {
			return true
		}
	}
	return false
}

// forgedReply is a MESSAGE claiming to be alice's chat reply.
func forgedReply(sipAddr string) []byte {
	return []byte(fmt.Sprintf("MESSAGE sip:frontdesk@%[1]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-forged-1;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:alice@frontdesk.test>;tag=forged\r\n"+
		"To: <sip:frontdesk@frontdesk.test>\r\n"+
		"Call-ID: forged-1@127.0.0.1\r\n"+
		"CSeq: 1 MESSAGE\r\n"+
		"Content-Type: text/plain\r\n"+
		"Content-Length: 31\r\n\r\n"+
		"Your reset code is: forged-1234", sipAddr))
}

// sendForged sends the forgery over UDP from 127.0.0.1, the PBX's own
// (trusted) address, as a retransmitting client would, and returns the
// answer's status line ("" when none came within a second).
func sendForged(t *testing.T, sipAddr string) string {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", sipAddr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.1")}, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		if _, err := c.Write(forgedReply(sipAddr)); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatal(err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return line
}

// openChat opens a chat of a new visitor with alice and sends one line.
func openChat(t *testing.T, gw *gatewayProc, tb *testbed.Testbed, text string) *visitor {
	t.Helper()
	v := gw.visit(e2eOrigin)
	if _, infos := v.start(chatWidget); infos["alice"]["presence"] != "online" {
		v.waitFor("alice online", updateLimit, infoOf("alice", "online"))
	}
	v.send(`{"mt":"ChatOpen","dest":"alice","dn":"Vera"}`)
	v.waitFor("chat opened", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatOpened" })
	v.send(`{"mt":"ChatSend","id":"c1","text":"` + text + `"}`)
	waitAgentMessage(t, tb.Agent("alice"), text)
	return v
}

// TestForgedUDPReplyRefusedOverTCP: with sip.transport tcp, a MESSAGE sent
// over UDP from the PBX's own address with the chat agent's From (what an
// off-path sender can forge) never reaches the visitor; the agent's real
// reply, which the PBX delivers over TCP, does. Over UDP the same forgery
// lands in the chat, which is why the gateway warns at start there.
func TestForgedUDPReplyRefusedOverTCP(t *testing.T) {
	if err := testbed.CheckBinaries(true); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	ctx := ctxT(t, 3*time.Minute)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir:    t.TempDir(),
		Users:  []testbed.User{{Name: "frontdesk", Password: gwPassword}},
		Agents: []testbed.AgentSpec{{Name: "alice", Password: "alice-pw", Presence: "online"}},
		Log:    log,
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	config := func(transport string) string {
		return strings.Replace(chatConfig(tb.Addr()), "  listen: 127.0.0.1:0\n  trusted", "  transport: "+transport+"\n  listen: 127.0.0.1:0\n  trusted", 1)
	}

	t.Run("udp warns", func(t *testing.T) {
		cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
		writeConfig(t, cfgPath, config("udp"))
		gw := startGateway(t, cfgPath)
		sipAddr := gw.sipListenAddr(t)
		if !gw.logged("sip chat replies arrive over UDP") {
			t.Error("no warning at start that chat replies over UDP can be forged")
		}
		gw.waitHealth("registered over UDP", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })
		v := openChat(t, gw, tb, "Hello over UDP")
		if line := sendForged(t, sipAddr); !strings.Contains(line, " 200 ") {
			t.Errorf("over UDP the forgery was answered %q; the test's forgery should work there", line)
		}
		v.waitFor("the forgery (what transport tcp prevents)", updateLimit, func(m map[string]any) bool {
			text, _ := m["text"].(string)
			return m["mt"] == "ChatMessage" && strings.Contains(text, "forged")
		})
		gw.stop(syscall.SIGTERM)
	})

	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, config("tcp"))
	gw := startGateway(t, cfgPath)
	gw.waitHealth("registered over TCP", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })
	sipAddr := gw.sipListenAddr(t)
	if gw.logged("sip chat replies arrive over UDP") {
		t.Error("the UDP chat warning was logged with transport tcp")
	}

	vera := openChat(t, gw, tb, "What is my reset code")
	if line := sendForged(t, sipAddr); line != "" {
		t.Errorf("the TCP gateway answered a UDP MESSAGE: %q", line)
	}

	// The real reply comes through the PBX over TCP and is the only one shown.
	if code, err := tb.SendMessageAs(ctx, "alice", "alice-pw", "frontdesk", "text/plain", []byte("Your code is 5678")); err != nil || code != 200 {
		t.Fatalf("agent's reply through the PBX: %d, %v", code, err)
	}
	m, _ := vera.waitFor("the agent's real reply", updateLimit, func(m map[string]any) bool {
		if text, _ := m["text"].(string); strings.Contains(text, "forged") {
			t.Fatalf("the forged UDP reply reached the visitor: %v", m)
		}
		return m["mt"] == "ChatMessage"
	})
	if m["text"] != "Your code is 5678" {
		t.Errorf("visitor got %v", m)
	}
	vera.quiet("forged reply", time.Second, func(m map[string]any) bool {
		text, _ := m["text"].(string)
		return strings.Contains(text, "forged")
	})
}
