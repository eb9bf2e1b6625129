package bridge

import "errors"

// Sentinel errors. Callers match them with errors.Is; each is wrapped with
// what was being done when it happened.
var (
	// ErrBadOffer: the browser's offer is not usable SDP (too big, garbled,
	// or without an audio m-line). Maps to a Widget-API "bad request".
	ErrBadOffer = errors.New("bad browser offer")
	// ErrNoCommonCodec: the browser offered none of Opus, G.722, PCMU, PCMA.
	ErrNoCommonCodec = errors.New("no codec in common")
	// ErrBadSDP: SDP from the PBX could not be parsed. Maps to SIP 400/488.
	ErrBadSDP = errors.New("bad SDP from the PBX")
	// ErrIncompatibleAnswer: the PBX chose a codec or transport the browser
	// leg cannot carry without transcoding. Maps to SIP 488.
	ErrIncompatibleAnswer = errors.New("incompatible SDP from the PBX")
	// ErrNoTelephoneEvent: no RFC 4733 payload type was negotiated; send the
	// digit with SIP INFO instead.
	ErrNoTelephoneEvent = errors.New("telephone-event not negotiated")
	// ErrNotAnswered: the call has no media yet (no SIP answer applied or no
	// audio from the browser so far).
	ErrNotAnswered = errors.New("media not established")
	// ErrDTMFQueueFull: too many key presses are waiting to be sent in this
	// call; the new one was dropped, the call goes on.
	ErrDTMFQueueFull = errors.New("DTMF queue full")
	// ErrRTPTimeout: no RTP arrived for the RTP timeout.
	ErrRTPTimeout = errors.New("RTP timeout")
	// ErrICEFailed: ICE or DTLS with the browser failed.
	ErrICEFailed = errors.New("ICE/DTLS with the browser failed")
	// ErrBrowserClosed: the browser closed its PeerConnection.
	ErrBrowserClosed = errors.New("browser closed the media session")
	// ErrClosed: the call or engine was closed.
	ErrClosed = errors.New("closed")
	// ErrNoPorts: every RTP port pair is in use or quarantined.
	ErrNoPorts = errors.New("no free RTP port pair")
)
