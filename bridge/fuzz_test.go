package bridge

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// FuzzPBXAnswer feeds arbitrary bytes as a PBX answer, re-offer and
// re-answer on an established call: never a panic, and whatever is
// accepted yields SDP the gateway itself can parse back.
func FuzzPBXAnswer(f *testing.F) {
	f.Add(fullAnswer(40000))
	f.Add(pbxAnswer(40002, "sendonly", "0 PCMU/8000", "101 telephone-event/8000"))
	if files, err := os.ReadDir(filepath.Join(corpusDir(f), "sdp")); err == nil {
		for _, fi := range files {
			if raw, err := os.ReadFile(filepath.Join(corpusDir(f), "sdp", fi.Name())); err == nil {
				f.Add(sipBody(fi.Name(), raw))
			}
		}
	}
	e := testEngine(f, engineCfg{})
	c, err := e.NewCall(readTestdata(f, "offer-chrome-audio.sdp"), CallOptions{ID: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = c.Close() })
	if _, err := c.SIPAnswer(fullAnswer(40000), true); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if out, err := c.SIPReoffer(b); err == nil {
			if _, err := parseSDP(out); err != nil {
				t.Fatalf("accepted re-offer, unparsable answer: %v\n%s", err, out)
			}
		}
		_ = c.SIPReanswer(b)
		if _, err := c.SIPAnswer(b, true); err == nil {
			if _, err := parseSDP(b); err != nil {
				t.Fatalf("accepted answer that does not parse: %v", err)
			}
		}
	})
}

// FuzzNewCall feeds arbitrary bytes as a browser's offer: never a panic,
// a refusal is always ErrBadOffer or ErrNoCommonCodec, and an accepted offer
// yields a SIP offer both parsers read back and a browser offer for pion
// that parses and carries at most maxCandidates candidates, each allowed.
func FuzzNewCall(f *testing.F) {
	for _, name := range []string{"offer-chrome-audio.sdp", "offer-pcma-legacy.sdp", "offer-ilbc-only.sdp", "offer-no-audio.sdp", "offer-not-sdp.sdp"} {
		f.Add([]byte(readTestdata(f, name)))
	}
	f.Add([]byte(withCandidates(readTestdata(f, "offer-chrome-audio.sdp"), hostileCandidates([]int{9, 5060, 22, 80}))))
	// The shared corpus adds SDP from real PBXs; the seeds above and in
	// testdata/fuzz/FuzzNewCall stand without it.
	if files, err := os.ReadDir(filepath.Join(corpusDir(f), "sdp")); err == nil {
		for _, fi := range files {
			if raw, err := os.ReadFile(filepath.Join(corpusDir(f), "sdp", fi.Name())); err == nil {
				f.Add(sipBody(fi.Name(), raw))
			}
		}
	}
	e := testEngine(f, engineCfg{quarantine: time.Nanosecond})
	loop, err := newCandidatePolicy([]string{"127.0.0.0/8"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := e.NewCall(string(b), CallOptions{ID: "fuzz"})
		if err != nil {
			if !errors.Is(err, ErrBadOffer) && !errors.Is(err, ErrNoCommonCodec) {
				t.Fatalf("refused with an unclassified error: %v", err)
			}
			return
		}
		defer c.Close()
		if len(b) > maxSDPBytes {
			t.Fatalf("accepted an offer of %d bytes", len(b))
		}
		if _, err := parseSDP(c.SIPOffer()); err != nil {
			t.Fatalf("SIP offer unparsable: %v\n%s", err, c.SIPOffer())
		}
		var sipOffer sdp.SessionDescription
		if err := sipOffer.Unmarshal(c.SIPOffer()); err != nil {
			t.Fatalf("SIP offer unparsable by pion: %v\n%s", err, c.SIPOffer())
		}
		var browser sdp.SessionDescription
		if err := browser.UnmarshalString(c.offer); err != nil {
			t.Fatalf("filtered offer unparsable: %v", err)
		}
		seen := map[string]bool{}
		for _, m := range browser.MediaDescriptions {
			for _, a := range m.Attributes {
				if a.IsICECandidate() {
					if !loop.takes(a.Value) {
						t.Fatalf("kept a refused candidate %q", a.Value)
					}
					seen[a.Value] = true
				}
			}
		}
		if len(seen) > maxCandidates {
			t.Fatalf("kept %d candidates", len(seen))
		}
	})
}

// FuzzRTPHeader checks the relay's RTP parsing against pion's: the header
// length and payload agree whenever both accept, a packet the relay
// accepts is well-formed by construction, and a header pion builds from
// the same fields is read back by the relay exactly.
func FuzzRTPHeader(f *testing.F) {
	f.Add(benchPacket())
	f.Add([]byte{0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 42})
	f.Fuzz(func(t *testing.T, b []byte) {
		hl := rtpHeaderLen(b)
		var h rtp.Header
		n, herr := h.Unmarshal(b)
		if hl == 0 {
			if herr == nil && len(b) >= 12 && b[0]>>6 == 2 {
				t.Fatalf("refused a header pion reads (%d bytes)", n)
			}
			return
		}
		want := 12 + 4*int(b[0]&0x0f)
		if b[0]&0x10 != 0 {
			want += 4 + 4*int(binary.BigEndian.Uint16(b[want+2:]))
		}
		if b[0]>>6 != 2 || hl != want || hl > len(b) {
			t.Fatalf("header length %d of %d bytes, want %d", hl, len(b), want)
		}
		if herr == nil && n != hl {
			t.Fatalf("header length %d, pion says %d", hl, n)
		}
		payload := rtpPayload(b, hl)
		var p rtp.Packet
		perr := p.Unmarshal(b)
		switch {
		case payload == nil:
			if b[0]&0x20 == 0 {
				t.Fatal("no payload without padding")
			}
			if pad := int(b[len(b)-1]); pad != 0 && hl+pad <= len(b) {
				t.Fatalf("padding %d refused in %d bytes after a %d-byte header", pad, len(b), hl)
			}
		case b[0]&0x20 == 0 && len(payload) != len(b)-hl:
			t.Fatalf("payload of %d bytes, want %d", len(payload), len(b)-hl)
		case b[0]&0x20 != 0 && len(b)-hl-len(payload) != int(b[len(b)-1]):
			t.Fatalf("padding of %d bytes, the packet says %d", len(b)-hl-len(payload), b[len(b)-1])
		case perr == nil && !bytes.Equal(p.Payload, payload):
			t.Fatalf("payload differs from pion's: %x vs %x", payload, p.Payload)
		}
		if herr != nil {
			return
		}
		// Round trip: pion marshals the fields it read; the relay reads
		// the same header length and payload back.
		p2 := rtp.Packet{Header: h, Payload: []byte("payload")}
		p2.Padding, p2.PaddingSize = false, 0
		raw, err := p2.Marshal()
		if err != nil {
			return // fields pion reads but will not write (odd extension lengths)
		}
		if got := rtpHeaderLen(raw); got != p2.Header.MarshalSize() {
			t.Fatalf("round trip: header length %d, pion wrote %d", got, p2.Header.MarshalSize())
		}
		if got := rtpPayload(raw, p2.Header.MarshalSize()); string(got) != "payload" {
			t.Fatalf("round trip: payload %q", got)
		}
	})
}
