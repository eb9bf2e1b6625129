package eventlist

import (
	"bytes"
	"testing"
)

// FuzzParse: Parse is deterministic, stays within its limits, gives only
// known states and a content type with every document, and what it gives
// survives Marshal and Parse again unchanged. Seeds: testdata/*.txt and
// testdata/fuzz.
func FuzzParse(f *testing.F) {
	for _, name := range vectors(f) {
		ct, body := vector(f, name)
		f.Add(ct, body)
	}
	lim := Limits{MaxBody: 64 << 10, MaxParts: 64, MaxResources: 64, MaxInstances: 8}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		n, err := Parse(ct, body, lim)
		n2, err2 := Parse(ct, body, lim)
		if (err == nil) != (err2 == nil) || (err == nil && !sameNotification(n, n2)) {
			t.Fatalf("not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			return
		}
		if len(n.Resources) > lim.MaxResources {
			t.Fatalf("%d resources, limit %d", len(n.Resources), lim.MaxResources)
		}
		for _, r := range n.Resources {
			if len(r.Instances) > lim.MaxInstances {
				t.Fatalf("%d instances, limit %d", len(r.Instances), lim.MaxInstances)
			}
			for _, in := range r.Instances {
				switch in.State {
				case StateActive, StatePending, StateTerminated:
				default:
					t.Fatalf("state %q", in.State)
				}
				if len(in.Body) > 0 && in.ContentType == "" {
					t.Fatalf("a document without a content type: %+v", in)
				}
			}
		}
		const boundary = "fz-9c1e77b2d4"
		for _, r := range n.Resources {
			for _, in := range r.Instances {
				if bytes.Contains(in.Body, []byte(boundary)) {
					return // the writer's boundary inside a document: not a valid body to write
				}
			}
		}
		mct, mbody := n.Marshal(boundary)
		back, err := Parse(mct, mbody, Limits{MaxBody: 1 << 22, MaxParts: 1 << 12, MaxResources: 1 << 12, MaxInstances: 1 << 6})
		if err != nil {
			t.Fatalf("parse of marshalled: %v\n%+v", err, n)
		}
		if !sameNotification(n, back) {
			t.Fatalf("round trip\n%+v\n%+v", n, back)
		}
	})
}
