package bridge

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// established is a call answered by a test PBX with PCMU and
// telephone-event 101, with audio flowing from the browser.
type established struct {
	call *Call
	b    *browser
	p    *pbx
	gw   []byte // the SIP offer
}

func establish(t testing.TB, e *Engine, opts CallOptions, answer func(port int) []byte) *established {
	t.Helper()
	b := newBrowser(t, false)
	c, err := e.NewCall(b.offer(), opts)
	if err != nil {
		t.Fatalf("NewCall: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p := newPBX(t)
	if answer == nil {
		answer = func(port int) []byte { return pbxAnswer(port, "sendrecv", "0 PCMU/8000", "101 telephone-event/8000") }
	}
	ans, err := c.SIPAnswer(answer(p.port()), true)
	if err != nil {
		t.Fatalf("SIPAnswer: %v", err)
	}
	if os.Getenv("FRONTDESK_TEST_WEBRTC_STACK") == "lite" && c.lite == nil {
		t.Fatal("the call did not use the lite stack")
	}
	b.accept(ans)
	eventually(t, "ICE and DTLS connected", func() bool {
		return b.pc.ConnectionState() == webrtc.PeerConnectionStateConnected && gatewayConnected(c)
	})
	return &established{call: c, b: b, p: p, gw: c.SIPOffer()}
}

// gatewayConnected reports whether the gateway's browser side is up (pion
// PeerConnection or lite session).
func gatewayConnected(c *Call) bool {
	if c.lite != nil {
		return c.lite.sess.Connected()
	}
	gpc := c.pcShared.Load()
	return gpc != nil && gpc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

func TestAudioBothWaysWithPTMapping(t *testing.T) {
	audioBothWays(t, testEngine(t, engineCfg{}))
}

// TestLiteAudioBothWays: the same call on the lite stack, a pion browser
// against the gateway's ICE-lite shared socket.
func TestLiteAudioBothWays(t *testing.T) {
	e := testEngine(t, engineCfg{lite: true})
	es := audioBothWays(t, e)
	ans := es.b.pc.RemoteDescription().SDP
	for _, want := range []string{"a=ice-lite", "a=setup:passive", "a=candidate:1 1 udp 2130706431 127.0.0.1 41000 typ host"} {
		if !strings.Contains(ans, want) {
			t.Errorf("lite answer lacks %q:\n%s", want, ans)
		}
	}
}

func audioBothWays(t *testing.T, e *Engine) *established {
	es := establish(t, e, CallOptions{ID: "flow"}, nil)
	offer := string(es.gw)
	for _, want := range []string{"RTP/AVP 111 0 126", "a=rtpmap:111 opus/48000/2", "a=rtpmap:0 PCMU/8000", "a=rtpmap:126 telephone-event/8000", "c=IN IP4 127.0.0.1", "a=sendrecv", "a=rtcp:"} {
		if !strings.Contains(offer, want) {
			t.Errorf("SIP offer lacks %q:\n%s", want, offer)
		}
	}
	ans := es.b.pc.RemoteDescription().SDP
	if !strings.Contains(ans, "m=audio 9 UDP/TLS/RTP/SAVPF 0 126") || strings.Contains(ans, "opus") {
		t.Errorf("browser answer should carry exactly PCMU and telephone-event:\n%s", ans)
	}
	gw := gwAddr(t, es.gw)
	// Browser -> PBX: voice and DTMF (browser PT 126 -> PBX PT 101).
	eventually(t, "browser audio reaching the PBX", func() bool {
		es.b.send(0, 1000, 160000, []byte("voice-from-browser"))
		return len(es.p.received()) > 0
	})
	es.b.send(126, 1001, 160160, []byte{5, 10, 0, 160})
	eventually(t, "DTMF at the PBX", func() bool {
		for _, pk := range es.p.received() {
			if pk.PayloadType == 101 {
				return true
			}
		}
		return false
	})
	for _, pk := range es.p.received() {
		switch pk.PayloadType {
		case 0:
			if string(pk.Payload) != "voice-from-browser" {
				t.Errorf("voice payload changed: %q", pk.Payload)
			}
		case 101:
			if !bytes.Equal(pk.Payload, []byte{5, 10, 0, 160}) {
				t.Errorf("DTMF payload changed: %x", pk.Payload)
			}
		default:
			t.Errorf("PBX got PT %d", pk.PayloadType)
		}
	}
	// PBX -> browser: PBX PT 101 -> browser PT 126.
	for i := range 5 {
		es.p.sendTo(gw, 0, 0xabc, uint16(500+i), uint32(8000+160*i), []byte("voice-from-pbx"))
	}
	es.p.sendTo(gw, 101, 0xabc, 505, 8800, []byte{1, 10, 0, 160})
	eventually(t, "PBX audio at the browser", func() bool { return len(es.b.received()) >= 6 })
	got := es.b.received()
	for i, pk := range got[:5] {
		if pk.PayloadType != 0 || string(pk.Payload) != "voice-from-pbx" {
			t.Errorf("packet %d: PT %d payload %q", i, pk.PayloadType, pk.Payload)
		}
		if i > 0 && pk.SequenceNumber != got[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: seq %d after %d", i, pk.SequenceNumber, got[i-1].SequenceNumber)
		}
	}
	if got[5].PayloadType != 126 {
		t.Errorf("PBX DTMF reached the browser with PT %d, want 126", got[5].PayloadType)
	}
	st := es.call.Stats()
	if st.BrowserToPBX.Packets < 2 || st.PBXToBrowser.Packets != 6 || st.FromPBX.Packets != 6 {
		t.Errorf("stats %+v", st)
	}
	if err := es.call.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := es.call.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if es.call.Err() != nil {
		t.Errorf("Err after Close = %v", es.call.Err())
	}
	select {
	case <-es.call.Done():
	default:
		t.Error("Done not closed after Close")
	}
	_ = errors.New
	_ = time.Second
	return es
}

// TestSDPTowardPBXBehindNAT: with the PBX reaching the gateway through a
// NAT, the SIP offer names the public address while RTP stays bound to
// the local one. (Only the offer's text is checked: nothing is sent to the
// documentation address; e2e TestGatewayBehindNAT runs media through a
// real NAT.)
func TestSDPTowardPBXBehindNAT(t *testing.T) {
	e := testEngine(t, engineCfg{pbxMediaIP: "192.0.2.10"})
	b := newBrowser(t, false)
	c, err := e.NewCall(b.offer(), CallOptions{ID: "nat"})
	if err != nil {
		t.Fatalf("NewCall: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	offer := string(c.SIPOffer())
	if !strings.Contains(offer, "c=IN IP4 192.0.2.10\r\n") || !strings.Contains(offer, "IN IP4 192.0.2.10\r\ns=") || strings.Contains(offer, "127.0.0.1") {
		t.Errorf("SIP offer must name the public address only:\n%s", offer)
	}
	if e.rtpAddr != loopback {
		t.Errorf("RTP bound to %v, want the local %v", e.rtpAddr, loopback)
	}
}
