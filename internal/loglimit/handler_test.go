package loglimit

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(t *testing.T, o Options) (*slog.Logger, *bytes.Buffer, *clock) {
	t.Helper()
	var buf bytes.Buffer
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	o.Now = c.now
	return slog.New(New(slog.NewJSONHandler(&buf, nil), o)), &buf, c
}

func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestFloodIsCutAndReported(t *testing.T) {
	log, buf, c := newTest(t, Options{Burst: 5, Window: 10 * time.Second})
	for i := range 2000 {
		log.Warn("junk datagram", "n", i)
	}
	log.Info("something else")
	got := records(t, buf)
	if len(got) != 6 {
		t.Fatalf("%d records logged during the flood, want 5 + 1 other", len(got))
	}
	c.t = c.t.Add(11 * time.Second)
	log.Warn("junk datagram", "n", 2000)
	got = records(t, buf)
	if len(got) != 8 {
		t.Fatalf("%d records after the window, want a summary and the new record too: %v", len(got), got[6:])
	}
	s := got[6]
	if s["msg"] != SuppressedMessage || s["message"] != "junk datagram" || s["count"] != float64(1995) || s["level"] != "WARN" {
		t.Errorf("summary = %v", s)
	}
	if got[7]["msg"] != "junk datagram" || got[7]["n"] != float64(2000) {
		t.Errorf("first record of the new window = %v", got[7])
	}
}

func TestSummaryAlsoWhenTheFloodStopped(t *testing.T) {
	log, buf, c := newTest(t, Options{Burst: 1, Window: time.Second})
	sub := log.With("component", "widget")
	for range 10 {
		sub.Warn("session refused")
	}
	c.t = c.t.Add(2 * time.Second)
	log.Info("unrelated")
	got := records(t, buf)
	if len(got) != 3 || got[1]["message"] != "session refused" || got[1]["count"] != float64(9) || got[1]["component"] != "widget" {
		t.Fatalf("records = %v", got)
	}
}

func TestUnlimitedAndLevelsApart(t *testing.T) {
	log, buf, _ := newTest(t, Options{Burst: 2, Unlimited: []string{"sip trace"}})
	for range 100 {
		log.Info("sip trace")
	}
	for range 3 {
		log.Info("refused")
		log.Error("refused")
	}
	if n := len(records(t, buf)); n != 104 {
		t.Fatalf("%d records, want 100 trace lines and 2 of each level", n)
	}
}

func TestKeysBounded(t *testing.T) {
	h := New(slog.DiscardHandler, Options{})
	for i := range 3 * maxKeys {
		_ = h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, strings.Repeat("x", i%5000)+string(rune(i)), 0))
	}
	if n := len(h.state.keys); n > maxKeys+1 {
		t.Fatalf("%d keys tracked", n)
	}
}
