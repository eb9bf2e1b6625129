package presence

import (
	"sync"
	"testing"
)

// BenchmarkHubBroadcast10k measures one change reaching 10,000 watchers,
// each drained by its own goroutine: from Changed to the last receive.
func BenchmarkHubBroadcast10k(b *testing.B) {
	const n = 10_000
	h := NewHub(0)
	startHub(b, h)
	var got sync.WaitGroup
	stop := make(chan struct{})
	var drainers sync.WaitGroup
	for range n {
		w := h.Watch()
		drainers.Go(func() {
			defer w.Close()
			for {
				select {
				case <-w.C():
					got.Done()
				case <-stop:
					return
				}
			}
		})
	}
	b.Cleanup(func() {
		close(stop)
		drainers.Wait()
	})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got.Add(n)
		h.Changed()
		got.Wait()
	}
}

func BenchmarkParsePIDF(b *testing.B) {
	body := readFile(b, "testdata/rfc4480-multi-tuple-meeting.xml")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePresence(ContentTypePIDF, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDialogInfo(b *testing.B) {
	body := readFile(b, "testdata/rfc4235-full-confirmed.xml")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDialogInfo(body); err != nil {
			b.Fatal(err)
		}
	}
}
