package bridge

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// outMedia is one m-line the gateway writes.
type outMedia struct {
	kind    string
	port    int // 0 rejects the m-line
	proto   string
	formats []format
	dir     direction
	crypto  *crypto
}

// buildSDP writes a complete SDP body with CRLF line ends.
func buildSDP(sessID, version uint64, addr netip.Addr, ms []outMedia) []byte {
	ipv := "IP4"
	if addr.Is6() {
		ipv = "IP6"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=frontdesk %d %d IN %s %s\r\ns=frontdesk\r\nc=IN %s %s\r\nt=0 0\r\n",
		sessID, version, ipv, addr, ipv, addr)
	for _, m := range ms {
		b.WriteString("m=" + m.kind + " " + strconv.Itoa(m.port) + " " + m.proto)
		for _, f := range m.formats {
			b.WriteString(" " + strconv.Itoa(int(f.pt)))
		}
		if len(m.formats) == 0 {
			b.WriteString(" 0") // an m-line needs a format even when rejected
		}
		b.WriteString("\r\n")
		if m.port == 0 {
			continue
		}
		writeFormats(&b, m.formats)
		if m.kind == "audio" {
			b.WriteString("a=ptime:20\r\n")
		}
		b.WriteString("a=rtcp:" + strconv.Itoa(m.port+1) + "\r\n")
		if m.crypto != nil {
			b.WriteString("a=crypto:" + m.crypto.tag + " " + m.crypto.suite + " inline:" + m.crypto.key + "\r\n")
		}
		b.WriteString("a=" + m.dir.String() + "\r\n")
	}
	return []byte(b.String())
}

// sipFormats chooses the SIP side's formats for the browser's: same PT
// when it is static or in the classic dynamic range 96-127, else a free
// number there (some PBXs refuse the 35-63 range WebRTC also uses).
func sipFormats(browser []format) []pairFormat {
	used := [128]bool{}
	for _, f := range browser {
		used[f.pt] = true
	}
	out := make([]pairFormat, 0, len(browser))
	next := 96
	for _, f := range browser {
		s := f
		if _, static := staticFormats[f.pt]; !static && f.pt < 96 {
			for next < 128 && used[next] {
				next++
			}
			if next == 128 {
				continue // no PT left: the codec is not offered
			}
			s.pt = uint8(next)
			used[next] = true
		}
		out = append(out, pairFormat{browser: f, sip: s})
	}
	return out
}

// passThrough picks the browser formats the gateway relays for a kind: the
// first of each codec that sameCodec tells apart, in the browser's order.
// Chrome offers six H.264 profiles; all of them made a video INVITE larger
// than the 1300 bytes sipgo sends over UDP, and video calls from Chrome
// failed there.
func passThrough(m *media) []format {
	var out []format
	for _, f := range m.formats {
		if f.codec == codecUnknown || slices.ContainsFunc(out, func(o format) bool { return sameCodec(o, f) }) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func hasVoice(fs []format) bool {
	for _, f := range fs {
		if f.codec.isVoice() {
			return true
		}
	}
	return false
}

// writeFormats writes the rtpmap and fmtp lines of formats.
func writeFormats(b *strings.Builder, formats []format) {
	for _, f := range formats {
		b.WriteString("a=rtpmap:" + strconv.Itoa(int(f.pt)) + " " + f.name + "/" + strconv.Itoa(int(f.clock)))
		if f.channels > 1 {
			b.WriteString("/" + strconv.Itoa(f.channels))
		}
		b.WriteString("\r\n")
		if f.fmtp != "" {
			b.WriteString("a=fmtp:" + strconv.Itoa(int(f.pt)) + " " + f.fmtp + "\r\n")
		}
	}
}
