package main

// The visitors of the calls measurement: each one is a call signaling
// session (Widget-API or Janus) and a WebRTC media session offering PCMU
// only. Each visitor has a UDP socket of its own, as a browser would (the
// system tells its peers apart by address), with internal/webrtclite for ICE
// checks, DTLS-SRTP and SRTP; all visitors share one sender loop, so the
// load costs little CPU next to the system it measures. Once the call is connected each visitor sends one
// 20 ms PCMU packet per tick whose payload starts with the send time and a
// sequence number, and the echo that comes back through the system is timed.

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/webrtclite"
	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

const (
	packetInterval = 20 * time.Millisecond
	pcmuPayload    = 160 // bytes of G.711 in 20 ms
	// stampBytes is the part of the payload the tool writes: send time
	// (monotonic ns since the run's base) and sequence number.
	stampBytes = 12

	callSetupTimeout = 20 * time.Second // call request until answered and ICE/DTLS up
	hangupWait       = 10 * time.Second // hangup until the system confirms it
	// senderSlots spreads the visitors' packets over the 20 ms interval:
	// the sender loop wakes every packetInterval/senderSlots and sends for
	// one slot's visitors, so the load is smooth, not a burst every 20 ms.
	senderSlots = 20
)

// visitorNet is the media side shared by all visitors: the sender loop.
type visitorNet struct {
	base time.Time

	mu    sync.Mutex
	slots [senderSlots][]*visitor // sending visitors, by slot
	next  int                     // slot of the next visitor

	stop chan struct{}
	done chan struct{}
}

func newVisitorNet(base time.Time) (*visitorNet, error) {
	n := &visitorNet{base: base, stop: make(chan struct{}), done: make(chan struct{})}
	go n.sendLoop()
	return n, nil
}

// close stops the sender.
func (n *visitorNet) close() {
	close(n.stop)
	<-n.done
}

// add makes v send from now on.
func (n *visitorNet) add(v *visitor) {
	n.mu.Lock()
	n.slots[n.next] = append(n.slots[n.next], v)
	n.next = (n.next + 1) % senderSlots
	n.mu.Unlock()
}

// remove stops v's packets.
func (n *visitorNet) remove(v *visitor) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, s := range n.slots {
		for j, o := range s {
			if o == v {
				n.slots[i] = append(s[:j], s[j+1:]...)
				return
			}
		}
	}
}

// sendLoop sends one packet per sending visitor per packetInterval, one
// slot at a time. Slots are due by the clock, not by ticks: a late wake-up
// catches up, so every visitor sends 50 packets a second.
func (n *visitorNet) sendLoop() {
	defer close(n.done)
	slot := packetInterval / senderSlots
	tick := time.NewTicker(slot)
	defer tick.Stop()
	start := time.Now()
	var batch []*visitor
	for done := 0; ; {
		select {
		case <-n.stop:
			return
		case <-tick.C:
		}
		for due := int(time.Since(start) / slot); done < due; done++ {
			n.mu.Lock()
			batch = append(batch[:0], n.slots[done%senderSlots]...)
			n.mu.Unlock()
			for _, v := range batch {
				v.sendOne()
			}
		}
	}
}

