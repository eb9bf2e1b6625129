//go:build integration

package e2e

import (
	"encoding/json"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// phone is a visitor's browser as far as calls go: a WebRTC PeerConnection
// of its own (pion, on 127.0.0.1 only) with one audio track that sends a
// tone as 20 ms G.711 μ-law frames, and counts and decodes what comes back.
// It speaks the Widget-API through a harness visitor.
type phone struct {
	t      *testing.T
	v      *visitor
	pc     *webrtc.PeerConnection
	audio  *webrtc.TrackLocalStaticRTP
	toneHz float64

	pcConnected chan struct{} // closed when the PeerConnection is connected
	pcFailed    chan struct{} // closed when it failed
	stop        chan struct{}
	wg          sync.WaitGroup

	queue     []map[string]any // Widget-API messages read but not consumed
	answerSet bool             // a SELECT answer was applied

	mu      sync.Mutex
	sent    map[string]bool // payloads sent (a periodic tone repeats a few frames)
	samples []int16         // the most recent decoded audio received

	received atomic.Int64 // audio RTP packets received
	echoed   atomic.Int64 // of those, payloads identical to one we sent
	foreign  atomic.Int64 // audio packets with a payload type other than PCMU
	video    atomic.Int64 // video RTP packets received
}

type phoneOptions struct {
	Opus   bool    // offer Opus before PCMU, like a browser (the phone only sends PCMU)
	Video  bool    // add a receive-only video m-line (VP8)
	ToneHz float64 // the tone sent; default 440 Hz
	DTMF   bool    // offer telephone-event/8000 (PT 101), so keys go in the media
	// IP is the one local address ICE uses (default: loopback only), for
	// a phone inside a network namespace.
	IP string
	// ICEServers are STUN and TURN servers, as the IceConfig named them.
	ICEServers []webrtc.ICEServer
}

const (
	ulawRate       = 8000
	frameSamples   = 160 // 20 ms at 8 kHz
	toneWindow     = 800 // samples the tone detector looks at (100 ms)
	phoneGather    = 10 * time.Second
	phoneConnected = 45 * time.Second // a bound: 100 handshakes at once on a busy 2-core machine take a while
)

// newPhone builds the PeerConnection and starts sending the tone (nothing
// leaves before the answer is applied and ICE connects).
func newPhone(t *testing.T, v *visitor, o phoneOptions) *phone {
	t.Helper()
	if o.ToneHz == 0 {
		o.ToneHz = 440
	}
	me := &webrtc.MediaEngine{}
	var audio []webrtc.RTPCodecParameters
	if o.Opus {
		audio = append(audio, webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111})
	}
	audio = append(audio, webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypePCMU, ClockRate: ulawRate, Channels: 1}, PayloadType: 0})
	if o.DTMF {
		audio = append(audio, webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: "audio/telephone-event", ClockRate: ulawRate, Channels: 1, SDPFmtpLine: "0-16"}, PayloadType: 101})
	}
	for _, c := range audio {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	if o.Video {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	if o.IP == "" {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	} else {
		only := net.ParseIP(o.IP)
		se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(only) })
	}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: o.ICEServers})
	if err != nil {
		t.Fatal(err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: ulawRate, Channels: 1}, "audio", "visitor")
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{
		t: t, v: v, pc: pc, audio: track, toneHz: o.ToneHz,
		pcConnected: make(chan struct{}), pcFailed: make(chan struct{}), stop: make(chan struct{}),
		sent: map[string]bool{},
	}
	var connectedOnce, failedOnce sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connectedOnce.Do(func() { close(p.pcConnected) })
		case webrtc.PeerConnectionStateFailed:
			failedOnce.Do(func() { close(p.pcFailed) })
		}
	})
	pc.OnTrack(p.onTrack)
	sender, err := pc.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	if o.Video {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	p.wg.Add(2)
	go func() { // RTCP about our track: read and drop
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	go p.sendTone()
	t.Cleanup(p.close)
	return p
}

func (p *phone) close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	_ = p.pc.Close()
	p.wg.Wait()
}

