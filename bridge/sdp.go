package bridge

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Limits that keep a hostile or broken SDP from costing much.
const (
	maxSDPBytes   = 64 << 10
	maxMedia      = 16
	maxFormats    = 64
	maxCryptoPerM = 16
)

// direction is an SDP media direction attribute.
type direction uint8

const (
	dirSendRecv direction = iota
	dirSendOnly
	dirRecvOnly
	dirInactive
)

func (d direction) String() string {
	return [...]string{"sendrecv", "sendonly", "recvonly", "inactive"}[d]
}

// reverse is the direction an answerer takes for an offered direction.
func (d direction) reverse() direction {
	switch d {
	case dirSendOnly:
		return dirRecvOnly
	case dirRecvOnly:
		return dirSendOnly
	}
	return d
}

// crypto is one SDES a=crypto line (RFC 4568).
type crypto struct {
	tag   string
	suite string
	key   string // base64 key||salt from inline:, without lifetime/MKI
}

// media is one m-line as the gateway needs it.
type media struct {
	kind     string // audio, video, application...
	port     int
	proto    string
	formats  []format // m-line order
	addr     netip.Addr
	rtcpPort int
	rtcpAddr netip.Addr
	dir      direction
	hasDir   bool
	cryptos  []crypto
}

// session is a parsed SDP body.
type session struct {
	media []media
}

// parseSDP reads SDP leniently: LF or CRLF, empty s=, attributes in any
// order, unknown lines ignored. It fails on what would make the media path
// wrong: bad m= or c= lines, or a body that is not SDP at all.
func parseSDP(b []byte) (*session, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrBadSDP)
	}
	if len(b) > maxSDPBytes {
		return nil, fmt.Errorf("%w: %d bytes is more than %d", ErrBadSDP, len(b), maxSDPBytes)
	}
	var (
		s        session
		sessAddr netip.Addr
		sessDir  direction
		hasSess  bool
		cur      *media
		first    = true
	)
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		line = bytes.TrimRight(line, "\r \t")
		if len(line) == 0 {
			continue
		}
		if first {
			if string(line) != "v=0" {
				return nil, fmt.Errorf("%w: does not start with v=0", ErrBadSDP)
			}
			first = false
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return nil, fmt.Errorf("%w: line %q is not type=value", ErrBadSDP, clip(line))
		}
		val := string(line[2:])
		switch line[0] {
		case 'm':
			if len(s.media) == maxMedia {
				return nil, fmt.Errorf("%w: more than %d m-lines", ErrBadSDP, maxMedia)
			}
			m, err := parseMLine(val)
			if err != nil {
				return nil, err
			}
			s.media = append(s.media, m)
			cur = &s.media[len(s.media)-1]
		case 'c':
			a, err := parseConn(val)
			if err != nil {
				return nil, err
			}
			if cur == nil {
				sessAddr = a
			} else {
				cur.addr = a
			}
		case 'a':
			if cur == nil {
				if d, ok := parseDir(val); ok {
					sessDir, hasSess = d, true
				}
				continue
			}
			if err := cur.attribute(val); err != nil {
				return nil, err
			}
		}
	}
	if first {
		return nil, fmt.Errorf("%w: no SDP lines", ErrBadSDP)
	}
	for i := range s.media {
		m := &s.media[i]
		if !m.addr.IsValid() {
			m.addr = sessAddr
		}
		if !m.hasDir && hasSess {
			m.dir, m.hasDir = sessDir, true
		}
		if m.port != 0 && !m.addr.IsValid() {
			return nil, fmt.Errorf("%w: m=%s has no c= address", ErrBadSDP, m.kind)
		}
		for j := range m.formats {
			f := &m.formats[j]
			if f.name == "" {
				if st, ok := staticFormats[f.pt]; ok {
					f.name, f.clock, f.channels = st.name, st.clock, st.channels
				}
			}
			f.codec = classify(m.kind, f.name, f.clock, f.channels)
		}
	}
	return &s, nil
}

func clip(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}

func parseMLine(v string) (media, error) {
	fs := strings.Fields(v)
	if len(fs) < 4 {
		return media{}, fmt.Errorf("%w: m=%s has fewer than 4 fields", ErrBadSDP, v)
	}
	if len(fs)-3 > maxFormats {
		return media{}, fmt.Errorf("%w: m=%s lists more than %d formats", ErrBadSDP, fs[0], maxFormats)
	}
	portStr, _, _ := strings.Cut(fs[1], "/")
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return media{}, fmt.Errorf("%w: m=%s port %q", ErrBadSDP, fs[0], fs[1])
	}
	m := media{kind: strings.ToLower(fs[0]), port: port, proto: fs[2]}
	if !strings.Contains(strings.ToUpper(m.proto), "RTP/") {
		return m, nil // not RTP (e.g. UDP/BFCP): kept so it can be rejected.
	}
	for _, f := range fs[3:] {
		pt, err := strconv.Atoi(f)
		if err != nil || pt < 0 || pt > 127 {
			return media{}, fmt.Errorf("%w: m=%s payload type %q", ErrBadSDP, m.kind, f)
		}
		m.formats = append(m.formats, format{pt: uint8(pt)})
	}
	return m, nil
}

