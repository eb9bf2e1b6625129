package doctor

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// codec is an RTP payload format of the doctor's offer.
type codec struct {
	pt       uint8
	name     string
	clock    int
	channels int
	fmtp     string
}

func (c codec) String() string {
	s := c.name + "/" + strconv.Itoa(c.clock)
	if c.channels > 1 {
		s += "/" + strconv.Itoa(c.channels)
	}
	return s
}

// event reports a telephone-event format.
func (c codec) event() bool { return strings.EqualFold(c.name, "telephone-event") }

// offered are the formats the gateway's calls can carry without
// transcoding (package bridge), each telephone-event rate with them.
var offered = []codec{
	{pt: 0, name: "PCMU", clock: 8000},
	{pt: 8, name: "PCMA", clock: 8000},
	{pt: 9, name: "G722", clock: 8000},
	{pt: 111, name: "opus", clock: 48000, channels: 2, fmtp: "minptime=10;useinbandfec=1"},
	{pt: 101, name: "telephone-event", clock: 8000, fmtp: "0-16"},
	{pt: 110, name: "telephone-event", clock: 48000, fmtp: "0-16"},
}

func offeredNames() string {
	names := make([]string, len(offered))
	for i, c := range offered {
		names[i] = c.String()
	}
	return strings.Join(names, ", ")
}

// sdesSuite is the SDES crypto suite the doctor offers (as the gateway).
const sdesSuite = "AES_CM_128_HMAC_SHA1_80"

// sdesKey is a fresh 16-byte key and 14-byte salt.
func sdesKey() []byte {
	k := make([]byte, 30)
	_, _ = rand.Read(k) // never fails (crypto/rand)
	return k
}

// offer is the doctor's SDP.
type offer struct {
	ip      netip.Addr
	port    int
	dir     string // sendrecv, sendonly
	key     []byte // SDES key: RTP/SAVP with a=crypto; nil: RTP/AVP
	version int
	formats []codec // what to offer (all of offered, or the chosen ones in an answer)
}