// sendTone writes a 20 ms μ-law frame of the tone every 20 ms.
func (p *phone) sendTone() {
	defer p.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var n int
	seq := uint16(1000)
	ts := uint32(160000)
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		payload := make([]byte, frameSamples)
		for i := range payload {
			x := 0.4 * 32767 * math.Sin(2*math.Pi*p.toneHz*float64(n)/ulawRate)
			payload[i] = linearToULaw(int16(x))
			n++
		}
		p.mu.Lock()
		p.sent[string(payload)] = true
		p.mu.Unlock()
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: seq == 1000, SequenceNumber: seq, Timestamp: ts}, Payload: payload}
		seq++
		ts += frameSamples
		// Before the answer the track is not bound and this is a no-op.
		if err := p.audio.WriteRTP(pkt); err != nil && !strings.Contains(err.Error(), "closed") {
			p.t.Logf("phone: write RTP: %v", err)
		}
	}
}

// onTrack reads a track until the PeerConnection closes.
func (p *phone) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			p.video.Add(1)
			continue
		}
		if pkt.PayloadType != 0 {
			p.foreign.Add(1)
			continue
		}
		p.mu.Lock()
		if p.sent[string(pkt.Payload)] {
			p.echoed.Add(1)
		}
		for _, b := range pkt.Payload {
			p.samples = append(p.samples, ulawToLinear(b))
		}
		if len(p.samples) > 4*toneWindow {
			p.samples = append(p.samples[:0], p.samples[len(p.samples)-toneWindow:]...)
		}
		p.mu.Unlock()
		p.received.Add(1)
	}
}

// offer creates the offer and waits (bounded) for ICE gathering to finish,
// as the Widget-API wants a complete offer.
func (p *phone) offer() string {
	p.t.Helper()
	if d := p.pc.LocalDescription(); d != nil {
		return d.SDP
	}
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(phoneGather):
		p.t.Fatalf("ICE gathering not complete within %v", phoneGather)
	}
	return p.pc.LocalDescription().SDP
}

// createCall sends only CreateCall (for refusals).
func (p *phone) createCall(dest string, video bool) {
	p.t.Helper()
	p.sendJSON(map[string]any{"mt": "CreateCall", "dest": dest, "dn": "Vera Visitor", "video": video})
}

// propose sends Channels PROPOSAL with the complete offer.
func (p *phone) propose() {
	p.t.Helper()
	p.sendJSON(map[string]any{"mt": "Channels", "cmd": "PROPOSAL", "sdp": p.offer()})
}

// dial is CreateCall then the offer, as the widget does it.
func (p *phone) dial(dest string, video bool) {
	p.t.Helper()
	sdp := p.offer()
	p.createCall(dest, video)
	p.sendJSON(map[string]any{"mt": "Channels", "cmd": "PROPOSAL", "sdp": sdp})
}

func (p *phone) hangUp() { p.t.Helper(); p.sendJSON(map[string]any{"mt": "ClearCall"}) }

func (p *phone) sendJSON(m map[string]any) {
	p.t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		p.t.Fatal(err)
	}
	p.v.send(string(b))
}

// drain moves the messages that already arrived into the queue.
func (p *phone) drain() {
	for {
		select {
		case m, ok := <-p.v.msgs:
			if !ok {
				return
			}
			p.queue = append(p.queue, m)
		default:
			return
		}
	}
}

// pending reports whether a CallInfo in state already arrived unread.
func (p *phone) pending(state string) bool {
	p.drain()
	for _, m := range p.queue {
		if m["mt"] == "CallInfo" && m["state"] == state {
			return true
		}
	}
	return false
}

// nextMessage returns the next Widget-API message of a call (CallInfo or
// Error), skipping presence and session messages.
func (p *phone) nextMessage(what string, timeout time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		for len(p.queue) > 0 {
			m := p.queue[0]
			p.queue = p.queue[1:]
			if m["mt"] == "CallInfo" || m["mt"] == "Error" {
				return m
			}
		}
		select {
		case m, ok := <-p.v.msgs:
			if !ok {
				p.t.Fatalf("%s: websocket closed", what)
			}
			p.queue = append(p.queue, m)
		case <-deadline:
			p.t.Fatalf("%s: nothing within %v", what, timeout)
		}
	}
}

