package bridge

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// relayTrack is the TrackLocal toward the browser. pion's
// TrackLocalStaticRTP forces every packet to the bound codec's PT, which
// would turn the PBX's telephone-event packets into garbage audio; this
// track writes headers exactly as the relay built them.
type relayTrack struct {
	kind     webrtc.RTPCodecType
	mime     string // codec matched in Bind
	id       string
	streamID string
	bound    atomic.Pointer[trackBinding]
}

type trackBinding struct {
	w    webrtc.TrackLocalWriter
	ssrc uint32
}

func newRelayTrack(kind webrtc.RTPCodecType, mime, callID string) *relayTrack {
	return &relayTrack{kind: kind, mime: mime, id: kind.String(), streamID: "frontdesk-" + callID}
}

// Bind accepts the negotiated codec of the track's kind matching mime.
func (t *relayTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, t.mime) {
			t.bound.Store(&trackBinding{w: ctx.WriteStream(), ssrc: uint32(ctx.SSRC())})
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("bind %s track: %w", t.mime, webrtc.ErrUnsupportedCodec)
}

// Unbind stops writes; the relay drops packets until a new Bind.
func (t *relayTrack) Unbind(webrtc.TrackLocalContext) error {
	t.bound.Store(nil)
	return nil
}

func (t *relayTrack) ID() string                { return t.id }
func (t *relayTrack) RID() string               { return "" }
func (t *relayTrack) StreamID() string          { return t.streamID }
func (t *relayTrack) Kind() webrtc.RTPCodecType { return t.kind }

// write sends one packet; h's SSRC is set to the bound one. It reports
// false when the track is not bound (yet).
func (t *relayTrack) write(h *rtp.Header, payload []byte) (bool, error) {
	b := t.bound.Load()
	if b == nil {
		return false, nil
	}
	h.SSRC = b.ssrc
	_, err := b.w.WriteRTP(h, payload)
	return true, err
}
