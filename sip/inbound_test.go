package sip

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/loglimit"
)

// countingWriter counts the bytes and lines a test's log handler writes.
type countingWriter struct {
	mu           sync.Mutex
	bytes, lines int
	longest      int
	last         string
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bytes += len(p)
	w.lines += bytes.Count(p, []byte("\n"))
	w.longest = max(w.longest, len(p))
	w.last = string(p)
	return len(p), nil
}

func (w *countingWriter) counts() (bytes, lines, longest int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bytes, w.lines, w.longest
}

func (w *countingWriter) lastLine() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// flood sends n junk datagrams of size bytes from a socket on srcHost to
// the UA, in small bursts each waited for (counted by reason) so the kernel
// drops none, and fails the test if the count does not follow.
func flood(t *testing.T, u *UA, srcHost string, n, size int, reason string) {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", u.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(srcHost)}, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	junk := append([]byte("INVITE junk\r\nVia: "), bytes.Repeat([]byte{'x'}, size-18)...)
	base := u.Status().Rejected[reason]
	const burst = 10
	for sent := 0; sent < n; {
		for range burst {
			if _, err := c.Write(junk); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		deadline := time.Now().Add(3 * time.Second)
		for u.Status().Rejected[reason]-base < int64(sent) {
			if time.Now().After(deadline) {
				t.Fatalf("after %d junk datagrams %d counted as %s", sent, u.Status().Rejected[reason]-base, reason)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// 2,000 junk datagrams of 8 KB: from an untrusted source they are counted
// and logged at debug level at most (nothing at info); from the PBX's own
// address each is one warning of bounded size, which the process's log
// handler (loglimit) collapses. Either way the UA keeps answering and stays
// registered.
func TestJunkDatagramsBoundedInLog(t *testing.T) {
	for _, tc := range []struct {
		name, pbxHost, reason string
		maxLine               int  // longest log line while flooded; 0: no lines at all
		limited               bool // through the process's repeated-line limit
		maxBytes              int  // what the log may grow by, when limited
	}{
		{name: "untrusted source", pbxHost: "127.0.0.2", reason: RejectUntrusted},
		{name: "trusted source", pbxHost: "127.0.0.1", reason: RejectUnparsable, maxLine: 3 * maxLoggedBytes},
		{name: "trusted source, process log", pbxHost: "127.0.0.1", reason: RejectUnparsable, maxLine: 3 * maxLoggedBytes, limited: true, maxBytes: 32 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePBX(t, tc.pbxHost)
			rec := newRecorder()
			var w countingWriter
			var h slog.Handler = slog.NewTextHandler(&w, &slog.HandlerOptions{Level: slog.LevelInfo})
			if tc.limited {
				h = loglimit.New(h, loglimit.Options{Unlimited: []string{TraceLogMessage}})
			}
			u, _ := startUA(t, f, rec, nil, Options{Logger: slog.New(h)})
			waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
			before, linesBefore, _ := w.counts()
			w.mu.Lock()
			w.longest = 0
			w.mu.Unlock()

			const n, size = 2000, 8 << 10
			flood(t, u, "127.0.0.1", n, size, tc.reason)
			if tc.maxLine > 0 && !tc.limited {
				// A datagram is counted before its warning is written.
				deadline := time.Now().Add(5 * time.Second)
				for _, l, _ := w.counts(); l-linesBefore < n && time.Now().Before(deadline); _, l, _ = w.counts() {
					time.Sleep(time.Millisecond)
				}
			}

			after, linesAfter, longest := w.counts()
			grew, lines := after-before, linesAfter-linesBefore
			t.Logf("%d junk datagrams of %d bytes: log grew by %d bytes in %d lines (longest %d)", n, size, grew, lines, longest)
			switch {
			case tc.maxLine == 0 && grew > 0:
				t.Errorf("junk from an untrusted source was logged at info or above: %d bytes, e.g. %q", grew, w.lastLine())
			case tc.maxLine > 0 && (lines > n || longest > tc.maxLine):
				t.Errorf("junk from the PBX: %d lines, longest %d bytes; want at most one line of at most %d bytes per datagram", lines, longest, tc.maxLine)
			case tc.limited && grew > tc.maxBytes:
				t.Errorf("junk from the PBX grew the process log by %d bytes, want at most %d", grew, tc.maxBytes)
			case tc.maxLine > 0 && !strings.Contains(w.lastLine(), "level=WARN"):
				t.Errorf("junk from the PBX not logged as a warning: %q", w.lastLine())
			}
			if got := f.send(sip.NewRequest(sip.OPTIONS, uaURI(u))); got != 200 && got != 403 {
				t.Errorf("OPTIONS after the flood answered %d", got)
			}
			if st := u.Status(); st.Registration != RegRegistered {
				t.Errorf("registration after the flood: %+v", st)
			}
		})
	}
}

// An untrusted source's well-formed request still gets 403 and is counted;
// its TCP connections are closed at once.
func TestUntrustedCountedAndTCPClosed(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	untrusted := newFakePBX(t, "127.0.0.2")
	u, _ := startUA(t, f, newRecorder(), nil, Options{})
	if got := untrusted.send(sip.NewRequest(sip.OPTIONS, uaURI(u))); got != 403 {
		t.Errorf("untrusted OPTIONS answered %d, want 403", got)
	}
	if n := u.Status().Rejected[RejectUntrusted]; n != 1 {
		t.Errorf("untrusted rejected %d, want 1", n)
	}

	tu, _ := startUA(t, f, newRecorder(), func(c *config.SIP) { c.Transport = "tcp"; c.TrustedSources = []string{"127.0.0.2"} }, Options{})
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", tu.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("untrusted TCP connection not closed: %v", err)
	}
	if n := tu.Status().Rejected[RejectUntrusted]; n != 1 {
		t.Errorf("untrusted TCP rejected %d, want 1", n)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
