package bridge

import (
	"net/netip"
	"sync/atomic"

	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// noPT marks a payload type that is not relayed.
const noPT = 0xff

// route is everything the relay needs about the current negotiation. It is
// immutable once published: renegotiation builds a new one and swaps the
// pointer, so the per-packet path reads it with one atomic load.
type route struct {
	gen        uint64 // bumps on every SDP change; restarts latching
	since      int64  // call clock when published
	remote     netip.AddrPort
	remoteRTCP netip.AddrPort
	send       bool       // the PBX accepts media (not on hold)
	toPBX      [128]uint8 // browser PT -> PBX PT
	toBrowser  [128]uint8 // PBX PT -> browser PT
	clock      uint32     // clock rate of the main codec
	tePBX      uint8      // PBX telephone-event PT for generated DTMF
	teClock    uint32     // its clock rate
	keys       *srtpKeys  // nil for plain RTP
	pbxFormats []format   // what the PBX agreed to, its PTs
	dir        direction  // our direction toward the PBX
}

// srtpKeys are SDES contexts; each is used by one goroutine only.
type srtpKeys struct {
	in, out         *srtp.Context // RTP from / to the PBX
	inRTCP, outRTCP *srtp.Context
}

// latch is the address RTP from the PBX really comes from for one route
// generation (symmetric RTP); see rtpGuard for who may set it.
type latch struct {
	gen  uint64
	addr netip.AddrPort
}

// counters are one direction's traffic; written by the relay goroutine that
// owns the direction, read by Stats and the timeout check.
type counters struct {
	packets atomic.Uint64
	bytes   atomic.Uint64
	last    atomic.Int64 // monotonic ns, 0 = never
}

func (c *counters) add(n int, now int64) {
	c.packets.Add(1)
	c.bytes.Add(uint64(n))
	c.last.Store(now)
}

// recvState is what RTCP receiver reports need about the PBX's stream.
type recvState struct {
	ssrc     atomic.Uint32
	base     atomic.Uint32 // extended seq of the first packet
	highest  atomic.Uint32 // highest extended seq seen
	received atomic.Uint32
	lsr      atomic.Uint32 // middle 32 bits of the PBX's last SR NTP time
	lsrAt    atomic.Int64  // when it arrived
}

// sendState is what sender reports need about our stream to the PBX.
type sendState struct {
	ssrc   atomic.Uint32
	lastTS atomic.Uint32
	lastAt atomic.Int64
}

// stream is one media kind (audio or video) of a call: the RTP/RTCP socket
// pair toward the PBX and the pion track toward the browser.
type stream struct {
	kind  string
	audio bool
	pp    portPair
	track *relayTrack

	route atomic.Pointer[route]
	latch atomic.Pointer[latch]
	// rtcpLatch is where the PBX's RTCP comes from; owned by rtcpRead.
	rtcpLatch atomic.Pointer[latch]
	remote    atomic.Pointer[webrtc.TrackRemote]
	dtmf      atomic.Pointer[dtmfJob]
	// relay is the browser relay of the current browser leg (pion), and
	// carried the rewriter a detached leg left: the next leg continues its
	// SSRC, sequence and timestamps toward the PBX.
	relay   atomic.Pointer[browserRelay]
	carried atomic.Pointer[rewriter]
	// keyframe asks the RTCP goroutine to send PLI to the PBX.
	keyframe chan struct{}

	fromBrowser, toPBX counters
	fromPBX, toBrowser counters
	dropped            atomic.Uint64 // not relayed, for any reason
	rejected           atomic.Uint64 // of those, refused by the source, SRTP and header checks
	policy             *sourcePolicy
	// sentGen and sentAt: the route generation and the time of our first
	// packet to the PBX in it (written by the browser relay, read by the
	// PBX relay's latching).
	sentGen atomic.Uint64
	sentAt  atomic.Int64
	recv    recvState
	sent    sendState
}

func newStream(kind string, pp portPair, callID string, pol *sourcePolicy) *stream {
	k := webrtc.RTPCodecTypeAudio
	if kind == "video" {
		k = webrtc.RTPCodecTypeVideo
	}
	return &stream{kind: kind, audio: kind == "audio", pp: pp, keyframe: make(chan struct{}, 1),
		track: newRelayTrack(k, "", callID), policy: pol}
}

// dest is where RTP to the PBX goes: the latched source when there is one
// for this route, else the SDP address.
func (s *stream) dest(rt *route) netip.AddrPort {
	if l := s.latch.Load(); l != nil && l.gen == rt.gen {
		return l.addr
	}
	return rt.remote
}
