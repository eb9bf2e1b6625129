package bridge

import (
	"net/netip"
	"testing"
	"time"
)

// BenchmarkCallSetup: the gateway's media work to set up one call and tear
// it down: NewCall (offer checks, RTP ports, SIP offer), the PBX's answer
// (the browser's answer: a PeerConnection with ICE gathering on pion, a
// session on the shared socket on lite), Close. ICE and DTLS with the
// browser are not included (no browser answers).
func BenchmarkCallSetup(b *testing.B) {
	for _, lite := range []bool{false, true} {
		name := "pion"
		if lite {
			name = "lite"
		}
		b.Run(name, func(b *testing.B) {
			e := testEngine(b, engineCfg{lite: lite, quarantine: time.Nanosecond})
			offer := newBrowser(b, false).offer()
			p := newPBX(b)
			answer := pbxAnswer(p.port(), "sendrecv", "0 PCMU/8000", "101 telephone-event/8000")
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c, err := e.NewCall(offer, CallOptions{ID: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.SIPAnswer(answer, true); err != nil {
					b.Fatal(err)
				}
				if err := c.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLiteRelay: the gateway's per-packet work on a lite call, on a
// call connected to a pion browser. "browser to PBX" is what the shared
// socket's reader does after SRTP decryption (owner word, rewrite, send to
// the PBX); "PBX to browser" is the PBX relay's (latch, rewrite, SRTP
// encryption, send on the shared socket). Nothing else sends on the call
// meanwhile.
func BenchmarkLiteRelay(b *testing.B) {
	e := testEngine(b, engineCfg{lite: true})
	es := establish(b, e, CallOptions{ID: "bench"}, nil)
	s := es.call.audio
	b.Run("browser to PBX", func(b *testing.B) {
		pkt := benchPacket()
		buf := make([]byte, maxPacket)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			n := copy(buf, pkt)
			buf[2], buf[3] = byte(i>>8), byte(i)
			es.call.lite.fromBrowser(buf[:n])
		}
	})
	b.Run("PBX to browser", func(b *testing.B) {
		r := newPBXRelay(s, es.call.clock)
		from := netip.AddrPortFrom(loopback, uint16(es.p.port()))
		pkt := benchPacket()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			n := copy(r.buf[:], pkt)
			r.buf[2], r.buf[3] = byte(i>>8), byte(i)
			r.handle(r.buf[:n], from)
		}
		b.StopTimer()
		if s.toBrowser.packets.Load() == 0 {
			b.Fatal("nothing relayed to the browser")
		}
	})
}
