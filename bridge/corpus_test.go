package bridge

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fullAnswer is a PBX answer accepting every audio codec Chrome offers, so
// a later re-offer can pick any of them.
func fullAnswer(port int) []byte {
	return pbxAnswer(port, "sendrecv", "111 opus/48000/2", "9 G722/8000", "0 PCMU/8000", "8 PCMA/8000", "101 telephone-event/8000")
}

// sipBody returns the SDP of a stored message: the part after the blank
// line for full SIP messages, the file itself for .sdp files.
func sipBody(name string, raw []byte) []byte {
	if strings.HasSuffix(name, ".sdp") {
		return raw
	}
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	_, body, _ := bytes.Cut(raw, []byte("\n\n"))
	return body
}

// TestCorpusSDP feeds every real PBX SDP to a call: answers as the PBX's
// answer, offers as a re-INVITE. The table says what must happen and why.
func TestCorpusSDP(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "sdp")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not found at %s (set FRONTDESK_CORPUS): %v", dir, err)
	}
	cases := map[string]struct {
		answer  bool   // used as the answer to our INVITE, else as a re-offer
		wantErr error  // nil: accepted
		want    string // a line the gateway's SDP (re-offers) must hold
		why     string
	}{
		"asterisk-answer-opus-te101-maxptime.sdp":               {answer: true, why: "opus + te 101; private o= vs public c= is irrelevant"},
		"cisco-cucm-answer-video-rejected-port0-h224-rate0.sdp": {answer: true, why: "media-level c=; video port 0 ignored; H224/0 never classified"},
		"freeswitch-answer-te96-silencesupp-rtcp-addr.sdp":      {answer: true, why: "PCMA + te on PT 96; a=rtcp with address"},
		"kamailio-rtpengine-rewritten-answer-PORT-filled.sdp":   {answer: true, why: "media-level c= only"},
		"modcom-gw-answer-g729-te100-maxptime150.sdp":           {answer: true, why: "G722 first; G729 skipped"},
		"baresip-invite-audio-video-h264-h265-LF.sip":           {want: "m=video 0 ", why: "LF message; video refused on an audio-only call"},
		"ccs-offer-amr-session-sendrecv-bRS-bRR.sdp":            {want: "a=rtpmap:8 PCMA/8000", why: "AMR skipped, PCMA taken"},
		"cisco-cucm-offer-audio-video-h264-h265-h224.sdp":       {want: "m=application 0 ", why: "double-space fmtp; H224 application refused"},
		"empty-s-line-direction-both-mptime.sdp":                {want: "a=sendrecv", why: "empty s=, a=direction:both ignored"},
		"osrtp-offer-duplicate-mline-aead-gcm-crypto.sdp":       {want: "m=audio 0 RTP/SAVP", why: "SAVP copy refused (SRTP off), the AVP copy accepted"},
		"polycom-offer-g722-rtcp.sdp":                           {want: "a=rtpmap:9 G722/8000", why: "a=rtcp without direction"},
		"sonus-offer-sendonly-msid-session-level.sdp":           {want: "a=recvonly", why: "hold offer (sendonly), te listed first"},
		"teles-sbc-offer-two-telephone-event-rates.sdp":         {want: "a=rtpmap:102 telephone-event/8000", why: "te/16000 ignored"},
		"wildix-offer-rtp-avpf-plain.sdp":                       {want: "RTP/AVPF", why: "AVPF without feedback is plain RTP"},
		"cisco-cucm-invite-without-sdp-delayed-offer.txt":       {wantErr: ErrBadSDP, why: "no SDP at all: delayed offer is the SIP layer's job"},
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := testEngine(t, engineCfg{})
	offer := readTestdata(t, "offer-chrome-audio.sdp")
	for _, f := range files {
		tc, ok := cases[f.Name()]
		if !ok {
			t.Errorf("%s: corpus file without an expectation", f.Name())
			continue
		}
		t.Run(f.Name(), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			body := sipBody(f.Name(), raw)
			c, err := e.NewCall(offer, CallOptions{ID: f.Name()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var out []byte
			if tc.answer {
				var ans string
				ans, err = c.SIPAnswer(body, true)
				out = []byte(ans)
			} else {
				if _, err := c.SIPAnswer(fullAnswer(40000), true); err != nil {
					t.Fatal(err)
				}
				out, err = c.SIPReoffer(body)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v (%s)", err, tc.wantErr, tc.why)
				}
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v (%s)", err, tc.why)
			}
			s, err := parseSDP(out)
			if err != nil {
				t.Fatalf("our SDP does not parse: %v", err)
			}
			if !tc.answer {
				in, _ := parseSDP(body)
				if len(s.media) != len(in.media) {
					t.Errorf("answered %d m-lines to %d", len(s.media), len(in.media))
				}
			}
			if tc.want != "" && !strings.Contains(string(out), tc.want) {
				t.Errorf("answer lacks %q (%s):\n%s", tc.want, tc.why, out)
			}
		})
	}
}
