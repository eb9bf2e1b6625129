package bridge

import (
	"encoding/base64"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// sdesRoute gives the bench stream SDES keys and returns a context that
// protects packets as the PBX would.
func sdesRoute(t testing.TB, s *stream) *srtp.Context {
	t.Helper()
	gw, err := newSDES()
	if err != nil {
		t.Fatal(err)
	}
	pbxKey := make([]byte, sdesKeyLen)
	for i := range pbxKey {
		pbxKey[i] = byte(i * 7)
	}
	keys, err := gw.keys(crypto{tag: "1", suite: suite80, key: base64.StdEncoding.EncodeToString(pbxKey)})
	if err != nil {
		t.Fatal(err)
	}
	rt := *s.route.Load()
	rt.keys = keys
	s.route.Store(&rt)
	enc, err := srtp.CreateContext(pbxKey[:16], pbxKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// packets are n PCMU packets with consecutive sequence numbers, protected
// with enc when it is set.
func packets(t testing.TB, n int, enc *srtp.Context) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(1 + i), Timestamp: uint32(160 * i), SSRC: 42}, Payload: make([]byte, 160)}
		raw, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if enc != nil {
			if raw, err = enc.EncryptRTP(nil, raw, nil); err != nil {
				t.Fatal(err)
			}
		}
		out[i] = raw
	}
	return out
}

// TestRelayDoesNotAllocate: relaying a packet allocates nothing, in either
// direction, with plain RTP and with SDES.
func TestRelayDoesNotAllocate(t *testing.T) {
	const runs = 200
	for _, sdes := range []bool{false, true} {
		name := "plain"
		if sdes {
			name = "sdes"
		}
		t.Run(name+" PBX to browser", func(t *testing.T) {
			s, from, stop := benchStream(t)
			defer stop()
			var enc *srtp.Context
			if sdes {
				enc = sdesRoute(t, s)
			}
			w := &nopWriter{}
			s.track.bound.Store(&trackBinding{w: w, ssrc: 99})
			r := newPBXRelay(s, func() int64 { return 0 })
			pkts := packets(t, runs+1, enc)
			i := 0
			allocs := testing.AllocsPerRun(runs, func() {
				n := copy(r.buf[:], pkts[i])
				i++
				r.handle(r.buf[:n], from)
			})
			if w.n != runs+1 {
				t.Fatalf("relayed %d of %d packets (stats %+v)", w.n, runs+1, s.dropped.Load())
			}
			if allocs != 0 {
				t.Errorf("%.1f allocations per packet", allocs)
			}
		})
		t.Run(name+" browser to PBX, lite", func(t *testing.T) {
			s, _, stop := benchStream(t)
			defer stop()
			if sdes {
				sdesRoute(t, s)
			}
			detachRTP(t, s) // as the PBX poller has it
			leg := &liteLeg{relay: newBrowserRelay(s, nil, func() int64 { return 0 }, 7, 100, 1000)}
			pkts := packets(t, runs+1, nil)
			buf := make([]byte, maxPacket)
			i := 0
			allocs := testing.AllocsPerRun(runs, func() {
				n := copy(buf, pkts[i])
				i++
				leg.fromBrowser(buf[:n])
			})
			if got := s.toPBX.packets.Load(); got != runs+1 {
				t.Fatalf("sent %d of %d packets", got, runs+1)
			}
			if allocs != 0 {
				t.Errorf("%.1f allocations per packet", allocs)
			}
		})
		t.Run(name+" browser to PBX", func(t *testing.T) {
			s, _, stop := benchStream(t)
			defer stop()
			if sdes {
				sdesRoute(t, s)
			}
			r := newBrowserRelay(s, nil, func() int64 { return 0 }, 7, 100, 1000)
			pkts := packets(t, runs+1, nil)
			i := 0
			allocs := testing.AllocsPerRun(runs, func() {
				n := copy(r.buf[:], pkts[i])
				i++
				r.handle(r.buf[:n])
			})
			if got := s.toPBX.packets.Load(); got != runs+1 {
				t.Fatalf("sent %d of %d packets", got, runs+1)
			}
			if allocs != 0 {
				t.Errorf("%.1f allocations per packet", allocs)
			}
		})
	}
}
