package bridge

import (
	"net"
	"net/netip"
	"runtime"
	"testing"

	"github.com/frontdesk-gw/frontdesk/internal/webrtclite"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// benchStream is a stream on loopback sockets with a published route and a
// drained sink standing in for the PBX.
func benchStream(b testing.TB) (*stream, netip.AddrPort, func()) {
	b.Helper()
	a := newPortAllocator(loopback, 33000, 33999, 0)
	pp, err := a.get()
	if err != nil {
		b.Fatal(err)
	}
	sink, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := sink.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	s := newStream("audio", pp, "bench", &sourcePolicy{learnQuiet: int64(defaultLearnQuiet)})
	rt := &route{gen: 1, remote: sink.LocalAddr().(*net.UDPAddr).AddrPort(), send: true, clock: 8000, tePBX: 101, teClock: 8000}
	for i := range rt.toPBX {
		rt.toPBX[i], rt.toBrowser[i] = noPT, noPT
	}
	rt.toPBX[0], rt.toBrowser[0] = 0, 0
	rt.toPBX[126], rt.toBrowser[101] = 101, 126
	s.route.Store(rt)
	return s, rt.remote, func() { _ = a.put(s.pp); _ = sink.Close(); <-done }
}

// detachRTP takes s's RTP socket out of Go's netpoller as the PBX poller
// does for a lite call (Linux); elsewhere it stays a net.UDPConn.
func detachRTP(tb testing.TB, s *stream) {
	tb.Helper()
	raw, err := webrtclite.DetachUDP(s.pp.rtp)
	if err != nil {
		if runtime.GOOS == "linux" {
			tb.Fatal(err)
		}
		return
	}
	s.pp.rtp, s.pp.raw = nil, raw
}

func benchPacket() []byte {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 42}, Payload: make([]byte, 160)}
	raw, _ := p.Marshal()
	return raw
}

// BenchmarkRelayBrowserToPBX: header rewrite + UDP send, per packet.
func BenchmarkRelayBrowserToPBX(b *testing.B) {
	s, _, stop := benchStream(b)
	defer stop()
	benchBrowserToPBX(b, s)
}

// BenchmarkRelayBrowserToPBXRaw: the same from a socket out of Go's
// netpoller (a lite call's on Linux: sendto without the netpoller's
// bookkeeping).
func BenchmarkRelayBrowserToPBXRaw(b *testing.B) {
	s, _, stop := benchStream(b)
	defer stop()
	detachRTP(b, s)
	benchBrowserToPBX(b, s)
}

func benchBrowserToPBX(b *testing.B, s *stream) {
	r := newBrowserRelay(s, nil, func() int64 { return 0 }, 7, 100, 1000)
	pkt := benchPacket()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		n := copy(r.buf[:], pkt)
		r.buf[3] = byte(i) // advancing sequence
		r.handle(r.buf[:n])
	}
	b.StopTimer()
	if s.toPBX.packets.Load() == 0 {
		b.Fatal("nothing sent")
	}
}

// nopWriter stands in for pion's writer to measure the gateway's own part.
type nopWriter struct{ n int }

func (w *nopWriter) WriteRTP(h *rtp.Header, p []byte) (int, error) { w.n++; return len(p), nil }
func (w *nopWriter) Write(b []byte) (int, error)                   { w.n++; return len(b), nil }

// BenchmarkRelayPBXToBrowser: latch check, PT map, rewrite, track write
// (pion's SRTP/ICE path replaced by a no-op writer).
func BenchmarkRelayPBXToBrowser(b *testing.B) {
	s, from, stop := benchStream(b)
	defer stop()
	w := &nopWriter{}
	s.track.bound.Store(&trackBinding{w: w, ssrc: 99})
	r := newPBXRelay(s, func() int64 { return 0 })
	pkt := benchPacket()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		n := copy(r.buf[:], pkt)
		r.buf[3] = byte(i)
		r.handle(r.buf[:n], from)
	}
	b.StopTimer()
	if w.n == 0 {
		b.Fatal("nothing written")
	}
}

var _ webrtc.TrackLocalWriter = (*nopWriter)(nil)

// BenchmarkRelayBrowserToPBXSDES: as BenchmarkRelayBrowserToPBX, plus SRTP
// protection.
func BenchmarkRelayBrowserToPBXSDES(b *testing.B) {
	s, _, stop := benchStream(b)
	defer stop()
	sdesRoute(b, s)
	r := newBrowserRelay(s, nil, func() int64 { return 0 }, 7, 100, 1000)
	pkt := benchPacket()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		n := copy(r.buf[:], pkt)
		r.buf[2], r.buf[3] = byte(i>>8), byte(i)
		r.handle(r.buf[:n])
	}
	b.StopTimer()
	if s.toPBX.packets.Load() == 0 {
		b.Fatal("nothing sent")
	}
}

// BenchmarkRelayPBXToBrowserSDES: as BenchmarkRelayPBXToBrowser, plus SRTP
// authentication and decryption (a ring of protected packets is replayed;
// the gateway keeps no SRTP replay window).
func BenchmarkRelayPBXToBrowserSDES(b *testing.B) {
	s, from, stop := benchStream(b)
	defer stop()
	enc := sdesRoute(b, s)
	w := &nopWriter{}
	s.track.bound.Store(&trackBinding{w: w, ssrc: 99})
	r := newPBXRelay(s, func() int64 { return 0 })
	ring := packets(b, 1024, enc)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		n := copy(r.buf[:], ring[i%len(ring)])
		r.handle(r.buf[:n], from)
	}
	b.StopTimer()
	if w.n != b.N {
		b.Fatalf("relayed %d of %d", w.n, b.N)
	}
}
