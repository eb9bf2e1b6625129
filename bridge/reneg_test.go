package bridge

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestLatchingAndReinvite: the SDP names a decoy port (a PBX behind a NAT);
// media follows the address RTP really comes from once it proved itself
// (probation, with the SDP address silent). A re-INVITE then moves the PBX
// to a new socket with a new SSRC, and the browser sees one continuous
// stream.
func TestLatchingAndReinvite(t *testing.T) {
	e := testEngine(t, engineCfg{learnQuiet: 100 * time.Millisecond})
	decoy := newPBX(t)
	es := establish(t, e, CallOptions{ID: "latch"}, func(int) []byte {
		return pbxAnswer(decoy.port(), "sendrecv", "0 PCMU/8000", "101 telephone-event/8000")
	})
	gw := gwAddr(t, es.gw)
	// The visitor speaks first, toward the SDP address, which stays silent.
	eventually(t, "browser audio at the SDP address", func() bool {
		es.b.send(0, 1, 160, []byte("to-sdp"))
		return len(decoy.received()) > 0
	})
	sent := 0
	eventually(t, "PBX packets at the browser", func() bool {
		es.p.sendTo(gw, 0, 0x1111, uint16(100+sent), uint32(1000+160*sent), []byte("a"))
		sent++
		return len(es.b.received()) > 0
	})
	refused := int(e.Rejected().Source)
	if refused < probationPackets-1 {
		t.Errorf("learned after %d refused packets, want at least %d", refused, probationPackets-1)
	}
	for range 2 {
		es.p.sendTo(gw, 0, 0x1111, uint16(100+sent), uint32(1000+160*sent), []byte("a"))
		sent++
	}
	relayed := sent - refused
	eventually(t, "first PBX packets at the browser", func() bool { return len(es.b.received()) == relayed })
	atDecoy := len(decoy.received())
	eventually(t, "browser audio at the real PBX source", func() bool {
		es.b.send(0, 2, 320, []byte("to-real"))
		return len(es.p.received()) > 0
	})
	if n := len(decoy.received()) - atDecoy; n != 0 {
		t.Errorf("decoy address from SDP got %d packets after latching", n)
	}

	// Transfer: a new endpoint, new SSRC, unrelated seq/ts.
	p2 := newPBX(t)
	offer := pbxAnswer(p2.port(), "sendrecv", "0 PCMU/8000", "101 telephone-event/8000")
	ans, err := es.call.SIPReoffer(offer)
	if err != nil {
		t.Fatalf("SIPReoffer: %v", err)
	}
	if !strings.Contains(string(ans), "m=audio "+fmt.Sprint(gw.Port())+" RTP/AVP 0 101") || !strings.Contains(string(ans), "a=sendrecv") {
		t.Errorf("re-answer:\n%s", ans)
	}
	// A packet from the old PBX after the switch must not be relayed once
	// the new one latched.
	p2.sendTo(gw, 0, 0x2222, 40000, 900000, []byte("b"))
	eventually(t, "new PBX at the browser", func() bool { return len(es.b.received()) == relayed+1 })
	es.p.sendTo(gw, 0, 0x1111, uint16(100+sent), 1480, []byte("stale"))
	p2.sendTo(gw, 0, 0x2222, 40001, 900160, []byte("b"))
	eventually(t, "second packet of new PBX", func() bool { return len(es.b.received()) == relayed+2 })
	got := es.b.received()
	for i := 1; i < len(got); i++ {
		if got[i].SequenceNumber != got[i-1].SequenceNumber+1 {
			t.Errorf("seq jumps at %d: %d -> %d", i, got[i-1].SequenceNumber, got[i].SequenceNumber)
		}
		if got[i].SSRC != got[0].SSRC {
			t.Errorf("SSRC changed at %d", i)
		}
		if string(got[i].Payload) == "stale" {
			t.Error("stale packet from the old PBX relayed")
		}
	}
	k := relayed // the first packet of the new PBX
	if d := got[k].Timestamp - got[k-1].Timestamp; d == 0 || d > 8000*5 {
		t.Errorf("timestamp across the SSRC change moved by %d", d)
	}
	if got[k+1].Timestamp-got[k].Timestamp != 160 {
		t.Errorf("timestamp step after change = %d, want 160", got[k+1].Timestamp-got[k].Timestamp)
	}
	if !got[k].Marker {
		t.Error("no marker on the first packet of the new source")
	}
	eventually(t, "browser audio at the new PBX", func() bool {
		es.b.send(0, 3, 480, []byte("to-new"))
		return len(p2.received()) > 0
	})
}

