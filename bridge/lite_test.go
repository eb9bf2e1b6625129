package bridge

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// TestLiteStack runs the call tests on calls.webrtc_stack lite: a pion
// browser against the gateway's ICE-lite shared socket, with the same PBX
// side, latching, SDES, DTMF, hold, re-INVITE and timeouts.
func TestLiteStack(t *testing.T) {
	t.Setenv("FRONTDESK_TEST_WEBRTC_STACK", "lite")
	for _, tc := range []struct {
		name string
		test func(*testing.T)
	}{
		{"AudioBothWaysWithPTMapping", TestAudioBothWaysWithPTMapping},
		{"SendDTMF", TestSendDTMF},
		{"SendDTMFWithoutTelephoneEvent", TestSendDTMFWithoutTelephoneEvent},
		{"SDESRoundTrip", TestSDESRoundTrip},
		{"LatchingAndReinvite", TestLatchingAndReinvite},
		{"AnswerAfterEarlyMedia", TestAnswerAfterEarlyMedia},
		{"HoldPausesTimeout", TestHoldPausesTimeout},
		{"NoCommonCodec", TestNoCommonCodec},
		{"VideoAllowedOrNot", TestVideoAllowedOrNot},
		{"HostileSenderPlainRTP", TestHostileSenderPlainRTP},
		{"HostileSenderSDES", TestHostileSenderSDES},
		{"RTCPLatch", TestRTCPLatch},
		{"EndedCallDoesNotSpin", TestEndedCallDoesNotSpin},
		{"DTMFQueueInMedia", TestDTMFQueueInMedia},
		{"PortsQuarantined", TestPortsQuarantined},
		{"DTMFQueueBounded", TestDTMFQueueBounded},
	} {
		t.Run(tc.name, tc.test)
	}
}

// TestLiteAnswerAnnouncesPublicIP: behind a 1:1 NAT the lite answer's one
// candidate names calls.public_ip with the shared socket's port, and a
// browser offer's other m-lines are rejected with their mid.
func TestLiteAnswerAnnouncesPublicIP(t *testing.T) {
	e := testEngine(t, engineCfg{lite: true, publicIP: "203.0.113.10"})
	b := newBrowser(t, true)
	c, err := e.NewCall(b.offer(), CallOptions{ID: "nat"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := newPBX(t)
	ans, err := c.SIPAnswer(pbxAnswer(p.port(), "sendrecv", "0 PCMU/8000"), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a=candidate:1 1 udp 2130706431 203.0.113.10 41000 typ host", "a=ice-lite",
		"m=video 0 UDP/TLS/RTP/SAVPF", "a=group:BUNDLE 0\r\n"} {
		if !strings.Contains(ans, want) {
			t.Errorf("answer lacks %q:\n%s", want, ans)
		}
	}
	if strings.Contains(ans, "127.0.0.1 41000") {
		t.Errorf("answer announces the local address:\n%s", ans)
	}
}

// TestLiteCallTimersInPoller: on a lite call the engine's PBX poller runs
// the call's timers. Its RTCP reports reach the PBX's RTCP port at the
// configured interval, and the call holds no report goroutine of its own;
// the RTP timeout still ends a call whose PBX went quiet.
func TestLiteCallTimersInPoller(t *testing.T) {
	e := testEngine(t, engineCfg{lite: true, rtcpEvery: 50 * time.Millisecond})
	if e.poller == nil {
		t.Skip("no PBX poller on this system")
	}
	rtcpSock, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer rtcpSock.Close()
	rtcpPort := rtcpSock.LocalAddr().(*net.UDPAddr).Port
	es := establish(t, e, CallOptions{ID: "timers", RTPTimeout: 400 * time.Millisecond}, func(port int) []byte {
		return []byte(strings.Replace(string(pbxAnswer(port, "sendrecv", "0 PCMU/8000")),
			fmt.Sprintf("a=rtcp:%d", port+1), fmt.Sprintf("a=rtcp:%d", rtcpPort), 1))
	})
	if es.call.polled == nil {
		t.Fatal("the lite call is not in the PBX poller")
	}
	var buf [1500]byte
	gw := gwAddr(t, es.gw)
	stopMedia := make(chan struct{})
	mediaDone := make(chan struct{})
	go func() { // both sides keep talking until told to stop
		defer close(mediaDone)
		for i := uint16(0); ; i++ {
			es.p.sendTo(gw, 0, 42, i, uint32(i)*160, make([]byte, 160))
			es.b.send(0, i, uint32(i)*160, make([]byte, 160))
			select {
			case <-stopMedia:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	reports := 0
	deadline := time.Now().Add(5 * time.Second)
	for reports < 3 && time.Now().Before(deadline) {
		_ = rtcpSock.SetReadDeadline(deadline)
		n, _, err := rtcpSock.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			break
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			t.Fatalf("RTCP from the gateway: %v", err)
		}
		switch pkts[0].(type) {
		case *rtcp.SenderReport, *rtcp.ReceiverReport:
			reports++
		}
	}
	if reports < 3 {
		t.Fatalf("%d RTCP reports reached the PBX in 5 s at a 50 ms interval, want 3", reports)
	}
	stack := make([]byte, 1<<20)
	stack = stack[:runtime.Stack(stack, true)]
	if strings.Contains(string(stack), "bridge.(*Call).rtcpSend") {
		t.Error("a lite call runs an rtcpSend goroutine; the poller should send its reports")
	}
	if es.call.Err() != nil {
		t.Fatalf("call ended while media flowed: %v", es.call.Err())
	}
	close(stopMedia)
	<-mediaDone
	select {
	case <-es.call.Done():
		if !errors.Is(es.call.Err(), ErrRTPTimeout) {
			t.Errorf("Err = %v, want ErrRTPTimeout", es.call.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the RTP timeout did not end the quiet call")
	}
}
