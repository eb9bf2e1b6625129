package bridge

import (
	"os"
	"path/filepath"
	"testing"
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
