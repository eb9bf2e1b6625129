package sip

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
)

const udpChatWarning = "sip chat replies arrive over UDP"

// agentMessage is an agent's chat reply to the UA at u.
func agentMessage(u *UA) *sip.Request {
	req := sip.NewRequest(sip.MESSAGE, uaURI(u))
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "101", Host: "example.test"}, Params: sip.NewParams()}
	from.Params.Add("tag", "agent")
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "frontdesk", Host: "example.test"}, Params: sip.NewParams()})
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
	req.SetBody([]byte("your code is 1234"))
	return req
}

// Over UDP chat works and the UA warns at start that sources can be
// forged; set to TCP it takes the agent's MESSAGE over TCP, says so in
// IncomingMessage, does not warn, and takes no UDP at all: a forged UDP
// datagram from the PBX's own address reaches nothing.
func TestMessageTransports(t *testing.T) {
	for _, tc := range []struct {
		network, want string
	}{
		{network: "udp", want: "UDP"},
		{network: "tcp", want: "TCP"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			f := newFakePBXOn(t, "127.0.0.1", tc.network)
			h := newMsgRecorder(200)
			var logs syncBuffer
			u, _ := startUA(t, f, h, func(c *config.SIP) { c.Transport = tc.network },
				Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			waitFor(t, h.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
			if got := f.send(agentMessage(u)); got != 200 {
				t.Fatalf("agent MESSAGE over %s answered %d", tc.network, got)
			}
			m := waitFor(t, h.msgs, "message", func(IncomingMessage) bool { return true })
			if m.Transport != tc.want || m.From != "sip:101@example.test" {
				t.Errorf("IncomingMessage over %s: Transport %q From %q", tc.network, m.Transport, m.From)
			}
			warned := strings.Contains(logs.String(), udpChatWarning)
			if warned != (tc.network == "udp") {
				t.Errorf("over %s the UDP chat warning was logged: %v", tc.network, warned)
			}
			if tc.network != "tcp" {
				return
			}
			forged := agentMessage(u)
			forged.SetTransport("UDP")
			raddr, _ := net.ResolveUDPAddr("udp", u.LocalAddr())
			c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.1")}, raddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte(forged.String())); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if n, err := c.Read(make([]byte, 2048)); err == nil {
				t.Errorf("a UDP MESSAGE to a TCP gateway was answered (%d bytes)", n)
			}
			select {
			case m := <-h.msgs:
				t.Errorf("a UDP MESSAGE reached the handler of a TCP gateway: %+v", m)
			default:
			}
		})
	}
}

// Whatever sipgo might hand over, a MESSAGE that came over UDP is refused
// with 403 while the gateway is set to TCP or TLS.
func TestMessageOverUDPRefusedWhenTCP(t *testing.T) {
	for _, tc := range []struct {
		configured, arrived string
		want                int
	}{
		{configured: "tcp", arrived: "UDP", want: 403},
		{configured: "tls", arrived: "UDP", want: 403},
		{configured: "tcp", arrived: "TCP", want: 0},
		{configured: "tls", arrived: "TLS", want: 0},
		{configured: "udp", arrived: "UDP", want: 0},
	} {
		u, err := New(config.SIP{Registrar: "127.0.0.1:5060", Username: "frontdesk", Listen: "127.0.0.1:0", Transport: tc.configured},
			newMsgRecorder(200), Options{Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: "frontdesk", Host: "127.0.0.1"})
		req.SetTransport(tc.arrived)
		if code, _ := u.transportRefusal(req); code != tc.want {
			t.Errorf("configured %s, MESSAGE over %s: %d, want %d", tc.configured, tc.arrived, code, tc.want)
		}
	}
}
