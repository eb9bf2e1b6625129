package bridge

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// maxPacket bounds one RTP packet (a UDP datagram on an Ethernet path plus
// room for SRTP's tag).
const maxPacket = 1500

// pbxRelay owns the PBX -> browser direction of one stream. Its buffers,
// header and rewriter are reused for every packet.
type pbxRelay struct {
	s     *stream
	clock func() int64
	buf   [maxPacket]byte
	dec   [maxPacket]byte
	hdr   rtp.Header
	shdr  rtp.Header // scratch for SRTP
	rw    rewriter
	gen   uint64 // route generation s.latch was stored for
	guard rtpGuard
	ext   extSeq
}

func newPBXRelay(s *stream, clock func() int64) *pbxRelay {
	return &pbxRelay{s: s, clock: clock, rw: newRewriter(s.audio, 0, 0, 0, clock())}
}

// run reads RTP from the PBX until the socket is closed.
func (p *pbxRelay) run() {
	for {
		n, from, err := p.s.pp.rtp.ReadFromUDPAddrPort(p.buf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP-induced errors and the like: keep reading.
		}
		p.handle(p.buf[:n], from)
	}
}

// handle relays one packet from the PBX. It is the hot path: no allocation.
// The packet must be RTP, authentic (SDES) and from the PBX's source, in
// that order: nothing unauthenticated moves the latch.
func (p *pbxRelay) handle(pkt []byte, from netip.AddrPort) {
	s := p.s
	rt := s.route.Load()
	if rt == nil {
		s.dropped.Add(1) // no answer yet: nothing to relay to
		return
	}
	rej := &s.policy.rejected
	if rtpHeaderLen(pkt) == 0 {
		s.reject(&rej.header)
		return
	}
	if rt.keys != nil {
		out, err := rt.keys.in.DecryptRTP(p.dec[:0], pkt, &p.shdr)
		if err != nil {
			s.reject(&rej.srtp)
			return
		}
		pkt = out
	}
	hl := rtpHeaderLen(pkt)
	if hl == 0 {
		s.reject(&rej.header)
		return
	}
	now := p.clock()
	ssrc, seq := binary.BigEndian.Uint32(pkt[8:]), binary.BigEndian.Uint16(pkt[2:])
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	var sentAt int64
	if s.sentGen.Load() == rt.gen {
		sentAt = s.sentAt.Load()
	}
	ok, moved := p.guard.admit(rt, from, ssrc, seq, now, sentAt, s.policy.learnQuiet)
	if !ok {
		s.reject(&rej.source)
		return
	}
	if moved || p.gen != rt.gen {
		s.latch.Store(&latch{gen: rt.gen, addr: from}) // once per generation or move
		p.gen = rt.gen
	}
	s.fromPBX.add(len(pkt), now)
	p.ext.update(&s.recv, ssrc, seq)
	bpt := rt.toBrowser[pkt[1]&0x7f]
	payload := rtpPayload(pkt, hl)
	if bpt == noPT || payload == nil {
		s.dropped.Add(1)
		return
	}
	oseq, ots, marker := p.rw.next(ssrc, seq, binary.BigEndian.Uint32(pkt[4:]), rt.clock, now)
	h := &p.hdr
	h.Version, h.Padding, h.Extension = 2, false, false
	h.Marker = marker || pkt[1]&0x80 != 0
	h.PayloadType, h.SequenceNumber, h.Timestamp = bpt, oseq, ots
	h.CSRC = h.CSRC[:0]
	ok, err := s.track.write(h, payload)
	if !ok || err != nil {
		s.dropped.Add(1)
		return
	}
	s.toBrowser.add(len(payload)+12, now)
}

// extSeq extends 16-bit sequence numbers for loss counting.
type extSeq struct {
	ssrc    uint32
	started bool
	highest uint32
}

