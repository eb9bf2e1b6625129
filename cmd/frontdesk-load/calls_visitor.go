package main

// The visitors of the calls measurement: each one is a Widget-API session
// (websocket) and a pion PeerConnection offering PCMU only. Once the call is
// connected it sends one 20 ms PCMU packet per tick whose payload starts
// with the send time and a sequence number, and reads the echo that comes
// back through the gateway.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

const (
	packetInterval = 20 * time.Millisecond
	pcmuPayload    = 160 // bytes of G.711 in 20 ms
	// stampBytes is the part of the payload the tool writes: send time
	// (monotonic ns since the run's base) and sequence number.
	stampBytes = 12

	callSetupTimeout = 20 * time.Second // CreateCall until connected and ICE/DTLS up
	hangupWait       = 10 * time.Second // ClearCall until CallInfo terminated
	gatherTimeout    = 5 * time.Second
)

// visitorPorts is the UDP range of the visitors' PeerConnections; it must
// not overlap the gateway's webrtc_ports or rtp_ports.
const visitorPortLo, visitorPortHi = 50000, 53999

// visitorAPI is the pion side shared by all visitors: one API (PCMU only,
// loopback host candidates only, the visitor port range, no interceptors)
// and one DTLS certificate, so a new visitor costs no key generation.
type visitorAPI struct {
	api  *webrtc.API
	cert webrtc.Certificate
}

func newVisitorAPI() (*visitorAPI, error) {
	se := webrtc.SettingEngine{}
	if err := se.SetEphemeralUDPPortRange(visitorPortLo, visitorPortHi); err != nil {
		return nil, fmt.Errorf("visitor port range: %w", err)
	}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register PCMU: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("visitor DTLS key: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return nil, fmt.Errorf("visitor DTLS certificate: %w", err)
	}
	return &visitorAPI{api: webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)), cert: *cert}, nil
}

var pcmuCapability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}

// visitor is one caller.
type visitor struct {
	id   int
	base time.Time // send stamps are offsets from base (monotonic)

	sig   signaling // the system's call signaling (Widget-API or Janus)
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP

	// Filled by the signaling's reader.
	answer      chan string // the SDP answer, once
	answerOnce  sync.Once
	connectedAt atomic.Int64  // offset from base when the call was answered; 0 before
	connected   chan struct{} // closed when the call was answered
	connOnce    sync.Once
	ended       chan struct{} // closed when the call ended, on an error or a lost connection
	endOnce     sync.Once
	endMu       sync.Mutex
	endReason   string
	hangingUp   atomic.Bool   // ended by the tool's hangup
	pcConnected chan struct{} // ICE+DTLS up
	pcOnce      sync.Once
	pcFailed    chan struct{}
	pcFailOnce  sync.Once

	// Sender.
	next      atomic.Uint32 // sequence number of the next packet
	sendErrs  atomic.Int64
	stopSend  chan struct{}
	stopOnce  sync.Once
	sending   atomic.Bool // the sender was started
	senderEnd chan struct{}

	// Receiver: rtt[seq] is the round trip in µs + 1 (0: not received).
	mu      sync.Mutex
	rtt     []uint32
	recvBad atomic.Int64 // packets too short, or with a stamp or sequence never sent

	setup      time.Duration // call request sent until answered
	mediaReady time.Duration // call request sent until the PeerConnection is connected
}

// signaling is how a visitor places its call on the system under test: the
// Widget-API of frontdesk, or the Janus SIP plugin's API.
type signaling interface {
	// open connects and gets ready to call (a widget session up to
	// IceConfig; a Janus session, SIP handle and guest registration), then
	// keeps reading, reporting to v (gotAnswer, answered, end).
	open(ctx context.Context, v *visitor) error
	// call sends the call request with the complete SDP offer.
	call(offer string) error
	// hangup asks the system to end the call.
	hangup() error
	// hungUpReason is the end reason that confirms our own hangup.
	hungUpReason() string
	// close ends the connection and waits (bounded) for its reader.
	close()
}

// wsMessage is the part of a gateway message a visitor looks at.
type wsMessage struct {
	MT     string `json:"mt"`
	State  string `json:"state"`
	SDP    string `json:"sdp"`
	Reason string `json:"reason"`
	Code   string `json:"code"`
}

