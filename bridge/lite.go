package bridge

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/webrtclite"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// pollPace is how often the lite stack's reader (the PBX poller, which on
// Linux reads the shared sockets too; elsewhere each shared socket's own
// reader) looks for packets while not saturated. A wake-up then serves
// every packet that arrived meanwhile instead of one; the price is at most
// this much delay each way.
const pollPace = time.Millisecond

// liteStack is the engine's calls.webrtc_stack lite: one shared socket per
// webrtc_ips address (internal/webrtclite), for every voice call.
type liteStack struct {
	transports []*webrtclite.Transport
	announce   []netip.Addr // the candidate address of each transport
}

// newLiteStack listens on each of cfg.WebRTCIPs at port; public_ip, when
// set, is what the first one announces (a 1:1 NAT). The driver, when not
// nil, reads the sockets (the PBX poller: one loop for both directions).
func newLiteStack(cfg config.Calls, port int, loopbackOnly bool, driver webrtclite.Driver) (*liteStack, error) {
	var allow func(netip.Addr) bool
	if loopbackOnly {
		allow = func(a netip.Addr) bool { return a.IsLoopback() }
	}
	ls := &liteStack{}
	for i, s := range cfg.WebRTCIPs {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			_ = ls.close()
			return nil, fmt.Errorf("calls.webrtc_ips: %q is not an IP address", s)
		}
		t, err := webrtclite.Listen(webrtclite.Options{Listen: netip.AddrPortFrom(ip, uint16(port)), Allow: allow, Pace: pollPace, Driver: driver})
		if err != nil {
			_ = ls.close()
			return nil, fmt.Errorf("calls.webrtc_stack lite: %w", err)
		}
		announce := ip
		if i == 0 && cfg.PublicIP != "" {
			if announce, err = netip.ParseAddr(cfg.PublicIP); err != nil {
				_ = ls.close()
				return nil, fmt.Errorf("calls.public_ip: %w", err)
			}
		}
		ls.transports = append(ls.transports, t)
		ls.announce = append(ls.announce, announce)
	}
	return ls, nil
}

