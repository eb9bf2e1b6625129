package config

import (
	"strings"
	"testing"
	"time"
)

func TestZZLaughs(t *testing.T) {
	ten := func(s string) string { return strings.TrimSuffix(strings.Repeat(s+", ", 10), ", ") }
	y := "x:\n  m: &m [" + ten("video") + "]\n  ag: &ag {sip: bob, media: *m, email: \"a@b.c\", picture: nope.png}\n  al: &al [" + ten("*ag") + "]\n  al2: &al2 [" + ten("*al") + "]\n"
	y += "widgets: [" + strings.TrimSuffix(strings.Repeat("{id: 5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f, type: cards, agents: *al}, ", 2000), ", ") + "]\n"
	start := time.Now()
	_, _, err := Parse("x", []byte(y), "")
	t.Logf("%d bytes %v %d problems", len(y), time.Since(start), strings.Count(err.Error(), "\n"))
}