func (e *extSeq) update(r *recvState, ssrc uint32, seq uint16) {
	if !e.started || ssrc != e.ssrc {
		e.ssrc, e.started, e.highest = ssrc, true, uint32(seq)
		r.ssrc.Store(ssrc)
		r.base.Store(uint32(seq))
		r.highest.Store(uint32(seq))
		r.received.Store(1)
		return
	}
	r.received.Add(1)
	if d := int16(seq - uint16(e.highest)); d > 0 {
		e.highest += uint32(d)
		r.highest.Store(e.highest)
	}
}

// browserRelay owns the browser -> PBX direction of one stream, including
// the DTMF events the gateway generates (they share SSRC and sequence).
type browserRelay struct {
	s     *stream
	track *webrtc.TrackRemote
	clock func() int64
	buf   [maxPacket]byte
	enc   [maxPacket + 64]byte
	shdr  rtp.Header
	rw    rewriter
	dtmf  dtmfState
	// sentGen is the route generation s.sentAt was stored for.
	sentGen uint64
	// wake is when the next DTMF packet is due on a lite call (no track
	// whose read deadline would say it).
	wake time.Time
	// done is closed when run returns (pion calls), for Detach.
	done chan struct{}
}

func newBrowserRelay(s *stream, track *webrtc.TrackRemote, clock func() int64, ssrc uint32, seq uint16, ts uint32) *browserRelay {
	return &browserRelay{s: s, track: track, clock: clock, rw: newRewriter(s.audio, ssrc, seq, ts, clock()), done: make(chan struct{})}
}

// run reads from the browser's track until it ends.
func (b *browserRelay) run() {
	defer b.dtmf.abort(ErrClosed)
	for {
		b.stepDTMF()
		n, _, err := b.track.Read(b.buf[:])
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue // a DTMF tick or a new DTMF request.
			}
			return
		}
		if b.dtmf.active() {
			// Voice pauses while an event is generated (RFC 4733 2.5.1.1
			// lets the event replace the audio).
			b.s.fromBrowser.add(n, b.clock())
			continue
		}
		b.handle(b.buf[:n])
	}
}

// handle relays one packet from the browser. Hot path: no allocation.
func (b *browserRelay) handle(pkt []byte) {
	s := b.s
	now := b.clock()
	s.fromBrowser.add(len(pkt), now)
	rt := s.route.Load()
	if rt == nil || !rt.send || rtpHeaderLen(pkt) == 0 {
		s.dropped.Add(1)
		return
	}
	ppt := rt.toPBX[pkt[1]&0x7f]
	if ppt == noPT {
		s.dropped.Add(1)
		return
	}
	b.rw.rewriteInPlace(pkt, ppt, rt.clock, now)
	b.send(rt, pkt, now)
}

// send encrypts when SDES is on and writes to the PBX.
func (b *browserRelay) send(rt *route, pkt []byte, now int64) {
	s := b.s
	if b.sentGen != rt.gen {
		// The PBX's answer to our first packet may come from its SDP
		// address only now (latching waits for it).
		b.sentGen = rt.gen
		s.sentAt.Store(now)
		s.sentGen.Store(rt.gen)
	}
	if rt.keys != nil {
		out, err := rt.keys.out.EncryptRTP(b.enc[:0], pkt, &b.shdr)
		if err != nil {
			s.dropped.Add(1)
			return
		}
		pkt = out
	}
	if err := s.pp.writeRTP(pkt, s.dest(rt)); err != nil {
		s.dropped.Add(1)
		return
	}
	s.toPBX.add(len(pkt), now)
	s.sent.lastTS.Store(b.rw.lastTS)
	s.sent.lastAt.Store(b.rw.lastAt)
}

// deadline sets the track read deadline (zero time clears it), or on a
// lite call the DTMF driver's next wake-up.
func (b *browserRelay) deadline(t time.Time) {
	if b.track == nil {
		b.wake = t
		return
	}
	_ = b.track.SetReadDeadline(t) // only fails once the receiver is closed.
}
