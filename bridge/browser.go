package bridge

import (
	"fmt"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// gatherTimeout bounds waiting for ICE candidates: the browser gets a
// complete answer (no trickle), and host candidates come at once.
const gatherTimeout = 5 * time.Second

// answerBrowser creates the PeerConnection and the WebRTC answer with only
// the codecs of choices. Runs on the call goroutine.
func (c *Call) answerBrowser(choices []*choice) (string, error) {
	pc, err := c.e.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", fmt.Errorf("new PeerConnection: %w", err)
	}
	c.pc = pc
	c.pcShared.Store(pc)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if c.pcShared.Load() != pc {
			return // a browser leg replaced by Reattach
		}
		select {
		case c.pcEvents <- st:
		default: // only terminal states matter and they come last
		}
	})
	pc.OnTrack(c.onTrack)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: c.offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	used := map[webrtc.RTPCodecType]bool{}
	for _, tr := range pc.GetTransceivers() {
		l, ch := c.legFor(tr.Kind(), choices)
		if l == nil || ch == nil || used[tr.Kind()] {
			// Not relayed: stopped toward the browser (pion answers it
			// "a=inactive" and keeps the port, which browsers treat alike).
			if err := tr.Stop(); err != nil {
				return "", fmt.Errorf("reject %s m-line: %w", tr.Kind(), err)
			}
			continue
		}
		used[tr.Kind()] = true
		if err := c.attach(pc, tr, l, ch); err != nil {
			return "", err
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("create WebRTC answer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("set WebRTC answer: %w", err)
	}
	t := time.NewTimer(gatherTimeout)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
		return "", fmt.Errorf("ICE gathering took more than %s", gatherTimeout)
	case <-c.ctx.Done():
		return "", ErrClosed
	}
	local := pc.LocalDescription().SDP
	if err := c.learnAgreed(local); err != nil {
		return "", err
	}
	return local, nil
}

// legFor returns the leg and PBX choice for a transceiver kind.
func (c *Call) legFor(kind webrtc.RTPCodecType, choices []*choice) (*leg, *choice) {
	for i, l := range c.legs {
		if l.kind == kind.String() {
			return l, choices[i]
		}
	}
	return nil, nil
}

// attach restricts the transceiver to the PBX's codecs and adds our track.
func (c *Call) attach(pc *webrtc.PeerConnection, tr *webrtc.RTPTransceiver, l *leg, ch *choice) error {
	prefs := make([]webrtc.RTPCodecParameters, 0, len(ch.pairs))
	for _, p := range ch.pairs {
		f := p.browser
		prefs = append(prefs, webrtc.RTPCodecParameters{PayloadType: webrtc.PayloadType(f.pt),
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: f.mimeType(l.kind), ClockRate: f.clock, Channels: uint16(f.channels), SDPFmtpLine: f.fmtp}})
	}
	if err := tr.SetCodecPreferences(prefs); err != nil {
		return fmt.Errorf("restrict %s codecs: %w", l.kind, err)
	}
	l.s.track.mime = ch.pairs[0].browser.mimeType(l.kind)
	sender, err := pc.AddTrack(l.s.track)
	if err != nil {
		return fmt.Errorf("add %s track: %w", l.kind, err)
	}
	s := l.s
	c.spawn(func() { c.readSenderRTCP(s, sender) })
	return nil
}

// learnAgreed records the browser-side formats of our answer.
func (c *Call) learnAgreed(local string) error {
	sess, err := parseSDP([]byte(local))
	if err != nil {
		return fmt.Errorf("parse own WebRTC answer: %w", err)
	}
	for i, l := range c.legs {
		m := findMedia(sess, l.kind, i)
		if m == nil || m.port == 0 {
			continue
		}
		l.agreed = m.formats
	}
	if len(c.legs[0].agreed) == 0 {
		return fmt.Errorf("WebRTC answer has no audio: %w", ErrIncompatibleAnswer)
	}
	return nil
}

// onTrack starts the browser -> PBX relay for the first track of a kind.
func (c *Call) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	var s *stream
	for _, l := range c.legs {
		if l.kind == tr.Kind().String() {
			s = l.s
		}
	}
	if s == nil || !s.remote.CompareAndSwap(nil, tr) {
		c.log.Info("ignoring extra browser track", "kind", tr.Kind(), "ssrc", tr.SSRC())
		return
	}
	r := c.browserRelayFor(s, tr)
	s.relay.Store(r)
	c.spawn(func() {
		defer close(r.done)
		r.run()
	})
}

// readSenderRTCP drains RTCP the browser sends about our track (pion's
// interceptors need it read) and forwards keyframe requests to the PBX.
func (c *Call) readSenderRTCP(s *stream, sender *webrtc.RTPSender) {
	buf := make([]byte, maxPacket)
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				select {
				case s.keyframe <- struct{}{}:
				default:
				}
			}
		}
	}
}