func (o offer) marshal() []byte {
	ipv := "IP4"
	if o.ip.Is6() {
		ipv = "IP6"
	}
	proto := "RTP/AVP"
	if o.key != nil {
		proto = "RTP/SAVP"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=frontdesk-doctor 1 %d IN %s %s\r\ns=frontdesk doctor\r\nc=IN %s %s\r\nt=0 0\r\n", o.version, ipv, o.ip, ipv, o.ip)
	pts := make([]string, len(o.formats))
	for i, c := range o.formats {
		pts[i] = strconv.Itoa(int(c.pt))
	}
	fmt.Fprintf(&b, "m=audio %d %s %s\r\n", o.port, proto, strings.Join(pts, " "))
	for _, c := range o.formats {
		fmt.Fprintf(&b, "a=rtpmap:%d %s\r\n", c.pt, c.String())
		if c.fmtp != "" {
			fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", c.pt, c.fmtp)
		}
	}
	if o.key != nil {
		fmt.Fprintf(&b, "a=crypto:1 %s inline:%s\r\n", sdesSuite, base64.StdEncoding.EncodeToString(o.key))
	}
	fmt.Fprintf(&b, "a=ptime:20\r\na=%s\r\n", o.dir)
	return []byte(b.String())
}

// remoteSDP is what the PBX's SDP says of its audio.
type remoteSDP struct {
	addr    netip.AddrPort
	proto   string
	formats []codec // as the PBX names them, in its order
	audio   *codec  // the first audio format the doctor offered
	te      *codec  // telephone-event at the audio's clock rate
	dir     string
	crypto  *cryptoLine
}

type cryptoLine struct {
	tag, suite string
	key        []byte
}

var errNoAudio = errors.New("no audio stream")

// parseRemote reads the PBX's SDP (an answer, or an offer of its own).
func parseRemote(raw []byte) (remoteSDP, error) {
	var s sdp.SessionDescription
	if err := s.UnmarshalString(string(raw)); err != nil {
		return remoteSDP{}, fmt.Errorf("SDP: %w", err)
	}
	var r remoteSDP
	var m *sdp.MediaDescription
	for _, md := range s.MediaDescriptions {
		if md.MediaName.Media == "audio" {
			m = md
			break
		}
	}
	if m == nil {
		return r, errNoAudio
	}
	conn := s.ConnectionInformation
	if m.ConnectionInformation != nil {
		conn = m.ConnectionInformation
	}
	if conn == nil || conn.Address == nil {
		return r, errors.New("SDP: no connection address")
	}
	ip, err := netip.ParseAddr(conn.Address.Address)
	if err != nil {
		return r, fmt.Errorf("SDP: connection address %q: %w", conn.Address.Address, err)
	}
	r.addr = netip.AddrPortFrom(ip, uint16(m.MediaName.Port.Value))
	r.proto = strings.Join(m.MediaName.Protos, "/")
	r.dir = "sendrecv"
	for _, a := range s.Attributes {
		if isDirection(a.Key) {
			r.dir = a.Key
		}
	}
	rtpmaps := map[uint8]codec{}
	for _, a := range m.Attributes {
		switch {
		case isDirection(a.Key):
			r.dir = a.Key
		case a.Key == "rtpmap":
			if c, ok := parseRtpmap(a.Value); ok {
				rtpmaps[c.pt] = c
			}
		case a.Key == "crypto" && r.crypto == nil:
			r.crypto = parseCrypto(a.Value)
		}
	}
	for _, f := range m.MediaName.Formats {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 127 {
			continue
		}
		c, ok := rtpmaps[uint8(n)]
		if !ok {
			c, ok = staticFormat(uint8(n))
		}
		if ok {
			r.formats = append(r.formats, c)
		}
	}
	for i, c := range r.formats {
		if !c.event() && r.audio == nil && knownAudio(c) {
			r.audio = &r.formats[i]
		}
	}
	if r.audio != nil {
		for i, c := range r.formats {
			if c.event() && c.clock == r.audio.clock {
				r.te = &r.formats[i]
				break
			}
		}
	}
	return r, nil
}

func isDirection(k string) bool {
	return k == "sendrecv" || k == "sendonly" || k == "recvonly" || k == "inactive"
}

// parseRtpmap reads "0 PCMU/8000" or "111 opus/48000/2".
func parseRtpmap(v string) (codec, bool) {
	pt, rest, ok := strings.Cut(v, " ")
	n, err := strconv.Atoi(pt)
	if !ok || err != nil || n < 0 || n > 127 {
		return codec{}, false
	}
	parts := strings.Split(strings.TrimSpace(rest), "/")
	c := codec{pt: uint8(n), name: parts[0]}
	if len(parts) > 1 {
		c.clock, _ = strconv.Atoi(parts[1])
	}
	if len(parts) > 2 {
		c.channels, _ = strconv.Atoi(parts[2])
	}
	return c, c.clock > 0
}

// staticFormat is a static payload type an answer may name without rtpmap.
func staticFormat(pt uint8) (codec, bool) {
	switch pt {
	case 0:
		return codec{pt: 0, name: "PCMU", clock: 8000}, true
	case 8:
		return codec{pt: 8, name: "PCMA", clock: 8000}, true
	case 9:
		return codec{pt: 9, name: "G722", clock: 8000}, true
	case 18:
		return codec{pt: 18, name: "G729", clock: 8000}, true
	case 3:
		return codec{pt: 3, name: "GSM", clock: 8000}, true
	}
	return codec{}, false
}

// knownAudio reports a format the doctor offered (by name and rate).
func knownAudio(c codec) bool {
	for _, o := range offered {
		if !o.event() && strings.EqualFold(o.name, c.name) && o.clock == c.clock {
			return true
		}
	}
	return false
}

// parseCrypto reads "1 AES_CM_128_HMAC_SHA1_80 inline:KEY|2^31".
func parseCrypto(v string) *cryptoLine {
	f := strings.Fields(v)
	if len(f) < 3 || !strings.HasPrefix(f[2], "inline:") {
		return nil
	}
	k := strings.TrimPrefix(f[2], "inline:")
	if i := strings.IndexByte(k, '|'); i >= 0 {
		k = k[:i]
	}
	key, err := base64.StdEncoding.DecodeString(k)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(k)
	}
	if err != nil || len(key) != 30 {
		return &cryptoLine{tag: f[0], suite: f[1]}
	}
	return &cryptoLine{tag: f[0], suite: f[1], key: key}
}

// answerTo is the doctor's answer to an offer of the PBX (a re-INVITE of
// its own): the first audio format it offered that the doctor knows, with
// telephone-event, direction mirrored.
func answerTo(raw []byte, ip netip.Addr, port int, key []byte, version int) ([]byte, error) {
	r, err := parseRemote(raw)
	if err != nil {
		return nil, err
	}
	if r.audio == nil {
		return nil, errors.New("no audio format in common")
	}
	formats := []codec{*r.audio}
	if r.te != nil {
		formats = append(formats, *r.te)
	}
	dir := map[string]string{"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}[r.dir]
	if dir == "" {
		dir = "sendrecv"
	}
	if r.proto != "RTP/SAVP" {
		key = nil
	}
	return offer{ip: ip, port: port, dir: dir, key: key, version: version, formats: formats}.marshal(), nil
}
