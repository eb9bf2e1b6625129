package bridge

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// sdesCall is an established SDES call with the test PBX's SRTP contexts:
// enc protects what the PBX sends, the PBX's socket decrypts what it gets.
type sdesCall struct {
	*established
	enc *srtp.Context
}

func establishSDES(t *testing.T, e *Engine) *sdesCall {
	t.Helper()
	pbxKey := make([]byte, 30)
	if _, err := rand.Read(pbxKey); err != nil {
		t.Fatal(err)
	}
	es := establish(t, e, CallOptions{ID: "sdes"}, func(port int) []byte {
		sdp := strings.Replace(string(pbxAnswer(port, "sendrecv", "0 PCMU/8000", "101 telephone-event/8000")), "RTP/AVP", "RTP/SAVP", 1)
		return []byte(sdp + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(pbxKey) + "\r\n")
	})
	off, err := parseSDP(es.gw)
	if err != nil || len(off.media[0].cryptos) != 1 {
		t.Fatalf("SDES offer: %v\n%s", err, es.gw)
	}
	gwKey, err := base64.StdEncoding.DecodeString(off.media[0].cryptos[0].key)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := srtp.CreateContext(gwKey[:16], gwKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	es.p.mu.Lock()
	es.p.decrypt = func(b []byte) ([]byte, error) { return dec.DecryptRTP(nil, b, nil) }
	es.p.mu.Unlock()
	enc, err := srtp.CreateContext(pbxKey[:16], pbxKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	return &sdesCall{established: es, enc: enc}
}

// srtpPacket is one RTP packet protected with enc.
func srtpPacket(t *testing.T, enc *srtp.Context, ssrc uint32, seq uint16, payload string) []byte {
	t.Helper()
	pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: ssrc}, Payload: []byte(payload)}
	raw, err := pk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out, err := enc.EncryptRTP(nil, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// garbage is an RTP header followed by bytes that are no SRTP of ours.
func garbage(seq uint16) []byte {
	b := make([]byte, 12+160+10)
	_, _ = rand.Read(b)
	b[0], b[1] = 0x80, 0
	b[2], b[3] = byte(seq>>8), byte(seq)
	return b
}

func (p *pbx) sendRaw(to netip.AddrPort, b []byte) {
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Errorf("send: %v", err)
	}
}

// payloads counts the packets the browser received by payload.
func (b *browser) payloads() map[string]int {
	n := map[string]int{}
	for _, p := range b.received() {
		n[string(p.Payload)]++
	}
	return n
}

// mustReachPBXOnly sends browser audio until the PBX has some, then checks
// that the hostile sender got none.
func mustReachPBXOnly(t *testing.T, es *established, hostile *pbx, what string) {
	t.Helper()
	before := len(es.p.received())
	seq := uint16(5000 + before)
	eventually(t, what, func() bool {
		es.b.send(0, seq, uint32(seq)*160, []byte("visitor"))
		seq++
		return len(es.p.received()) > before
	})
	if n := len(hostile.received()); n != 0 {
		t.Errorf("%s: the hostile sender got %d packets of the visitor's audio", what, n)
	}
}

// TestHostileSenderPlainRTP: with plain RTP, a third party that reaches the
// gateway's RTP port first, and one that keeps sending in-sequence packets
// in between the PBX's, never gets the visitor's audio nor has its own
// relayed; the PBX's audio flows both ways.
func TestHostileSenderPlainRTP(t *testing.T) {
	e := testEngine(t, engineCfg{})
	es := establish(t, e, CallOptions{ID: "plain"}, nil)
	hostile := newPBX(t)
	gw := gwAddr(t, es.gw)
	// The hostile sender is first, before the PBX and before the visitor
	// spoke: a run of perfect in-sequence packets.
	for i := range 20 {
		hostile.sendTo(gw, 0, 0xbad, uint16(i), uint32(160*i), []byte("hostile"))
	}
	eventually(t, "hostile packets refused", func() bool { return e.Rejected().Source >= 20 })
	// The visitor speaks: toward the SDP address, not the hostile sender.
	mustReachPBXOnly(t, es, hostile, "visitor audio at the PBX")
	// The PBX answers; the hostile sender keeps going, interleaved, in
	// bursts long enough for probation.
	seq := uint16(20)
	for i := range 30 {
		es.p.sendTo(gw, 0, 0x900d, uint16(1000+i), uint32(8000+160*i), []byte("pbx"))
		for range probationPackets + 1 {
			hostile.sendTo(gw, 0, 0xbad, seq, uint32(seq)*160, []byte("hostile"))
			seq++
		}
		time.Sleep(2 * time.Millisecond) // a stream's pace, shortened
	}
	eventually(t, "the PBX's audio at the browser", func() bool { return es.b.payloads()["pbx"] == 30 })
	if n := es.b.payloads()["hostile"]; n != 0 {
		t.Errorf("%d hostile packets relayed to the visitor", n)
	}
	mustReachPBXOnly(t, es, hostile, "visitor audio still at the PBX")
	if r := e.Rejected(); r.Source < uint64(seq) || r.SRTP != 0 || r.Header != 0 {
		t.Errorf("rejected %+v, want every one of the %d hostile packets as source", r, seq)
	}
	if st := es.call.Stats(); st.Rejected != e.Rejected().Source {
		t.Errorf("call counts %d rejected, engine %d", st.Rejected, e.Rejected().Source)
	}
}

// TestSDPAddressWinsBack: a sender that was learned while the PBX was silent
// (it looked like a PBX behind a NAT) loses the latch at once when packets
// come from the address the SDP names.
func TestSDPAddressWinsBack(t *testing.T) {
	e := testEngine(t, engineCfg{learnQuiet: 50 * time.Millisecond})
	es := establish(t, e, CallOptions{ID: "winback"}, nil)
	hostile := newPBX(t)
	gw := gwAddr(t, es.gw)
	eventually(t, "visitor audio at the PBX", func() bool {
		es.b.send(0, 1, 160, []byte("visitor"))
		return len(es.p.received()) > 0
	})
	seq := uint16(0)
	eventually(t, "the silent PBX's latch learned by the other sender", func() bool {
		hostile.sendTo(gw, 0, 0xbad, seq, uint32(seq)*160, []byte("other"))
		seq++
		return es.b.payloads()["other"] > 0
	})
	es.p.sendTo(gw, 0, 0x900d, 1, 160, []byte("pbx"))
	eventually(t, "the PBX's audio at the browser", func() bool { return es.b.payloads()["pbx"] == 1 })
	relayed := es.b.payloads()["other"]
	for range 20 {
		hostile.sendTo(gw, 0, 0xbad, seq, uint32(seq)*160, []byte("other"))
		seq++
		es.p.sendTo(gw, 0, 0x900d, seq, uint32(seq)*160, []byte("pbx"))
	}
	eventually(t, "the PBX's audio at the browser", func() bool { return es.b.payloads()["pbx"] == 21 })
	if n := es.b.payloads()["other"]; n != relayed {
		t.Errorf("%d packets of the other sender relayed after the PBX spoke", n-relayed)
	}
	before, pbxBefore := len(hostile.received()), len(es.p.received())
	eventually(t, "visitor audio at the PBX", func() bool {
		es.b.send(0, seq, uint32(seq)*160, []byte("visitor"))
		seq++
		return len(es.p.received()) > pbxBefore
	})
	if n := len(hostile.received()); n != before {
		t.Errorf("the other sender got %d more packets after the PBX spoke", n-before)
	}
}

// TestHostileSenderSDES: with SDES, packets that fail authentication never
// move the latch (the first of them used to), and authentic packets replayed
// from another address are refused as well.
func TestHostileSenderSDES(t *testing.T) {
	e := testEngine(t, engineCfg{sdes: true})
	sc := establishSDES(t, e)
	hostile := newPBX(t)
	gw := gwAddr(t, sc.gw)
	for i := range 20 {
		hostile.sendRaw(gw, garbage(uint16(i)))
	}
	eventually(t, "garbage refused", func() bool { return e.Rejected().SRTP >= 20 })
	var replay [][]byte
	for i := range 20 {
		pkt := srtpPacket(t, sc.enc, 0x5eed, uint16(100+i), "pbx-secret")
		replay = append(replay, pkt)
		sc.p.sendRaw(gw, pkt)
		hostile.sendRaw(gw, garbage(uint16(100+i)))
	}
	eventually(t, "the PBX's audio at the browser", func() bool { return sc.b.payloads()["pbx-secret"] == 20 })
	for _, pkt := range replay {
		hostile.sendRaw(gw, pkt)
	}
	eventually(t, "replays refused", func() bool { return e.Rejected().Source >= 20 })
	mustReachPBXOnly(t, sc.established, hostile, "visitor audio at the PBX")
	if n := len(sc.b.received()); n != 20 {
		t.Errorf("the browser got %d packets, want the PBX's 20", n)
	}
	if r := e.Rejected(); r.SRTP != 40 || r.Source != 20 {
		t.Errorf("rejected %+v, want 40 failing SRTP and 20 replays from the wrong source", r)
	}
}

// TestRTCPLatch: RTCP is taken from the SDP's RTCP address, or from a new
// port on the host the RTP latch proved with the PBX's SSRC after two
// reports; never from a stranger, and not before authentication with SDES.
func TestRTCPLatch(t *testing.T) {
	tests := []struct {
		name       string
		remoteRTCP netip.AddrPort
		from       netip.AddrPort
		ssrc       uint32
		rtpSource  netip.AddrPort
		wantOK     []bool // per packet sent
	}{
		{name: "the SDP's RTCP address", remoteRTCP: ap("127.0.0.1:4001"), from: ap("127.0.0.1:4001"), ssrc: 7, wantOK: []bool{true, true}},
		{name: "NAT port on the RTP source's host", remoteRTCP: ap("10.0.0.1:4001"), from: ap("127.0.0.1:5555"), ssrc: 7, rtpSource: ap("127.0.0.1:5554"), wantOK: []bool{false, true, true}},
		{name: "another host", remoteRTCP: ap("10.0.0.1:4001"), from: ap("127.0.0.2:5555"), ssrc: 7, rtpSource: ap("127.0.0.1:5554"), wantOK: []bool{false, false, false}},
		{name: "wrong SSRC", remoteRTCP: ap("10.0.0.1:4001"), from: ap("127.0.0.1:5555"), ssrc: 8, rtpSource: ap("127.0.0.1:5554"), wantOK: []bool{false, false, false}},
		{name: "no RTP latch yet", remoteRTCP: ap("10.0.0.1:4001"), from: ap("127.0.0.1:5555"), ssrc: 7, wantOK: []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g rtcpGuard
			rt := &route{gen: 1, remoteRTCP: tt.remoteRTCP}
			for i, want := range tt.wantOK {
				if ok, _ := g.admit(rt, tt.from, tt.ssrc, tt.rtpSource, 7); ok != want {
					t.Errorf("packet %d: admitted %v, want %v", i, ok, want)
				}
			}
		})
	}
	// Once learned, a stranger is refused while the SDP address takes over.
	var g rtcpGuard
	rt := &route{gen: 1, remoteRTCP: ap("127.0.0.1:4001")}
	if ok, moved := g.admit(rt, ap("127.0.0.1:4001"), 7, netip.AddrPort{}, 7); !ok || !moved {
		t.Fatal("the SDP's RTCP address not admitted")
	}
	if ok, _ := g.admit(rt, ap("127.0.0.9:4001"), 7, ap("127.0.0.1:4000"), 7); ok {
		t.Error("a stranger admitted")
	}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// TestRTPGuard checks the latching rule packet by packet.
func TestRTPGuard(t *testing.T) {
	const quiet = int64(time.Second)
	sdp, nat, other := ap("10.0.0.1:4000"), ap("127.0.0.1:5000"), ap("127.0.0.2:5000")
	rt := &route{gen: 1, remote: sdp, since: 0}
	var g rtpGuard
	ms := func(n int) int64 { return int64(n) * int64(time.Millisecond) }
	// A NAT'd PBX: probation runs, but nothing is learned before the SDP
	// address had `quiet` to speak.
	for i := range 10 {
		if ok, _ := g.admit(rt, nat, 1, uint16(i), ms(20*i), 0, quiet); ok {
			t.Fatalf("packet %d from a new source admitted before the learning delay", i)
		}
	}
	// Out of sequence restarts probation.
	for i, seq := range []uint16{100, 102, 103, 104, 105} {
		if ok, _ := g.admit(rt, nat, 1, seq, ms(1000+20*i), 0, quiet); ok {
			t.Fatalf("out-of-sequence run admitted at %d", i)
		}
	}
	if ok, moved := g.admit(rt, nat, 1, 106, ms(1100), 0, quiet); !ok || !moved {
		t.Fatal("the fifth in-sequence packet after the delay was not learned")
	}
	// Learned; another sender cannot move it while the NAT'd PBX sends.
	seq := uint16(0)
	for i := range 200 {
		now := ms(1100 + 10*i)
		if ok, _ := g.admit(rt, other, 2, seq, now, 0, quiet); ok {
			t.Fatalf("other sender admitted at packet %d while the PBX sends", i)
		}
		seq++
		if i%2 == 0 {
			if ok, _ := g.admit(rt, nat, 1, uint16(107+i/2), now, 0, quiet); !ok {
				t.Fatal("the learned PBX refused")
			}
		}
	}
	// A re-INVITE with the same SDP keeps the learned source.
	rt2 := &route{gen: 2, remote: sdp, since: ms(4000)}
	if ok, _ := g.admit(rt2, nat, 1, 300, ms(4000), 0, quiet); !ok {
		t.Error("learned source lost across a re-INVITE with the same address")
	}
	// A new address: the SDP address is trusted at once, the old one not.
	rt3 := &route{gen: 3, remote: other, since: ms(5000)}
	if ok, _ := g.admit(rt3, nat, 1, 301, ms(5000), 0, quiet); ok {
		t.Error("the old source admitted after the SDP moved")
	}
	if ok, moved := g.admit(rt3, other, 2, 1, ms(5001), 0, quiet); !ok || !moved {
		t.Error("the new SDP address not admitted at once")
	}
	// When we send (not on hold), the SDP address gets the delay after our
	// first packet; before it, nothing is learned however long it takes.
	sending := &route{gen: 1, remote: sdp, send: true}
	var g2 rtpGuard
	for i := range 150 {
		if ok, _ := g2.admit(sending, nat, 1, uint16(i), ms(20*i), 0, quiet); ok {
			t.Fatalf("learned at %d ms before we sent anything", 20*i)
		}
	}
	for i := range 150 {
		now := ms(3000 + 20*i)
		ok, _ := g2.admit(sending, nat, 1, uint16(150+i), now, ms(3500), quiet)
		if ok != (now >= ms(4500)) {
			t.Fatalf("at %d ms admitted %v", 3000+20*i, ok)
		}
	}
}

// rtcpSink counts RTCP packets arriving at a loopback socket.
type rtcpSink struct {
	conn *net.UDPConn
	n    atomic.Int64
	done chan struct{}
}

func newRTCPSink(t *testing.T) *rtcpSink {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	s := &rtcpSink{conn: c, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 1500)
		for {
			n, _, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if _, err := rtcp.Unmarshal(buf[:n]); err == nil {
				s.n.Add(1)
			}
		}
	}()
	t.Cleanup(func() { _ = c.Close(); <-s.done })
	return s
}

