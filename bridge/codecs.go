package bridge

import "strings"

// codecID names the codecs the gateway passes through. Anything else is
// left out of the SIP offer: there is no transcoding.
type codecID uint8

const (
	codecUnknown codecID = iota
	codecOpus
	codecG722
	codecPCMU
	codecPCMA
	codecTE8k  // telephone-event/8000
	codecTE48k // telephone-event/48000
	codecVP8
	codecH264
)

// isDTMF tells RFC 4733 event formats apart from voice codecs.
func (c codecID) isDTMF() bool { return c == codecTE8k || c == codecTE48k }

// isVoice is true for the audio codecs that carry speech.
func (c codecID) isVoice() bool { return c >= codecOpus && c <= codecPCMA }

// format is one payload format of an m-line: the PT and its rtpmap/fmtp.
type format struct {
	pt       uint8
	name     string // as written in rtpmap, e.g. "opus"
	clock    uint32
	channels int
	fmtp     string
	codec    codecID
}

// staticFormats are the RFC 3551 payload types that may appear without rtpmap.
var staticFormats = map[uint8]format{
	0:  {pt: 0, name: "PCMU", clock: 8000, channels: 1},
	3:  {pt: 3, name: "GSM", clock: 8000, channels: 1},
	4:  {pt: 4, name: "G723", clock: 8000, channels: 1},
	8:  {pt: 8, name: "PCMA", clock: 8000, channels: 1},
	9:  {pt: 9, name: "G722", clock: 8000, channels: 1},
	18: {pt: 18, name: "G729", clock: 8000, channels: 1},
}

// classify maps an rtpmap to the codec it names, or codecUnknown.
func classify(kind, name string, clock uint32, channels int) codecID {
	n := strings.ToLower(name)
	switch kind {
	case "audio":
		switch {
		case n == "opus" && clock == 48000 && (channels == 2 || channels == 0):
			// RFC 7587 always writes opus/48000/2; tolerate a missing count.
			return codecOpus
		case n == "g722" && clock == 8000:
			return codecG722
		case n == "pcmu" && clock == 8000:
			return codecPCMU
		case n == "pcma" && clock == 8000:
			return codecPCMA
		case n == "telephone-event" && clock == 8000:
			return codecTE8k
		case n == "telephone-event" && clock == 48000:
			return codecTE48k
		}
	case "video":
		switch {
		case n == "vp8" && clock == 90000:
			return codecVP8
		case n == "h264" && clock == 90000:
			return codecH264
		}
	}
	return codecUnknown
}

// mimeType is pion's name for a codec, used in codec preferences.
func (f format) mimeType(kind string) string {
	return kind + "/" + f.name
}

// sameCodec compares two formats for pass-through: codec plus, for H.264,
// the packetization mode, since the two modes are not interchangeable.
func sameCodec(a, b format) bool {
	if a.codec != b.codec || a.codec == codecUnknown {
		return false
	}
	if a.codec == codecH264 {
		return fmtpParam(a.fmtp, "packetization-mode", "0") == fmtpParam(b.fmtp, "packetization-mode", "0")
	}
	return true
}

// fmtpParam returns one key=value of an fmtp line, or def.
func fmtpParam(fmtp, key, def string) string {
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), key) {
			return strings.TrimSpace(v)
		}
	}
	return def
}
