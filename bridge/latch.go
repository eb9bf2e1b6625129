package bridge

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// Strict source (symmetric RTP). Where the PBX's media comes from decides
// where the visitor's media goes, so a packet counts only once it is
// valid RTP and, with SDES, authenticated; then its source must be the one
// the route latched, or the address the SDP names, or a new source that
// proved itself (see rtpGuard).
const (
	// probationPackets is how many consecutive in-sequence packets (one
	// SSRC, each sequence number one more) a source the SDP does not name
	// must send before it is learned: a stray datagram, a scanner or a late
	// packet of an earlier call on a reused port never qualifies. Asterisk's
	// strictrtp probation is 4; 5 is 100 ms of 20 ms audio.
	probationPackets = 5
	// defaultLearnQuiet is how long the current source, or before any the
	// SDP address, must have been silent before another source may be
	// learned. A live source sends every 20 ms, so a second sender can never
	// take the latch while the PBX keeps sending, however well it imitates a
	// stream; before the PBX was heard, it gives the SDP address time to
	// answer our first packet (a PBX that only echoes, or one slow to start).
	// A PBX behind a NAT that sends from an address its SDP does not name
	// loses this much audio at the start of the call (rtpengine's delayed
	// learning waits 3 s for the same reason).
	defaultLearnQuiet = time.Second
	// rtcpProbation is how many consecutive reports a new RTCP source (on
	// the host of the latched RTP source, naming its SSRC) sends before it
	// is learned; RTCP comes every few seconds, so two are enough to ignore
	// a one-off.
	rtcpProbation = 2
)

// Rejected counts packets refused on the sockets toward the PBX, RTP and
// RTCP together, since the engine started.
type Rejected struct {
	Source uint64 // from a source that is not the PBX's
	SRTP   uint64 // failed SRTP authentication (SDES)
	Header uint64 // not RTP/RTCP: too short, wrong version, bad lengths
}

// rejectCounters are the engine's Rejected; any relay goroutine adds to
// them, only on the rejecting path.
type rejectCounters struct {
	source, srtp, header atomic.Uint64
}

// Rejected reads the counters of refused packets; cheap, safe at any time.
func (e *Engine) Rejected() Rejected {
	r := &e.policy.rejected
	return Rejected{Source: r.source.Load(), SRTP: r.srtp.Load(), Header: r.header.Load()}
}

// sourcePolicy is what every stream of an engine shares about latching.
type sourcePolicy struct {
	learnQuiet int64 // ns; see defaultLearnQuiet
	rejected   rejectCounters
}

// rtpGuard decides which source RTP from the PBX may come from, per route
// generation. It is owned by the stream's pbxRelay: no locks.
type rtpGuard struct {
	gen    uint64
	remote netip.AddrPort // the SDP address of the generation
	cur    netip.AddrPort // the accepted source; invalid until there is one
	heard  int64          // when cur, or before any the route, was last heard

	cand     netip.AddrPort // a source in probation
	candSSRC uint32
	candSeq  uint16
	candN    int
}

// admit reports whether a valid packet from `from` is the PBX's, and whether
// the latch moved to `from` (the caller also latches the accepted source
// once per generation). sentAt is when we first sent to the PBX in this
// generation (0 before).
func (g *rtpGuard) admit(rt *route, from netip.AddrPort, ssrc uint32, seq uint16, now, sentAt, quiet int64) (ok, moved bool) {
	if g.gen != rt.gen {
		// A new negotiation; a learned source survives it when the SDP
		// address did not change (a session refresh, new keys, hold).
		if rt.remote != g.remote {
			g.cur, g.heard = netip.AddrPort{}, rt.since
		}
		g.gen, g.remote, g.candN = rt.gen, rt.remote, 0
	}
	switch {
	case from == g.cur:
		g.heard, g.candN = now, 0
		return true, false
	case from == rt.remote:
		// The address the PBX signalled: trusted at once.
		g.cur, g.heard, g.candN = from, now, 0
		return true, true
	}
	if g.candN > 0 && from == g.cand && ssrc == g.candSSRC && seq == g.candSeq+1 {
		g.candN++
		g.candSeq = seq
	} else {
		g.cand, g.candSSRC, g.candSeq, g.candN = from, ssrc, seq, 1
	}
	since := g.heard
	if !g.cur.IsValid() {
		// Nobody heard yet: the SDP address gets `quiet` to answer our
		// first packet. Until we sent one (we send unless on hold) nothing
		// is learned, however long call setup takes.
		if rt.send && sentAt == 0 {
			return false, false
		}
		since = max(since, sentAt)
	}
	if g.candN >= probationPackets && now-since >= quiet {
		g.cur, g.heard, g.candN = from, now, 0
		return true, true
	}
	return false, false
}

// rtcpGuard is rtpGuard for RTCP, owned by rtcpRead. RTCP has no sequence
// numbers; a source the SDP does not name must be on the host the RTP latch
// proved, report the SSRC the PBX's RTP uses, and send rtcpProbation
// reports in a row.
type rtcpGuard struct {
	gen    uint64
	remote netip.AddrPort
	cur    netip.AddrPort
	cand   netip.AddrPort
	candN  int
}

// admit reports whether an RTCP packet from `from`, whose first report
// names sender ssrc, is the PBX's, and whether the RTCP latch moves to it.
// rtpSource is the RTP latch of this generation (invalid when none) and
// pbxSSRC the SSRC of the PBX's RTP.
func (g *rtcpGuard) admit(rt *route, from netip.AddrPort, ssrc uint32, rtpSource netip.AddrPort, pbxSSRC uint32) (ok, moved bool) {
	if g.gen != rt.gen {
		if rt.remoteRTCP != g.remote {
			g.cur = netip.AddrPort{}
		}
		g.gen, g.remote, g.candN = rt.gen, rt.remoteRTCP, 0
	}
	switch {
	case from == g.cur:
		g.candN = 0
		return true, false
	case from == rt.remoteRTCP:
		g.cur, g.candN = from, 0
		return true, true
	case !rtpSource.IsValid() || from.Addr() != rtpSource.Addr() || pbxSSRC == 0 || ssrc != pbxSSRC:
		g.candN = 0
		return false, false
	}
	if g.candN > 0 && from == g.cand {
		g.candN++
	} else {
		g.cand, g.candN = from, 1
	}
	if g.candN >= rtcpProbation {
		g.cur, g.candN = from, 0
		return true, true
	}
	return false, false
}

// rtcpSender is the sender SSRC of a compound RTCP packet's first report
// (RFC 3550 6.1: it starts with an SR or RR), 0 when it has none.
func rtcpSender(pkts []rtcp.Packet) uint32 {
	if len(pkts) == 0 {
		return 0
	}
	switch p := pkts[0].(type) {
	case *rtcp.SenderReport:
		return p.SSRC
	case *rtcp.ReceiverReport:
		return p.SSRC
	}
	return 0
}

// reject counts a refused packet for the stream and the engine.
func (s *stream) reject(r *atomic.Uint64) {
	s.dropped.Add(1)
	s.rejected.Add(1)
	r.Add(1)
}