var (
	prefixCallInfo = []byte(`{"mt":"CallInfo"`)
	dialer         = &websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 4096}
)

// openCall connects one visitor: the signaling, a PeerConnection with a
// complete offer, the call request, the answer, ICE and DTLS; then the
// sender starts. On error everything the visitor opened is closed.
func openCall(ctx context.Context, va *visitorAPI, sig signaling, id int, base time.Time) (v *visitor, err error) {
	ctx, cancel := context.WithTimeout(ctx, callSetupTimeout)
	defer cancel()
	v = &visitor{
		id: id, base: base, sig: sig,
		answer: make(chan string, 1), connected: make(chan struct{}), ended: make(chan struct{}),
		pcConnected: make(chan struct{}), pcFailed: make(chan struct{}),
		stopSend: make(chan struct{}), senderEnd: make(chan struct{}),
	}
	defer func() {
		if err != nil {
			v.close()
			v = nil
		}
	}()
	if err := sig.open(ctx, v); err != nil {
		return v, fmt.Errorf("visitor %d: %w", id, err)
	}
	if err := v.newPeer(va); err != nil {
		return v, fmt.Errorf("visitor %d: %w", id, err)
	}
	offer, err := v.pc.CreateOffer(nil)
	if err != nil {
		return v, fmt.Errorf("visitor %d: create offer: %w", id, err)
	}
	gathered := webrtc.GatheringCompletePromise(v.pc)
	if err := v.pc.SetLocalDescription(offer); err != nil {
		return v, fmt.Errorf("visitor %d: set local description: %w", id, err)
	}
	select {
	case <-gathered:
	case <-time.After(gatherTimeout):
		return v, fmt.Errorf("visitor %d: ICE gathering not complete within %v", id, gatherTimeout)
	case <-ctx.Done():
		return v, fmt.Errorf("visitor %d: gathering: %w", id, ctx.Err())
	}

	t0 := time.Now()
	if err := sig.call(v.pc.LocalDescription().SDP); err != nil {
		return v, fmt.Errorf("visitor %d: %w", id, err)
	}
	select {
	case <-v.connected:
	case <-v.ended:
		return v, fmt.Errorf("visitor %d: call ended before connected: %s", id, v.reason())
	case <-ctx.Done():
		return v, fmt.Errorf("visitor %d: not answered within %v", id, callSetupTimeout)
	}
	v.setup = time.Duration(v.connectedAt.Load()) - t0.Sub(base)
	var answer string
	select {
	case answer = <-v.answer:
	default:
		return v, fmt.Errorf("visitor %d: connected without an SDP answer", id)
	}
	if err := v.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return v, fmt.Errorf("visitor %d: set remote description: %w", id, err)
	}
	select {
	case <-v.pcConnected:
	case <-v.pcFailed:
		return v, fmt.Errorf("visitor %d: PeerConnection failed", id)
	case <-v.ended:
		return v, fmt.Errorf("visitor %d: call ended before media: %s", id, v.reason())
	case <-ctx.Done():
		return v, fmt.Errorf("visitor %d: PeerConnection not connected within %v", id, callSetupTimeout)
	}
	v.mediaReady = time.Since(t0)
	v.sending.Store(true)
	go v.send()
	return v, nil
}

// gotAnswer hands over the SDP answer (the first one counts).
func (v *visitor) gotAnswer(sdp string) {
	v.answerOnce.Do(func() { v.answer <- sdp })
}

// answered records that the call was answered, once.
func (v *visitor) answered() {
	v.connOnce.Do(func() {
		v.connectedAt.Store(int64(max(time.Since(v.base), 1)))
		close(v.connected)
	})
}

func (v *visitor) newPeer(va *visitorAPI) error {
	pc, err := va.api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{va.cert}})
	if err != nil {
		return fmt.Errorf("new PeerConnection: %w", err)
	}
	v.pc = pc
	track, err := webrtc.NewTrackLocalStaticRTP(pcmuCapability, "audio", "visitor-"+strconv.Itoa(v.id))
	if err != nil {
		return fmt.Errorf("new track: %w", err)
	}
	v.track = track
	sender, err := pc.AddTrack(track)
	if err != nil {
		return fmt.Errorf("add track: %w", err)
	}
	// RTCP from the system is read and dropped so its buffer never fills.
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			v.pcOnce.Do(func() { close(v.pcConnected) })
		case webrtc.PeerConnectionStateFailed:
			v.pcFailOnce.Do(func() { close(v.pcFailed) })
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { v.receive(tr) })
	return nil
}

