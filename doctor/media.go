package doctor

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

const (
	frameEvery = 20 * time.Millisecond
	// eventFrames and endFrames make one RFC 4733 key: 100 ms of event
	// packets, then three end packets.
	eventFrames = 5
	endFrames   = 3
)

// media is the doctor's side of a test call's RTP: it sends 20 ms frames
// of silence (and keys as RFC 4733 events) to where the PBX's SDP points,
// and counts what comes back. Its two goroutines end with close.
type media struct {
	conn  *net.UDPConn
	local netip.AddrPort

	mu      sync.Mutex
	route   *mediaRoute // nil until the PBX's SDP arrived
	keys    chan byte   // keys to send as events
	closing chan struct{}
	wg      sync.WaitGroup

	sent, received, rejected atomic.Int64
	statsMu                  sync.Mutex
	source                   netip.AddrPort
	pts                      map[uint8]int
	digits                   []byte // keys received as RFC 4733 events, in order
	lastEventTS              uint32
	haveEvent                bool
}

// mediaRoute is where and how to send, from the PBX's SDP.
type mediaRoute struct {
	dest    netip.AddrPort
	audio   codec
	te      *codec
	out, in *srtp.Context // nil for plain RTP
	samples uint32        // per frame
	silence []byte
}

// newMedia binds an even port of calls.rtp_ports on host (the gateway
// sends RTP from there, so a firewall that lets its calls through lets
// these) and starts reading.
func newMedia(host string, lo, hi int) (*media, error) {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("media address %q: %w", host, err)
	}
	var conn *net.UDPConn
	for range 64 {
		port := lo + 2*rand.IntN((hi-lo)/2+1)
		if port > hi {
			continue
		}
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		if err == nil {
			conn = c
			break
		}
	}
	if conn == nil {
		return nil, fmt.Errorf("no free UDP port in calls.rtp_ports %d-%d on %s", lo, hi, host)
	}
	m := &media{conn: conn, local: conn.LocalAddr().(*net.UDPAddr).AddrPort(), keys: make(chan byte, 16),
		closing: make(chan struct{}), pts: map[uint8]int{}}
	m.wg.Add(2)
	go m.read()
	go m.send()
	return m, nil
}

// setRoute sends to where r says from now on.
func (m *media) setRoute(r *mediaRoute) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.route = r
}

func (m *media) currentRoute() *mediaRoute {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.route
}

// routeFor builds the route an SDP of the PBX describes.
func routeFor(r remoteSDP, localKey []byte) (*mediaRoute, error) {
	if r.audio == nil {
		return nil, errors.New("no audio format the doctor offered")
	}
	mr := &mediaRoute{dest: r.addr, audio: *r.audio, te: r.te, samples: uint32(r.audio.clock) / 50}
	mr.silence = silenceFor(*r.audio)
	if r.proto == "RTP/SAVP" {
		if localKey == nil || r.crypto == nil || r.crypto.key == nil || r.crypto.suite != sdesSuite {
			return nil, errors.New("SRTP answer without a usable " + sdesSuite + " key")
		}
		out, err := srtp.CreateContext(localKey[:16], localKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
		if err != nil {
			return nil, err
		}
		in, err := srtp.CreateContext(r.crypto.key[:16], r.crypto.key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
		if err != nil {
			return nil, err
		}
		mr.out, mr.in = out, in
	}
	return mr, nil
}

// silenceFor is one 20 ms frame of silence (or near it) in c.
func silenceFor(c codec) []byte {
	switch c.name {
	case "PCMU":
		return fill(160, 0xFF)
	case "PCMA":
		return fill(160, 0xD5)
	case "opus":
		return []byte{0xF8, 0xFF, 0xFE} // a 20 ms CELT silence frame
	}
	return fill(160, 0x00)
}

func fill(n int, b byte) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// send sends a frame every 20 ms while a route is set, keys as events.
func (m *media) send() {
	defer m.wg.Done()
	tick := time.NewTicker(frameEvery)
	defer tick.Stop()
	ssrc := rand.Uint32()
	seq := uint16(rand.Uint32())
	ts := rand.Uint32()
	var (
		key       byte
		keyFrames int
		keyStart  uint32
		marker    = true
	)
	for {
		select {
		case <-m.closing:
			return
		case <-tick.C:
		}
		r := m.currentRoute()
		if r == nil {
			continue
		}
		ts += r.samples
		if keyFrames == 0 && r.te != nil {
			select {
			case key = <-m.keys:
				keyFrames, keyStart = eventFrames+endFrames, ts
			default:
			}
		}
		p := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, SSRC: ssrc}}
		if keyFrames > 0 {
			n := eventFrames + endFrames - keyFrames + 1 // 1..8
			duration := uint16(min(n, eventFrames) * int(r.samples))
			flags := byte(10) // volume -10 dBm0
			if n > eventFrames {
				flags |= 0x80 // end
			}
			p.PayloadType, p.Timestamp, p.Marker = r.te.pt, keyStart, n == 1
			p.Payload = []byte{eventCode(key), flags, byte(duration >> 8), byte(duration)}
			keyFrames--
		} else {
			p.PayloadType, p.Timestamp, p.Marker, p.Payload = r.audio.pt, ts, marker, r.silence
			marker = false
		}
		seq++
		raw, err := p.Marshal()
		if err != nil {
			continue
		}
		if r.out != nil {
			if raw, err = r.out.EncryptRTP(nil, raw, nil); err != nil {
				continue
			}
		}
		if _, err := m.conn.WriteToUDPAddrPort(raw, r.dest); err == nil {
			m.sent.Add(1)
		}
	}
}

