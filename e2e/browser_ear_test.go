//go:build integration

package e2e

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// The flows hear a call as the call tests do (cbPage.waitHears), but in the
// product widget: an analyser on the remote stream the widget plays (its
// video.rv element) finds the strongest frequency. The visitor's fake
// microphone plays cbMicHz in both engines (Chromium a tone file, Firefox
// media.navigator.audio.fake_frequency), so the agent's recording can be
// checked for it too.

// earJS takes n readings, ms apart, of what widget id's call plays:
// [{freq, db}] or null before remote audio plays. The analyser stays on
// window.__fdEar for the stream it was made for.
const earJS = `(async (id, n, ms) => {
  const v = fd(id) && fd(id).querySelector('video.rv');
  const s = v && v.srcObject;
  if (!s || s.getAudioTracks().length === 0) return null;
  let e = window.__fdEar;
  if (!e || e.stream !== s) {
    if (e) e.ctx.close().catch(() => {});
    const ctx = new AudioContext();
    const an = ctx.createAnalyser();
    an.fftSize = 4096;
    an.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(new MediaStream(s.getAudioTracks())).connect(an);
    e = window.__fdEar = { ctx, an, stream: s };
  }
  // resume stays pending where autoplay is refused: bounded.
  if (e.ctx.state !== 'running') await Promise.race([e.ctx.resume().catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
  if (e.ctx.state !== 'running') return [{ freq: 0, db: -999, state: e.ctx.state }];
  const out = [];
  for (let i = 0; i < n; i++) {
    await new Promise((r) => setTimeout(r, ms));
    const bins = new Float32Array(e.an.frequencyBinCount);
    e.an.getFloatFrequencyData(bins);
    let best = 4; // skip DC and the lowest bins
    for (let k = 5; k < bins.length; k++) if (bins[k] > bins[best]) best = k;
    out.push({ freq: best * e.ctx.sampleRate / e.an.fftSize, db: bins[best], binHz: e.ctx.sampleRate / e.an.fftSize });
  }
  return out;
})`

// earReading is one reading of earJS; State is the AudioContext's state
// when it does not run.
type earReading struct {
	Freq  float64 `json:"freq"`
	DB    float64 `json:"db"`
	State string  `json:"state"`
}

// flowWaitHears waits until ten readings in a row, 100 ms apart, of what
// widget id's call plays are at hz and above cbPageFloorDB; it returns the
// median frequency and level.
func (tb *browserTab) flowWaitHears(id string, hz float64) (float64, float64) {
	tb.t.Helper()
	deadline := time.Now().Add(flowWait)
	for {
		var last []*earReading
		tb.eval(fmt.Sprintf(`%s(%q, 10, 100)`, earJS, id), &last)
		var freqs, dbs []float64
		for _, h := range last {
			if h != nil && math.Abs(h.Freq-hz) <= cbTolerance && h.DB > cbPageFloorDB {
				freqs, dbs = append(freqs, h.Freq), append(dbs, h.DB)
			}
		}
		if len(last) > 0 && len(freqs) == len(last) {
			slices.Sort(freqs)
			slices.Sort(dbs)
			return freqs[len(freqs)/2], dbs[len(dbs)/2]
		}
		if st := tb.hostAttr(id, "call"); st == "ended" {
			tb.t.Fatalf("waiting to hear %v Hz: the call ended (reason %q)", hz, tb.hostAttr(id, "call-reason"))
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			if last == nil {
				b.WriteString(" (no remote audio)")
			}
			for _, h := range last {
				if h != nil {
					fmt.Fprintf(&b, " %.0fHz@%.0fdB%s", h.Freq, h.DB, h.State)
				}
			}
			tb.t.Fatalf("the visitor does not hear %v Hz (±%d, above %d dB) within %v; last readings:%s", hz, cbTolerance, cbPageFloorDB, flowWait, b.String())
		}
	}
}

// writeToneWAV writes seconds of a sine of hz at half scale as a mono
// 16-bit WAV file: the fake microphone of the flows' Chromium (which loops
// it).
func writeToneWAV(path string, rate, hz, seconds int) error {
	n := rate * seconds
	buf := make([]byte, 44+2*n)
	copy(buf[0:], "RIFF")
	binary.LittleEndian.PutUint32(buf[4:], uint32(36+2*n))
	copy(buf[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(buf[16:], 16)
	binary.LittleEndian.PutUint16(buf[20:], 1) // PCM
	binary.LittleEndian.PutUint16(buf[22:], 1) // mono
	binary.LittleEndian.PutUint32(buf[24:], uint32(rate))
	binary.LittleEndian.PutUint32(buf[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(buf[32:], 2)
	binary.LittleEndian.PutUint16(buf[34:], 16)
	copy(buf[36:], "data")
	binary.LittleEndian.PutUint32(buf[40:], uint32(2*n))
	for i := 0; i < n; i++ {
		v := int16(0.5 * math.MaxInt16 * math.Sin(2*math.Pi*float64(hz)*float64(i)/float64(rate)))
		binary.LittleEndian.PutUint16(buf[44+2*i:], uint16(v))
	}
	return os.WriteFile(path, buf, 0o644)
}