// end records why the call ended (the first reason wins).
func (v *visitor) end(reason string) {
	v.endOnce.Do(func() {
		v.endMu.Lock()
		v.endReason = reason
		v.endMu.Unlock()
		close(v.ended)
	})
}

func (v *visitor) reason() string {
	v.endMu.Lock()
	defer v.endMu.Unlock()
	return v.endReason
}

// isEnded reports whether the call has ended.
func (v *visitor) isEnded() bool {
	select {
	case <-v.ended:
		return true
	default:
		return false
	}
}

// send writes one packet every 20 ms until stopped or the call ends.
func (v *visitor) send() {
	defer close(v.senderEnd)
	ssrc := uint32(v.id) + 1
	pkt := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 0, SSRC: ssrc},
		Payload: bytes.Repeat([]byte{0xff}, pcmuPayload), // µ-law silence after the stamp
	}
	tick := time.NewTicker(packetInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-v.stopSend:
			return
		case <-v.ended:
			return
		}
		seq := v.next.Load()
		// Counted before the write, so an echo can never be ahead of it.
		v.next.Store(seq + 1)
		binary.BigEndian.PutUint64(pkt.Payload, uint64(time.Since(v.base)))
		binary.BigEndian.PutUint32(pkt.Payload[8:], seq)
		pkt.SequenceNumber = uint16(seq)
		pkt.Timestamp = seq * pcmuPayload
		pkt.Marker = seq == 0
		if err := v.track.WriteRTP(&pkt); err != nil {
			v.sendErrs.Add(1)
		}
	}
}

// receive reads the echoed packets from the gateway.
func (v *visitor) receive(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	var h rtp.Header
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		now := time.Since(v.base)
		hl, err := h.Unmarshal(buf[:n])
		if err != nil || n-hl < stampBytes {
			v.recvBad.Add(1)
			continue
		}
		p := buf[hl:n]
		sent := time.Duration(binary.BigEndian.Uint64(p))
		seq := binary.BigEndian.Uint32(p[8:])
		if seq >= v.next.Load() || sent <= 0 || sent > now {
			v.recvBad.Add(1)
			continue
		}
		us := uint32(min((now-sent)/time.Microsecond, 1<<31)) + 1
		v.mu.Lock()
		for int(seq) >= len(v.rtt) {
			v.rtt = append(v.rtt, make([]uint32, max(256, len(v.rtt)))...)
		}
		v.rtt[seq] = us
		v.mu.Unlock()
	}
}

// window reports, for the packets with sequence numbers in [from, to), how
// many came back and their round trips (appended to rtts).
func (v *visitor) window(from, to uint32, rtts []time.Duration) (received int64, out []time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for s := from; s < to && int(s) < len(v.rtt); s++ {
		if us := v.rtt[s]; us != 0 {
			received++
			rtts = append(rtts, time.Duration(us-1)*time.Microsecond)
		}
	}
	return received, rtts
}

// hangup asks the system to end the call and waits (bounded) for the
// end. It reports whether the system confirmed it as our hangup.
func (v *visitor) hangup() bool {
	v.stopOnce.Do(func() { close(v.stopSend) })
	if v.isEnded() {
		return false
	}
	v.hangingUp.Store(true)
	if err := v.sig.hangup(); err != nil {
		return false
	}
	select {
	case <-v.ended:
		return v.reason() == v.sig.hungUpReason()
	case <-time.After(hangupWait):
		return false
	}
}

// close releases everything the visitor holds and waits for its goroutines.
func (v *visitor) close() {
	v.stopOnce.Do(func() { close(v.stopSend) })
	if v.pc != nil {
		_ = v.pc.Close()
	}
	v.sig.close()
	if v.sending.Load() {
		select {
		case <-v.senderEnd: // at the next tick at the latest
		case <-time.After(5 * time.Second):
		}
	}
}
