package admin

import (
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontdesk-gw/frontdesk/sip"
)

const (
	// maxWatchers bounds the trace streams open at once.
	maxWatchers = 8
	// watcherQueue bounds the messages waiting for one stream; more are
	// dropped and counted.
	watcherQueue = 256
	// maxTraceText bounds one message shown (a UDP datagram is far less;
	// a TCP read can be more).
	maxTraceText = 64 << 10
)

var (
	errTooManyWatchers = errors.New("too many trace streams open")
	errTraceClosed     = errors.New("the gateway is shutting down")
)

// TraceSource is what the trace taps: the SIP user agent.
type TraceSource interface {
	SetTraceTap(f func(sip.TraceRecord))
}

// traceEntry is one message as a stream sends it.
type traceEntry struct {
	Time      time.Time `json:"time"`
	Dir       string    `json:"dir"` // "in" or "out"
	Transport string    `json:"transport"`
	Remote    string    `json:"remote"`
	Text      string    `json:"text"`
	Truncated bool      `json:"truncated,omitempty"`
	// Dropped counts the messages this stream lost just before this one
	// (the page did not keep up).
	Dropped int64 `json:"dropped,omitempty"`
}

// traceHub fans the UA's messages out to the watching streams, and keeps
// the UA's tap set only while there is at least one.
type traceHub struct {
	src TraceSource

	mu       sync.Mutex
	watchers map[*traceWatcher]struct{}
	closed   bool
	done     chan struct{} // closed by close
}

// traceWatcher is one stream: what it wants and its queue.
type traceWatcher struct {
	match   func(text string) bool // nil: everything
	queue   chan traceEntry
	dropped atomic.Int64
}

func newTraceHub(src TraceSource) *traceHub {
	return &traceHub{src: src, watchers: map[*traceWatcher]struct{}{}, done: make(chan struct{})}
}

// watch adds a stream; the first one sets the tap.
func (h *traceHub) watch(match func(string) bool) (*traceWatcher, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, errTraceClosed
	case len(h.watchers) >= maxWatchers:
		return nil, errTooManyWatchers
	}
	w := &traceWatcher{match: match, queue: make(chan traceEntry, watcherQueue)}
	h.watchers[w] = struct{}{}
	if len(h.watchers) == 1 {
		h.src.SetTraceTap(h.deliver)
	}
	return w, nil
}

// leave removes a stream; the last one removes the tap.
func (h *traceHub) leave(w *traceWatcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.watchers[w]; !ok {
		return
	}
	delete(h.watchers, w)
	if len(h.watchers) == 0 {
		h.src.SetTraceTap(nil)
	}
}

// watching is the number of open streams.
func (h *traceHub) watching() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.watchers)
}

// close ends every stream and refuses new ones.
func (h *traceHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	clear(h.watchers)
	h.src.SetTraceTap(nil)
	close(h.done)
}

// deliver is the UA's tap: it never blocks.
func (h *traceHub) deliver(rec sip.TraceRecord) {
	text, cut := rec.Text, false
	if len(text) > maxTraceText {
		text, cut = text[:maxTraceText], true
	}
	dir := "in"
	if rec.Out {
		dir = "out"
	}
	e := traceEntry{Time: rec.Time, Dir: dir, Transport: rec.Transport, Remote: rec.Remote,
		Text: hideDigestResponses(text), Truncated: cut}
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		if w.match != nil && !w.match(text) {
			continue
		}
		select {
		case w.queue <- e:
		default:
			w.dropped.Add(1)
		}
	}
}

// digestResponse finds the response of Authorization and
// Proxy-Authorization headers: a hash of the password that a guessing
// attack could start from. The trace log keeps it; the view does not.
var digestResponse = regexp.MustCompile(`(?im)^((?:proxy-)?authorization:[^\r\n]*?\bresponse=)("[^"\r\n]*"|[^,\s]+)`)

func hideDigestResponses(text string) string {
	return digestResponse.ReplaceAllString(text, `${1}"(hidden)"`)
}

// matchAddresses matches SIP messages whose Request-URI, From or To names
// one of uris (sip:user@host; the port and parameters do not matter, the
// host's case neither).
func matchAddresses(uris []string) func(string) bool {
	needles := make([]string, 0, len(uris))
	for _, u := range uris {
		if u != "" {
			needles = append(needles, strings.ToLower(u))
		}
	}
	return func(text string) bool {
		inBody := false
		for line := range strings.Lines(text) {
			line = strings.TrimRight(line, "\r\n")
			switch {
			case line == "":
				inBody = true // until a start line: on TCP another message may follow
				continue
			case startLine(line):
				inBody = false
			case inBody || !addressHeader(line):
				continue
			}
			lower := strings.ToLower(line)
			for _, n := range needles {
				if containsAddress(lower, n) {
					return true
				}
			}
		}
		return false
	}
}

// addressHeader reports a From or To header, long or compact form.
func addressHeader(line string) bool {
	name, _, ok := strings.Cut(line, ":")
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "from", "f", "to", "t":
		return ok
	}
	return false
}

// startLine reports a request or status line.
func startLine(line string) bool {
	return strings.HasSuffix(line, " SIP/2.0") || strings.HasPrefix(line, "SIP/2.0 ")
}

// containsAddress finds needle in s followed by something that ends an
// address (so sip:al@h does not match sip:al@host or sip:ali@h).
func containsAddress(s, needle string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], needle)
		if j < 0 {
			return false
		}
		end := i + j + len(needle)
		if end == len(s) || strings.ContainsRune(">;:? \t,", rune(s[end])) {
			return true
		}
		i = end
	}
}