// read counts what arrives until the socket is closed.
func (m *media) read() {
	defer m.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := m.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		data := buf[:n]
		r := m.currentRoute()
		if r != nil && r.in != nil {
			plain, err := r.in.DecryptRTP(nil, data, nil)
			if err != nil {
				m.rejected.Add(1)
				continue
			}
			data = plain
		}
		var p rtp.Packet
		if p.Unmarshal(data) != nil || p.Version != 2 {
			m.rejected.Add(1)
			continue
		}
		m.received.Add(1)
		m.statsMu.Lock()
		if !m.source.IsValid() {
			m.source = from
		}
		m.pts[p.PayloadType]++
		if r != nil && r.te != nil && p.PayloadType == r.te.pt && len(p.Payload) >= 4 && p.Payload[1]&0x80 != 0 {
			if !m.haveEvent || p.Timestamp != m.lastEventTS {
				m.digits = append(m.digits, digitOf(p.Payload[0]))
				m.lastEventTS, m.haveEvent = p.Timestamp, true
			}
		}
		m.statsMu.Unlock()
	}
}

// sendKeys queues keys as RFC 4733 events (with a route that has
// telephone-event) and waits until they went out, bounded.
func (m *media) sendKeys(keys string, within time.Duration) error {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for i := 0; i < len(keys); i++ {
		select {
		case m.keys <- keys[i]:
		case <-deadline.C:
			return errors.New("keys not sent in time")
		}
	}
	// The last key takes eight frames after it is taken.
	select {
	case <-time.After(time.Duration(eventFrames+endFrames+2) * frameEvery):
		return nil
	case <-deadline.C:
		return errors.New("keys not sent in time")
	}
}

// stats is a snapshot of what arrived.
type mediaStats struct {
	sent, received, rejected int64
	source                   netip.AddrPort
	pts                      map[uint8]int
	digits                   string
}

func (m *media) stats() mediaStats {
	m.statsMu.Lock()
	defer m.statsMu.Unlock()
	pts := make(map[uint8]int, len(m.pts))
	for k, v := range m.pts {
		pts[k] = v
	}
	return mediaStats{sent: m.sent.Load(), received: m.received.Load(), rejected: m.rejected.Load(),
		source: m.source, pts: pts, digits: string(m.digits)}
}

// close stops sending and reading.
func (m *media) close() {
	select {
	case <-m.closing:
		return
	default:
	}
	close(m.closing)
	_ = m.conn.Close()
	m.wg.Wait()
}

// eventCode is the RFC 4733 event of a key.
func eventCode(k byte) byte {
	switch {
	case k >= '0' && k <= '9':
		return k - '0'
	case k == '*':
		return 10
	case k == '#':
		return 11
	case k >= 'A' && k <= 'D':
		return 12 + k - 'A'
	}
	return 0
}

func digitOf(e byte) byte {
	switch {
	case e <= 9:
		return '0' + e
	case e == 10:
		return '*'
	case e == 11:
		return '#'
	case e <= 15:
		return 'A' + e - 12
	}
	return '?'
}