func (s *rtcpSink) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

func (s *rtcpSink) send(t *testing.T, to netip.AddrPort, ssrc uint32) {
	t.Helper()
	raw, err := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: ssrc, NTPTime: 1 << 32}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.conn.WriteToUDPAddrPort(raw, to); err != nil {
		t.Fatal(err)
	}
}

// TestHostileRTCPSender: a report from a stranger that arrives first no
// longer decides where the call's RTCP goes; the PBX's RTCP address does.
func TestHostileRTCPSender(t *testing.T) {
	e := testEngine(t, engineCfg{})
	pbxRTCP, hostile := newRTCPSink(t), newRTCPSink(t)
	es := establish(t, e, CallOptions{ID: "rtcp"}, func(port int) []byte {
		sdp := string(pbxAnswer(port, "sendrecv", "0 PCMU/8000", "101 telephone-event/8000"))
		return []byte(strings.Replace(sdp, fmt.Sprintf("a=rtcp:%d", port+1), fmt.Sprintf("a=rtcp:%d", pbxRTCP.port()), 1))
	})
	gw := gwAddr(t, es.gw)
	gwRTCP := netip.AddrPortFrom(gw.Addr(), gw.Port()+1)
	for range 5 {
		hostile.send(t, gwRTCP, 0x900d) // even with the PBX's SSRC
	}
	eventually(t, "hostile RTCP refused", func() bool { return e.Rejected().Source >= 5 })
	// RTP from the PBX latches, then its RTCP arrives.
	es.p.sendTo(gw, 0, 0x900d, 1, 160, []byte("pbx"))
	eventually(t, "PBX audio at the browser", func() bool { return len(es.b.received()) > 0 })
	pbxRTCP.send(t, gwRTCP, 0x900d)
	s := es.call.audio
	eventually(t, "our RTCP at the PBX's RTCP address", func() bool {
		select {
		case s.keyframe <- struct{}{}: // asks rtcpSend for a report now
		default:
		}
		return pbxRTCP.n.Load() > 0
	})
	if n := hostile.n.Load(); n != 0 {
		t.Errorf("the hostile sender got %d RTCP packets", n)
	}
	if got := e.Rejected().Source; got != 5 {
		t.Errorf("rejected %d packets as source, want the hostile's 5", got)
	}
}
