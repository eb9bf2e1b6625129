package bridge

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestReattachMovesMediaToANewBrowserLeg: a call's browser leg is dropped
// (the page reloads) and a new PeerConnection takes over; toward the PBX
// the stream goes on with the same SSRC and the next sequence number, and
// the PBX's audio reaches the new leg.
func TestReattachMovesMediaToANewBrowserLeg(t *testing.T) {
	es := establish(t, testEngine(t, engineCfg{}), CallOptions{ID: "reattach"}, nil)
	skipLite(t, es.call)
	gw := gwAddr(t, es.gw)
	eventually(t, "first leg's audio at the PBX", func() bool {
		es.b.send(0, 1000, 160000, []byte("first-leg"))
		return len(es.p.received()) > 0
	})
	if err := es.call.Detach(); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	before := es.p.received()
	last := before[len(before)-1]

	b2 := newBrowser(t, false)
	offer := b2.offer()
	ans, err := es.call.Reattach(offer)
	if err != nil {
		t.Fatalf("Reattach: %v", err)
	}
	if _, err := es.call.Reattach(offer); !errors.Is(err, ErrNotDetached) {
		t.Errorf("second Reattach: %v, want ErrNotDetached", err)
	}
	b2.accept(ans)
	eventually(t, "new leg connected", func() bool {
		return b2.pc.ConnectionState() == webrtc.PeerConnectionStateConnected && gatewayConnected(es.call)
	})
	eventually(t, "new leg's audio at the PBX", func() bool {
		b2.send(0, 7, 99, []byte("second-leg"))
		for _, pk := range es.p.received() {
			if string(pk.Payload) == "second-leg" {
				return true
			}
		}
		return false
	})
	var first *struct {
		ssrc   uint32
		seq    uint16
		ts     uint32
		marker bool
	}
	for _, pk := range es.p.received()[len(before):] {
		if string(pk.Payload) == "second-leg" && first == nil {
			first = &struct {
				ssrc   uint32
				seq    uint16
				ts     uint32
				marker bool
			}{pk.SSRC, pk.SequenceNumber, pk.Timestamp, pk.Marker}
		}
	}
	if first.ssrc != last.SSRC {
		t.Errorf("SSRC toward the PBX changed from %x to %x", last.SSRC, first.ssrc)
	}
	if first.seq != last.SequenceNumber+1 {
		t.Errorf("sequence toward the PBX: %d after %d, want continuous", first.seq, last.SequenceNumber)
	}
	if int32(first.ts-last.Timestamp) <= 0 || !first.marker {
		t.Errorf("timestamp %d after %d (marker %v): want later, marked as a talk spurt", first.ts, last.Timestamp, first.marker)
	}
	eventually(t, "PBX audio at the new leg", func() bool {
		es.p.sendTo(gw, 0, 0xabc, 600, 9000, []byte("to-second-leg"))
		for _, pk := range b2.received() {
			if string(pk.Payload) == "to-second-leg" {
				return true
			}
		}
		return false
	})
	select {
	case <-es.call.Done():
		t.Errorf("the call's media ended: %v", es.call.Err())
	default:
	}
}

// TestReattachRefusesOfferWithoutTheCallsCodec: a new page that cannot
// carry the codec negotiated with the PBX is refused; the call stays
// detached (no re-INVITE is attempted).
func TestReattachRefusesOfferWithoutTheCallsCodec(t *testing.T) {
	es := establish(t, testEngine(t, engineCfg{}), CallOptions{ID: "refuse"}, nil)
	skipLite(t, es.call)
	if err := es.call.Detach(); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	offer := newBrowser(t, false).offer()
	noPCMU := strings.NewReplacer("UDP/TLS/RTP/SAVPF 111 0 126", "UDP/TLS/RTP/SAVPF 111 126", "a=rtpmap:0 PCMU/8000\r\n", "").Replace(offer)
	if noPCMU == offer {
		t.Fatalf("offer not as expected:\n%s", offer)
	}
	_, err := es.call.Reattach(noPCMU)
	if !errors.Is(err, ErrNoCommonCodec) || !strings.Contains(err.Error(), "PCMU") {
		t.Errorf("Reattach without PCMU: %v, want ErrNoCommonCodec naming PCMU", err)
	}
	if _, err := es.call.Reattach(newBrowser(t, false).offer()); err != nil {
		t.Errorf("Reattach after a refused one: %v", err)
	}
}

// TestDetachKeepsTheCallPastTheRTPTimeout: while detached, neither the
// closed PeerConnection nor the silence on both sides ends the call.
func TestDetachKeepsTheCallPastTheRTPTimeout(t *testing.T) {
	es := establish(t, testEngine(t, engineCfg{}), CallOptions{ID: "park", RTPTimeout: 50 * time.Millisecond}, nil)
	skipLite(t, es.call)
	if err := es.call.Detach(); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	select {
	case <-es.call.Done():
		t.Fatalf("a detached call ended: %v", es.call.Err())
	case <-time.After(500 * time.Millisecond):
	}
}

// skipLite skips a re-attach test in the lite sweep: the lite stack refuses
// Detach with ErrReattachUnsupported.
func skipLite(t *testing.T, c *Call) {
	t.Helper()
	if c.lite != nil {
		if err := c.Detach(); !errors.Is(err, ErrReattachUnsupported) {
			t.Errorf("Detach on the lite stack: %v, want ErrReattachUnsupported", err)
		}
		t.Skip("the lite stack does not re-attach")
	}
}

// TestClosedBrowserLegWaitsForDetach: a page that goes away closes its
// PeerConnection about when its websocket closes; the answered call waits
// closeSettle for the session to detach it rather than ending at once,
// and ends with ErrBrowserClosed when nobody does.
func TestClosedBrowserLegWaitsForDetach(t *testing.T) {
	const settle = time.Second
	e := testEngine(t, engineCfg{})
	e.closeSettle = settle
	t.Run("detached in time", func(t *testing.T) {
		es := establish(t, e, CallOptions{ID: "settle-detach"}, nil)
		skipLite(t, es.call)
		if err := es.b.pc.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-es.call.Done():
			t.Fatalf("the call ended as its browser leg closed: %v", es.call.Err())
		case <-time.After(settle / 5):
		}
		if err := es.call.Detach(); err != nil {
			t.Fatalf("Detach after the browser leg closed: %v", err)
		}
		select {
		case <-es.call.Done():
			t.Fatalf("a detached call ended: %v", es.call.Err())
		case <-time.After(2 * settle):
		}
	})
	t.Run("nobody detaches", func(t *testing.T) {
		es := establish(t, e, CallOptions{ID: "settle-end"}, nil)
		skipLite(t, es.call)
		if err := es.b.pc.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-es.call.Done():
			if !errors.Is(es.call.Err(), ErrBrowserClosed) {
				t.Errorf("the call ended with %v, want ErrBrowserClosed", es.call.Err())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the call outlived its closed browser leg")
		}
	})
}