// parseConn reads "IN IP4 addr[/ttl]"; hostnames are refused because the
// media path must not depend on DNS.
func parseConn(v string) (netip.Addr, error) {
	fs := strings.Fields(v)
	if len(fs) != 3 || fs[0] != "IN" || (fs[1] != "IP4" && fs[1] != "IP6") {
		return netip.Addr{}, fmt.Errorf("%w: c=%s", ErrBadSDP, v)
	}
	host, _, _ := strings.Cut(fs[2], "/")
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: c= address %q is not an IP address", ErrBadSDP, host)
	}
	return a.Unmap(), nil
}

func parseDir(v string) (direction, bool) {
	switch v {
	case "sendrecv":
		return dirSendRecv, true
	case "sendonly":
		return dirSendOnly, true
	case "recvonly":
		return dirRecvOnly, true
	case "inactive":
		return dirInactive, true
	}
	return 0, false
}

// attribute applies one media-level a= line.
func (m *media) attribute(v string) error {
	if d, ok := parseDir(v); ok {
		m.dir, m.hasDir = d, true
		return nil
	}
	name, rest, _ := strings.Cut(v, ":")
	switch name {
	case "rtpmap":
		pt, enc, ok := ptAndRest(rest)
		if !ok {
			return nil // not one of the m-line's formats: ignored.
		}
		parts := strings.Split(enc, "/")
		clock, err := strconv.ParseUint(parts[min(1, len(parts)-1)], 10, 32)
		if len(parts) < 2 || err != nil {
			return fmt.Errorf("%w: a=rtpmap:%s", ErrBadSDP, rest)
		}
		ch := 1
		if len(parts) > 2 {
			if ch, err = strconv.Atoi(parts[2]); err != nil || ch < 1 {
				return fmt.Errorf("%w: a=rtpmap:%s channels", ErrBadSDP, rest)
			}
		}
		if f := m.format(pt); f != nil {
			f.name, f.clock, f.channels = parts[0], uint32(clock), ch
		}
	case "fmtp":
		if pt, p, ok := ptAndRest(rest); ok {
			if f := m.format(pt); f != nil {
				f.fmtp = p
			}
		}
	case "rtcp":
		fs := strings.Fields(rest)
		if len(fs) == 0 {
			return nil
		}
		p, err := strconv.Atoi(fs[0])
		if err != nil || p <= 0 || p > 65535 {
			return fmt.Errorf("%w: a=rtcp:%s", ErrBadSDP, rest)
		}
		m.rtcpPort = p
		if len(fs) == 4 {
			if a, err := parseConn(strings.Join(fs[1:], " ")); err == nil {
				m.rtcpAddr = a
			}
		}
	case "crypto":
		fs := strings.Fields(rest)
		if len(fs) < 3 || len(m.cryptos) == maxCryptoPerM {
			return nil
		}
		key, ok := strings.CutPrefix(fs[2], "inline:")
		if !ok {
			return nil
		}
		key, _, _ = strings.Cut(key, "|")
		m.cryptos = append(m.cryptos, crypto{tag: fs[0], suite: fs[1], key: key})
	}
	return nil
}

// ptAndRest splits "96 rest" and checks the payload type.
func ptAndRest(s string) (uint8, string, bool) {
	p, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	pt, err := strconv.Atoi(p)
	if err != nil || pt < 0 || pt > 127 {
		return 0, "", false
	}
	return uint8(pt), strings.TrimSpace(rest), true
}

func (m *media) format(pt uint8) *format {
	for i := range m.formats {
		if m.formats[i].pt == pt {
			return &m.formats[i]
		}
	}
	return nil
}

// plainRTP reports whether the m-line is RTP without SRTP (AVP or AVPF).
func (m *media) plainRTP() bool {
	p := strings.ToUpper(m.proto)
	return p == "RTP/AVP" || p == "RTP/AVPF"
}

// sdesRTP reports whether the m-line is RTP/SAVP(F) (SDES-keyed SRTP).
func (m *media) sdesRTP() bool {
	p := strings.ToUpper(m.proto)
	return p == "RTP/SAVP" || p == "RTP/SAVPF"
}

// rtcpDest is where RTCP for this m-line goes: a=rtcp or port+1.
func (m *media) rtcpDest() netip.AddrPort {
	addr, port := m.addr, m.port+1
	if m.rtcpPort != 0 {
		port = m.rtcpPort
	}
	if m.rtcpAddr.IsValid() {
		addr = m.rtcpAddr
	}
	return netip.AddrPortFrom(addr, uint16(port))
}