// TestAnswerAfterEarlyMedia: the 200 differs from the 183 (address and
// telephone-event PT); the route follows, the browser is not asked again.
func TestAnswerAfterEarlyMedia(t *testing.T) {
	e := testEngine(t, engineCfg{})
	b := newBrowser(t, false)
	c, err := e.NewCall(b.offer(), CallOptions{ID: "183"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	early, final := newPBX(t), newPBX(t)
	ans, err := c.SIPAnswer(pbxAnswer(early.port(), "sendrecv", "0 PCMU/8000", "101 telephone-event/8000"), false)
	if err != nil || ans == "" {
		t.Fatalf("183: %q, %v", ans, err)
	}
	b.accept(ans)
	eventually(t, "early media to the 183 address", func() bool {
		b.send(0, 1, 160, []byte("x"))
		return len(early.received()) > 0
	})
	ans2, err := c.SIPAnswer(pbxAnswer(final.port(), "sendrecv", "0 PCMU/8000", "96 telephone-event/8000"), true)
	if err != nil || ans2 != "" {
		t.Fatalf("200: %q, %v", ans2, err)
	}
	eventually(t, "DTMF with the 200's PT at the 200's address", func() bool {
		b.send(126, 2, 320, []byte{1, 0x8a, 0, 160})
		for _, p := range final.received() {
			if p.PayloadType == 96 {
				return true
			}
		}
		return false
	})
	// A 200 naming a codec the browser leg lacks fails cleanly.
	_, err = c.SIPAnswer(pbxAnswer(final.port(), "sendrecv", "8 PCMA/8000"), true)
	if !errors.Is(err, ErrIncompatibleAnswer) {
		t.Errorf("PCMA after PCMU: err = %v, want ErrIncompatibleAnswer", err)
	}
}

// TestHoldPausesTimeout: sendonly -> recvonly answer, no media toward the
// PBX, and no RTP timeout while held; after resume the timeout fires.
func TestHoldPausesTimeout(t *testing.T) {
	e := testEngine(t, engineCfg{})
	es := establish(t, e, CallOptions{ID: "hold", RTPTimeout: 300 * time.Millisecond}, nil)
	gw := gwAddr(t, es.gw)
	ans, err := es.call.SIPReoffer(pbxAnswer(es.p.port(), "sendonly", "0 PCMU/8000", "101 telephone-event/8000"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ans), "a=recvonly") {
		t.Errorf("hold answer is not recvonly:\n%s", ans)
	}
	before := len(es.p.received())
	es.b.send(0, 10, 1600, []byte("held"))
	es.p.sendTo(gw, 0, 7, 1, 1, []byte("moh"))
	eventually(t, "music on hold at the browser", func() bool { return len(es.b.received()) > 0 })
	time.Sleep(4 * 300 * time.Millisecond)
	select {
	case <-es.call.Done():
		t.Fatalf("RTP timeout while on hold: %v", es.call.Err())
	default:
	}
	if n := len(es.p.received()); n != before {
		t.Errorf("PBX got %d packets while holding", n-before)
	}
	// Old-style hold: c=0.0.0.0 also stops sending.
	zero := strings.Replace(string(pbxAnswer(es.p.port(), "sendrecv", "0 PCMU/8000")), "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0", 1)
	if ans, err = es.call.SIPReoffer([]byte(zero)); err != nil || !strings.Contains(string(ans), "a=recvonly") {
		t.Errorf("c=0.0.0.0 hold: %v\n%s", err, ans)
	}
	if _, err := es.call.SIPReoffer(pbxAnswer(es.p.port(), "inactive", "0 PCMU/8000")); err != nil {
		t.Fatal(err)
	}
	// Resume, then stay silent: the timeout ends the call.
	if _, err := es.call.SIPReoffer(pbxAnswer(es.p.port(), "sendrecv", "0 PCMU/8000")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-es.call.Done():
		if !errors.Is(es.call.Err(), ErrRTPTimeout) {
			t.Errorf("Err = %v, want ErrRTPTimeout", es.call.Err())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no RTP timeout after resume")
	}
}

func TestNoCommonCodec(t *testing.T) {
	e := testEngine(t, engineCfg{})
	b := newBrowser(t, false)
	c, err := e.NewCall(b.offer(), CallOptions{ID: "g729"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := newPBX(t)
	if _, err := c.SIPAnswer(pbxAnswer(p.port(), "sendrecv", "18 G729/8000", "101 telephone-event/8000"), true); !errors.Is(err, ErrIncompatibleAnswer) {
		t.Errorf("G729-only answer: err = %v, want ErrIncompatibleAnswer", err)
	}

	for name, want := range map[string]error{
		"offer-ilbc-only.sdp":   ErrNoCommonCodec,
		"offer-no-audio.sdp":    ErrBadOffer,
		"offer-not-sdp.sdp":     ErrBadOffer,
		"offer-pcma-legacy.sdp": nil,
	} {
		raw := readTestdata(t, name)
		c, err := e.NewCall(raw, CallOptions{ID: name})
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("%s: err = %v, want %v", name, err, want)
		}
		if c != nil {
			_ = c.Close()
		}
	}
	if _, err := e.NewCall(strings.Repeat("a", maxSDPBytes+1), CallOptions{}); !errors.Is(err, ErrBadOffer) {
		t.Errorf("huge offer: %v", err)
	}
}

func TestVideoAllowedOrNot(t *testing.T) {
	e := testEngine(t, engineCfg{})
	for _, allow := range []bool{false, true} {
		b := newBrowser(t, true)
		c, err := e.NewCall(b.offer(), CallOptions{ID: "video", AllowVideo: allow})
		if err != nil {
			t.Fatal(err)
		}
		offer := string(c.SIPOffer())
		if got := strings.Contains(offer, "m=video"); got != allow {
			t.Errorf("allow=%v: SIP offer has video = %v\n%s", allow, got, offer)
		}
		p := newPBX(t)
		sdp := string(pbxAnswer(p.port(), "sendrecv", "0 PCMU/8000"))
		if allow {
			sdp += fmt.Sprintf("m=video %d RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n", p.port()+2)
		}
		ans, err := c.SIPAnswer([]byte(sdp), true)
		if err != nil {
			t.Fatalf("allow=%v: %v", allow, err)
		}
		s, err := parseSDP([]byte(ans))
		if err != nil {
			t.Fatal(err)
		}
		// pion marks a stopped transceiver inactive rather than port 0.
		v := findMedia(s, "video", 1)
		if v == nil || (v.port == 0 || v.dir == dirInactive) == allow {
			t.Errorf("allow=%v: browser answer video m-line %+v\n%s", allow, v, ans)
		}
		b.accept(ans)
		_ = c.Close()
	}
}

func TestPortsQuarantined(t *testing.T) {
	e := testEngine(t, engineCfg{rtpPorts: "32600-32603", quarantine: time.Hour})
	var used []int
	for range 2 {
		c, err := e.NewCall(string(readTestdata(t, "offer-pcma-legacy.sdp")), CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		used = append(used, int(gwAddr(t, c.SIPOffer()).Port()))
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if used[0] == used[1] || used[0]%2 != 0 || used[1]%2 != 0 {
		t.Errorf("ports %v: want two different even ports", used)
	}
	if _, err := e.NewCall(string(readTestdata(t, "offer-pcma-legacy.sdp")), CallOptions{}); !errors.Is(err, ErrNoPorts) {
		t.Errorf("third call while both pairs rest: %v, want ErrNoPorts", err)
	}
}

func TestAllocatorReleasesAfterQuarantine(t *testing.T) {
	now := time.Unix(1000, 0)
	a := newPortAllocator(loopback, 32700, 32701, time.Minute)
	a.now = func() time.Time { return now }
	pp, err := a.get()
	if err != nil {
		t.Fatal(err)
	}
	if pp.rtcp.LocalAddr().(*net.UDPAddr).Port != pp.port+1 {
		t.Error("RTCP is not RTP+1")
	}
	if err := a.put(pp); err != nil {
		t.Fatal(err)
	}
	if _, err := a.get(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("reused during quarantine: %v", err)
	}
	now = now.Add(time.Minute)
	pp, err = a.get()
	if err != nil {
		t.Fatalf("after quarantine: %v", err)
	}
	_ = a.put(pp)
	_ = netip.Addr{}
}