func (ls *liteStack) close() error {
	var first error
	for _, t := range ls.transports {
		if err := t.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Owners of a lite call's browser -> PBX stream: the transport's reader
// relays a packet only while it holds the stream; a DTMF event takes it
// for the event's duration (voice pauses, as RFC 4733 2.5.1.1 allows).
const (
	ownerIdle  int32 = iota // nobody: the next packet or event may take it
	ownerRelay              // the reader is relaying a packet
	ownerDTMF               // a DTMF event is being played
)

// offerPeer reads the browser's ICE credentials, fingerprint and DTLS role
// for the audio m-line at index mi of its offer.
func offerPeer(sd *sdp.SessionDescription, mi int) (webrtclite.Peer, string, error) {
	m := sd.MediaDescriptions[mi]
	attr := func(key string) string {
		if v, ok := m.Attribute(key); ok {
			return v
		}
		v, _ := sd.Attribute(key)
		return v
	}
	p := webrtclite.Peer{Ufrag: attr("ice-ufrag"), Pwd: attr("ice-pwd"), Fingerprint: attr("fingerprint")}
	if p.Ufrag == "" || p.Pwd == "" || p.Fingerprint == "" {
		return p, "", fmt.Errorf("%w: the offer lacks ice-ufrag, ice-pwd or a fingerprint", ErrBadOffer)
	}
	// We answer passive (DTLS server) unless the browser insists on that
	// role itself.
	setup := "passive"
	p.DTLSServer = true
	if attr("setup") == "passive" {
		setup, p.DTLSServer = "active", false
	}
	return p, setup, nil
}

// liteAnswer writes the WebRTC answer of a lite call: the audio m-line with
// the agreed formats, our ICE-lite credentials, fingerprint and one host
// candidate; every other m-line of the offer rejected.
type liteAnswer struct {
	offer    *sdp.SessionDescription
	audio    int // index of the audio m-line in the offer
	formats  []format
	dir      direction
	ufrag    string
	pwd      string
	print    string
	setup    string
	cand     netip.AddrPort
	ssrc     uint32
	cname    string
	sessID   uint64
	bundling bool
}

func (a *liteAnswer) String() string {
	var b strings.Builder
	ipv := "IP4"
	if a.cand.Addr().Is6() {
		ipv = "IP6"
	}
	fmt.Fprintf(&b, "v=0\r\no=frontdesk %d 2 IN %s %s\r\ns=-\r\nt=0 0\r\n", a.sessID, ipv, a.cand.Addr())
	mid := func(m *sdp.MediaDescription) string { v, _ := m.Attribute("mid"); return v }
	audio := a.offer.MediaDescriptions[a.audio]
	if a.bundling && mid(audio) != "" {
		b.WriteString("a=group:BUNDLE " + mid(audio) + "\r\n")
	}
	b.WriteString("a=ice-lite\r\n")
	for i, m := range a.offer.MediaDescriptions {
		if i != a.audio {
			// Rejected: same media and transport, port 0, its mid.
			fmts := "0"
			if len(m.MediaName.Formats) > 0 {
				fmts = m.MediaName.Formats[0]
			}
			b.WriteString("m=" + m.MediaName.Media + " 0 " + strings.Join(m.MediaName.Protos, "/") + " " + fmts + "\r\n")
			if v := mid(m); v != "" {
				b.WriteString("a=mid:" + v + "\r\n")
			}
			for _, at := range m.Attributes {
				// Its format's rtpmap: some answer parsers want one.
				if at.Key == "rtpmap" && strings.HasPrefix(at.Value, fmts+" ") {
					b.WriteString("a=rtpmap:" + at.Value + "\r\n")
					break
				}
			}
			b.WriteString("a=inactive\r\n")
			continue
		}
		b.WriteString("m=audio 9 " + strings.Join(m.MediaName.Protos, "/"))
		for _, f := range a.formats {
			b.WriteString(" " + strconv.Itoa(int(f.pt)))
		}
		b.WriteString("\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n")
		b.WriteString("a=ice-ufrag:" + a.ufrag + "\r\na=ice-pwd:" + a.pwd + "\r\n")
		b.WriteString("a=fingerprint:sha-256 " + a.print + "\r\na=setup:" + a.setup + "\r\n")
		if v := mid(m); v != "" {
			b.WriteString("a=mid:" + v + "\r\n")
		}
		b.WriteString("a=" + a.dir.String() + "\r\na=rtcp-mux\r\n")
		writeFormats(&b, a.formats)
		ssrc := strconv.FormatUint(uint64(a.ssrc), 10)
		b.WriteString("a=ssrc:" + ssrc + " cname:" + a.cname + "\r\n")
		b.WriteString("a=ssrc:" + ssrc + " msid:" + a.cname + " audio\r\n")
		fmt.Fprintf(&b, "a=candidate:1 1 udp 2130706431 %s %d typ host\r\na=end-of-candidates\r\n", a.cand.Addr(), a.cand.Port())
	}
	return b.String()
}

// liteWriter is the PBX -> browser track's writer on a lite call: it
// marshals the packet into its own buffer and hands it to the session,
// which encrypts and sends. Used by the PBX relay goroutine only. queue:
// that is the PBX poller, which drives the session's transport, so the
// packet joins the round's batch for the shared socket (sent at the end of
// the round) instead of a system call of its own.
type liteWriter struct {
	sess  *webrtclite.Session
	queue bool
	buf   [maxPacket]byte
}

func (w *liteWriter) send(b []byte) error {
	if w.queue {
		return w.sess.QueueRTP(b)
	}
	return w.sess.WriteRTP(b)
}

func (w *liteWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	n, err := h.MarshalTo(w.buf[:])
	if err != nil {
		return 0, err
	}
	if n+len(payload) > len(w.buf) {
		return 0, fmt.Errorf("RTP packet of %d bytes is too large", n+len(payload))
	}
	n += copy(w.buf[n:], payload)
	return n, w.send(w.buf[:n])
}

func (w *liteWriter) Write(b []byte) (int, error) {
	if err := w.send(b); err != nil {
		return 0, err
	}
	return len(b), nil
}
