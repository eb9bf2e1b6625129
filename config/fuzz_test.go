package config

import (
	"errors"
	"testing"
)

// FuzzParse checks that any input yields either a config or Errors whose
// problems have sane lines, never a panic, and that a config that parses
// does so again identically from the same bytes.
func FuzzParse(f *testing.F) {
	seeds := []string{
		string(defaultYAML),
		diffBase,
		agentYAML("sip: bob", "mode: presense"),
		"sip: [a, b]\n",
		"a: &a [*a]\n",
		"x: &x {y: *x}\nsip: *x\n",
		"widgets:\n  - &w {id: 5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f, type: cards}\n  - *w\n",
		"---\n---\n",
		"limits: {start_timeout: 99999999999999999999}\n",
		"\t",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Parse("f.yaml", data, "")
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", c != nil, err)
		}
		if err != nil {
			var list Errors
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v is not a non-empty Errors", err)
			}
			lines := len(data) + 1
			for _, p := range list {
				if p.Line < 0 || p.Line > lines+1 || p.File != "f.yaml" || p.Msg == "" {
					t.Fatalf("bad problem %+v", p)
				}
			}
			return
		}
		again, _, err := Parse("f.yaml", data, "")
		if err != nil {
			t.Fatalf("second parse failed: %v", err)
		}
		if ch := Diff(c, again); !ch.Empty() {
			t.Fatalf("second parse differs: %+v", ch)
		}
	})
}