// visitor is one caller.
type visitor struct {
	id   int
	base time.Time // send stamps are offsets from base (monotonic)

	sig  signaling // the system's call signaling (Widget-API or Janus)
	net  *visitorNet
	tr   *webrtclite.Transport // the visitor's own socket
	sess *webrtclite.Session

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
	hangingUp   atomic.Bool // ended by the tool's hangup

	// Sender, run by the visitorNet's loop.
	next     atomic.Uint32 // sequence number of the next packet
	sendErrs atomic.Int64
	sending  atomic.Bool // added to the sender loop
	pkt      [12 + pcmuPayload]byte

	// Receiver: rtt[seq] is the round trip in µs + 1 (0: not received).
	mu      sync.Mutex
	rtt     []uint32
	recvBad atomic.Int64 // packets too short, or with a stamp or sequence never sent

	setup      time.Duration // call request sent until answered
	mediaReady time.Duration // call request sent until ICE and DTLS are up
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

// openCall connects one visitor: the signaling, a media session with a
// complete offer, the call request, the answer, ICE and DTLS; then the
// visitor starts sending. On error everything it opened is closed.
func openCall(ctx context.Context, vn *visitorNet, sig signaling, id int, base time.Time) (v *visitor, err error) {
	ctx, cancel := context.WithTimeout(ctx, callSetupTimeout)
	defer cancel()
	v = &visitor{
		id: id, base: base, sig: sig, net: vn,
		answer: make(chan string, 1), connected: make(chan struct{}), ended: make(chan struct{}),
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
	v.tr, err = webrtclite.Listen(webrtclite.Options{Listen: netip.MustParseAddrPort("127.0.0.1:0"),
		Allow: func(a netip.Addr) bool { return a.IsLoopback() }, Keepalive: 2 * time.Second})
	if err != nil {
		return v, fmt.Errorf("visitor %d: media socket: %w", id, err)
	}
	v.sess, err = v.tr.NewSession(webrtclite.Config{Role: webrtclite.Controlling, OnRTP: v.receive})
	if err != nil {
		return v, fmt.Errorf("visitor %d: media session: %w", id, err)
	}
	t0 := time.Now()
	if err := sig.call(v.offer()); err != nil {
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
	peer, err := peerOf(answer)
	if err != nil {
		return v, fmt.Errorf("visitor %d: answer: %w", id, err)
	}
	v.sess.SetPeer(peer)
	connected := make(chan error, 1)
	go func() { connected <- v.sess.Connect(ctx) }()
	select {
	case err := <-connected:
		if err != nil {
			return v, fmt.Errorf("visitor %d: media: %w", id, err)
		}
	case <-v.ended:
		cancel()
		<-connected
		return v, fmt.Errorf("visitor %d: call ended before media: %s", id, v.reason())
	}
	v.mediaReady = time.Since(t0)
	v.sending.Store(true)
	vn.add(v)
	return v, nil
}

// offer is the visitor's complete SDP offer: PCMU only, one host candidate
// (the shared socket), bundle and rtcp-mux, DTLS role open.
func (v *visitor) offer() string {
	local := v.tr.LocalAddr()
	id := strconv.Itoa(v.id)
	return "v=0\r\n" +
		"o=- " + strconv.Itoa(1000+v.id) + " 2 IN IP4 127.0.0.1\r\n" +
		"s=-\r\nt=0 0\r\n" +
		"a=group:BUNDLE 0\r\n" +
		"a=msid-semantic: WMS visitor-" + id + "\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"a=rtcp:9 IN IP4 0.0.0.0\r\n" +
		"a=ice-ufrag:" + v.sess.LocalUfrag() + "\r\n" +
		"a=ice-pwd:" + v.sess.LocalPwd() + "\r\n" +
		"a=fingerprint:sha-256 " + v.tr.Fingerprint() + "\r\n" +
		"a=setup:actpass\r\n" +
		"a=mid:0\r\n" +
		"a=sendrecv\r\n" +
		"a=rtcp-mux\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=ssrc:" + strconv.Itoa(v.id+1) + " cname:visitor-" + id + "\r\n" +
		"a=ssrc:" + strconv.Itoa(v.id+1) + " msid:visitor-" + id + " audio\r\n" +
		"a=candidate:1 1 udp 2130706431 " + local.Addr().String() + " " + strconv.Itoa(int(local.Port())) + " typ host\r\n" +
		"a=end-of-candidates\r\n"
}

// peerOf reads what the media session needs from the system's answer: ICE
// credentials, fingerprint, DTLS role and the IPv4 UDP host candidates of
// the audio m-line.
func peerOf(answer string) (webrtclite.Peer, error) {
	var p webrtclite.Peer
	var s sdp.SessionDescription
	if err := s.UnmarshalString(answer); err != nil {
		return p, err
	}
	attr := func(key string, m *sdp.MediaDescription) string {
		if m != nil {
			if v, ok := m.Attribute(key); ok {
				return v
			}
		}
		v, _ := s.Attribute(key)
		return v
	}
	var audio *sdp.MediaDescription
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0 {
			audio = m
			break
		}
	}
	if audio == nil {
		return p, fmt.Errorf("no audio m-line")
	}
	p.Ufrag, p.Pwd, p.Fingerprint = attr("ice-ufrag", audio), attr("ice-pwd", audio), attr("fingerprint", audio)
	p.DTLSServer = attr("setup", audio) == "active"
	for _, a := range audio.Attributes {
		if a.Key != "candidate" {
			continue
		}
		f := strings.Fields(a.Value)
		if len(f) < 8 || !strings.EqualFold(f[2], "udp") || f[1] != "1" {
			continue
		}
		addr, err := netip.ParseAddr(f[4])
		port, perr := strconv.Atoi(f[5])
		if err != nil || perr != nil || !addr.Is4() {
			continue
		}
		p.Candidates = append(p.Candidates, netip.AddrPortFrom(addr, uint16(port)))
	}
	if p.Ufrag == "" || p.Pwd == "" || p.Fingerprint == "" || len(p.Candidates) == 0 {
		return p, fmt.Errorf("answer lacks ICE credentials, fingerprint or an IPv4 UDP candidate")
	}
	return p, nil
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

// sendOne writes the visitor's next packet (on the sender loop).
func (v *visitor) sendOne() {
	if v.isEnded() {
		return
	}
	seq := v.next.Load()
	// Counted before the write, so an echo can never be ahead of it.
	v.next.Store(seq + 1)
	p := v.pkt[:]
	h := rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(seq), Timestamp: seq * pcmuPayload,
		SSRC: uint32(v.id) + 1, Marker: seq == 0}
	if _, err := h.MarshalTo(p); err != nil {
		v.sendErrs.Add(1)
		return
	}
	payload := p[12:]
	binary.BigEndian.PutUint64(payload, uint64(time.Since(v.base)))
	binary.BigEndian.PutUint32(payload[8:], seq)
	for i := stampBytes; i < len(payload); i++ {
		payload[i] = 0xff // µ-law silence after the stamp
	}
	if err := v.sess.WriteRTP(p); err != nil {
		v.sendErrs.Add(1)
	}
}

// receive takes one echoed packet (on the visitors' socket reader).
func (v *visitor) receive(pkt []byte) {
	now := time.Since(v.base)
	var h rtp.Header
	hl, err := h.Unmarshal(pkt)
	if err != nil || len(pkt)-hl < stampBytes {
		v.recvBad.Add(1)
		return
	}
	p := pkt[hl:]
	sent := time.Duration(binary.BigEndian.Uint64(p))
	seq := binary.BigEndian.Uint32(p[8:])
	if seq >= v.next.Load() || sent <= 0 || sent > now {
		v.recvBad.Add(1)
		return
	}
	us := uint32(min((now-sent)/time.Microsecond, 1<<31)) + 1
	v.mu.Lock()
	for int(seq) >= len(v.rtt) {
		v.rtt = append(v.rtt, make([]uint32, max(256, len(v.rtt)))...)
	}
	v.rtt[seq] = us
	v.mu.Unlock()
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
	v.stopSending()
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

// stopSending takes the visitor off the sender loop.
func (v *visitor) stopSending() {
	if v.sending.CompareAndSwap(true, false) {
		v.net.remove(v)
	}
}

// close releases everything the visitor holds and waits for its reader.
func (v *visitor) close() {
	v.stopSending()
	if v.sess != nil {
		_ = v.sess.Close()
	}
	if v.tr != nil {
		_ = v.tr.Close()
	}
	v.sig.close()
}