// nextWidgetMessage returns the next Widget-API message of any type except
// presence and session updates.
func (p *phone) nextWidgetMessage(what string, timeout time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		for len(p.queue) > 0 {
			m := p.queue[0]
			p.queue = p.queue[1:]
			if m["mt"] != "Info" && m["mt"] != "Session" && m["mt"] != "Remove" {
				return m
			}
		}
		select {
		case m, ok := <-p.v.msgs:
			if !ok {
				p.t.Fatalf("%s: websocket closed", what)
			}
			p.queue = append(p.queue, m)
		case <-deadline:
			p.t.Fatalf("%s: nothing within %v", what, timeout)
		}
	}
}

// expect reads the next call message, which must be CallInfo in state. A
// SELECT answer in it is applied to the PeerConnection; a second one fails
// the test (the Widget-API sends the answer once).
func (p *phone) expect(state string, timeout time.Duration) map[string]any {
	p.t.Helper()
	m := p.nextMessage("CallInfo "+state, timeout)
	if m["mt"] != "CallInfo" || m["state"] != state {
		p.t.Fatalf("got %v, want CallInfo %s", m, state)
	}
	if sdp, _ := m["sdp"].(string); sdp != "" {
		if m["cmd"] != "SELECT" {
			p.t.Errorf("CallInfo with sdp but cmd %v", m["cmd"])
		}
		if p.answerSet {
			p.t.Fatalf("a second SDP answer: %v", m)
		}
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
			p.t.Fatalf("apply the gateway's answer: %v\n%s", err, sdp)
		}
		p.answerSet = true
	}
	return m
}

// expectEnd waits for CallInfo terminated with reason.
func (p *phone) expectEnd(reason string, timeout time.Duration) {
	p.t.Helper()
	if m := p.expect("terminated", timeout); m["reason"] != reason {
		p.t.Fatalf("call ended with %v, want reason %s", m, reason)
	}
}

// expectError waits for an Error with code.
func (p *phone) expectError(code string, timeout time.Duration) {
	p.t.Helper()
	m := p.nextMessage("Error "+code, timeout)
	if m["mt"] != "Error" || m["code"] != code {
		p.t.Fatalf("got %v, want Error %s", m, code)
	}
}

// waitMedia waits until the PeerConnection is connected (ICE and DTLS).
func (p *phone) waitMedia() {
	p.t.Helper()
	select {
	case <-p.pcConnected:
	case <-p.pcFailed:
		p.t.Fatal("the PeerConnection failed")
	case <-time.After(phoneConnected):
		p.t.Fatalf("the PeerConnection did not connect within %v (state %s)", phoneConnected, p.pc.ConnectionState())
	}
}

// waitCount polls a counter until it reaches n (bounded).
func (p *phone) waitCount(what string, c *atomic.Int64, n int64, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for c.Load() < n {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: %d within %v, want %d (received %d, echoed %d)", what, c.Load(), timeout, n, p.received.Load(), p.echoed.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// toneLevel is the share of the last toneWindow received samples' energy at
// hz (Goertzel): about 1 for a clean tone at hz, about 0 for other sounds.
func (p *phone) toneLevel(hz float64) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.samples) < toneWindow {
		return 0
	}
	return goertzelShare(p.samples[len(p.samples)-toneWindow:], hz)
}

func goertzelShare(x []int16, hz float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*hz/ulawRate)
	var s1, s2, energy float64
	for _, v := range x {
		f := float64(v)
		s0 := f + coeff*s1 - s2
		s2, s1 = s1, s0
		energy += f * f
	}
	if energy == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * power / (float64(len(x)) * energy)
}

// linearToULaw is G.711 μ-law encoding.
func linearToULaw(s int16) byte {
	const bias, clip = 0x84, 32635
	x, sign := int(s), 0
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, clip) + bias
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (x >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// ulawToLinear is G.711 μ-law decoding.
func ulawToLinear(u byte) int16 {
	u = ^u
	exp := int(u>>4) & 7
	x := ((int(u&0x0f) << 3) + 0x84) << exp
	x -= 0x84
	if u&0x80 != 0 {
		return int16(-x)
	}
	return int16(x)
}
