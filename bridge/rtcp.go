package bridge

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtcp"
)

// ntpEpochOffset is seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

func ntpTime(t time.Time) uint64 {
	s := uint64(t.Unix()) + ntpEpochOffset
	f := uint64(t.Nanosecond()) << 32 / 1e9
	return s<<32 | f
}

// rtcpRead reads RTCP from the PBX: sender reports (for our receiver
// reports' LSR/DLSR), keyframe requests (forwarded to the browser) and the
// source address to send our RTCP to. A packet counts only once it is
// authentic (SDES), parses, and comes from the PBX (rtcpGuard). Ends when
// the socket is closed.
func (c *Call) rtcpRead(s *stream) {
	buf := make([]byte, maxPacket)
	dec := make([]byte, maxPacket)
	var (
		guard rtcpGuard
		gen   uint64 // generation s.rtcpLatch was stored for
	)
	rej := &s.policy.rejected
	for {
		n, from, err := s.pp.rtcp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		rt := s.route.Load()
		if rt == nil {
			continue
		}
		pkt := buf[:n]
		if rt.keys != nil {
			if pkt, err = rt.keys.inRTCP.DecryptRTCP(dec[:0], pkt, nil); err != nil {
				s.reject(&rej.srtp)
				continue
			}
		}
		pkts, err := rtcp.Unmarshal(pkt)
		if err != nil {
			s.reject(&rej.header)
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		var rtpSource netip.AddrPort
		if l := s.latch.Load(); l != nil && l.gen == rt.gen {
			rtpSource = l.addr
		}
		ok, moved := guard.admit(rt, from, rtcpSender(pkts), rtpSource, s.recv.ssrc.Load())
		if !ok {
			s.reject(&rej.source)
			continue
		}
		if moved || gen != rt.gen {
			s.rtcpLatch.Store(&latch{gen: rt.gen, addr: from})
			gen = rt.gen
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.SenderReport:
				s.recv.lsr.Store(uint32(p.NTPTime >> 16))
				s.recv.lsrAt.Store(c.clock())
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				c.keyframeToBrowser(s)
			}
		}
	}
}

// keyframeToBrowser asks the browser for a keyframe of its video stream.
func (c *Call) keyframeToBrowser(s *stream) {
	tr := s.remote.Load()
	pc := c.pcShared.Load()
	if s.audio || tr == nil || pc == nil {
		return
	}
	if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}}); err != nil {
		c.log.Debug("PLI to browser", "err", err)
	}
}

// rtcpSend sends SR/RR to the PBX every rtcpEvery and PLI when the browser
// asks for a keyframe. Ends with the call. Lite calls have none: the PBX
// poller sends their reports (sendReport) from its own loop.
func (c *Call) rtcpSend(s *stream) {
	t := time.NewTicker(c.rtcpEvery)
	defer t.Stop()
	var rep reportState
	buf := make([]byte, 0, maxPacket)
	for {
		pli := false
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-s.keyframe:
			pli = true
		}
		c.sendReport(s, &rep, buf, pli)
	}
}

// sendReport sends one SR/RR (and a PLI when asked) to the PBX, into buf's
// room. One goroutine per stream at a time (rep is its state).
func (c *Call) sendReport(s *stream, rep *reportState, buf []byte, pli bool) {
	rt := s.route.Load()
	if rt == nil || !rt.send {
		return
	}
	if l := s.latch.Load(); l == nil || l.gen != rt.gen {
		// No RTP from the PBX on this route yet: nothing to report, and
		// the SDP address may not be where the PBX really is.
		return
	}
	pkts := []rtcp.Packet{rep.report(c, s, rt)}
	if pli && !s.audio && s.recv.ssrc.Load() != 0 {
		pkts = append(pkts, &rtcp.PictureLossIndication{SenderSSRC: s.sent.ssrc.Load(), MediaSSRC: s.recv.ssrc.Load()})
	}
	raw, err := rtcp.Marshal(pkts)
	if err != nil {
		return
	}
	if rt.keys != nil {
		if raw, err = rt.keys.outRTCP.EncryptRTCP(buf[:0], raw, nil); err != nil {
			return
		}
	}
	dst := rt.remoteRTCP
	if l := s.rtcpLatch.Load(); l != nil && l.gen == rt.gen {
		dst = l.addr
	}
	if _, err := s.pp.rtcp.WriteToUDPAddrPort(raw, dst); err != nil {
		c.log.Debug("RTCP to PBX", "err", err)
	}
}

// reportState remembers the previous report for "fraction lost".
type reportState struct {
	expected, received uint32
}

// report builds an SR when we sent RTP, else an RR.
func (r *reportState) report(c *Call, s *stream, rt *route) rtcp.Packet {
	ssrc := s.sent.ssrc.Load()
	if ssrc == 0 {
		ssrc = uint32(c.sessID) | 1
	}
	var blocks []rtcp.ReceptionReport
	if src := s.recv.ssrc.Load(); src != 0 {
		highest, recvd := s.recv.highest.Load(), s.recv.received.Load()
		expected := highest - s.recv.base.Load() + 1
		lost := int64(expected) - int64(recvd)
		dExp, dRecv := expected-r.expected, recvd-r.received
		var frac uint8
		if dExp > 0 && dExp > dRecv {
			frac = uint8((dExp - dRecv) << 8 / dExp)
		}
		r.expected, r.received = expected, recvd
		var dlsr uint32
		if at := s.recv.lsrAt.Load(); at != 0 {
			dlsr = uint32(time.Duration(c.clock()-at).Seconds() * 65536)
		}
		blocks = append(blocks, rtcp.ReceptionReport{SSRC: src, FractionLost: frac,
			TotalLost: uint32(min(max(lost, 0), 0x7fffff)), LastSequenceNumber: highest,
			LastSenderReport: s.recv.lsr.Load(), Delay: dlsr})
	}
	pkts := s.toPBX.packets.Load()
	if pkts == 0 {
		return &rtcp.ReceiverReport{SSRC: ssrc, Reports: blocks}
	}
	now := c.clock()
	elapsed := time.Duration(now - s.sent.lastAt.Load())
	rtpTS := s.sent.lastTS.Load() + uint32(elapsed.Seconds()*float64(rt.clock))
	return &rtcp.SenderReport{SSRC: ssrc, NTPTime: ntpTime(time.Now()), RTPTime: rtpTS,
		PacketCount: uint32(pkts), OctetCount: uint32(s.toPBX.bytes.Load() - 12*pkts), Reports: blocks}
}
