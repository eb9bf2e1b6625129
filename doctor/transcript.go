package doctor

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	fdsip "github.com/frontdesk-gw/frontdesk/sip"
)

// maxKept bounds the messages the transcript keeps parsed for the checks.
const maxKept = 20000

// transcript is the doctor's SIP trace: every message the doctor's UA
// sends and reads, written to the trace file as it goes and kept parsed so
// the checks can say what each request got.
type transcript struct {
	mu   sync.Mutex
	w    *bufio.Writer
	werr error
	msgs []traced
}

// traced is one parsed message.
type traced struct {
	at  time.Time
	out bool
	msg sip.Message
}

func newTranscript(w io.Writer) *transcript { return &transcript{w: bufio.NewWriter(w)} }

// record is the UA's trace tap.
func (t *transcript) record(r fdsip.TraceRecord) {
	dir := "in from"
	if r.Out {
		dir = "out to"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.werr == nil {
		_, t.werr = fmt.Fprintf(t.w, "=== %s %s %s %s\n%s\n", r.Time.UTC().Format(time.RFC3339Nano), dir, r.Transport, r.Remote,
			strings.TrimRight(r.Text, "\r\n"))
	}
	if m, err := sip.ParseMessage([]byte(r.Text)); err == nil && len(t.msgs) < maxKept {
		t.msgs = append(t.msgs, traced{at: r.Time, out: r.Out, msg: m})
	}
}

// flush writes what is buffered to the file.
func (t *transcript) flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.werr != nil {
		return t.werr
	}
	return t.w.Flush()
}

// requests returns the requests sent that match.
func (t *transcript) requests(match func(*sip.Request) bool) []*sip.Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*sip.Request
	for _, m := range t.msgs {
		if req, ok := m.msg.(*sip.Request); ok && m.out && match(req) {
			out = append(out, req)
		}
	}
	return out
}

// responses returns the responses received to requests of method with
// Call-ID callID, in order.
func (t *transcript) responses(method sip.RequestMethod, callID string) []*sip.Response {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*sip.Response
	for _, m := range t.msgs {
		res, ok := m.msg.(*sip.Response)
		if !ok || m.out || res.CSeq() == nil || res.CSeq().MethodName != method || res.CallID() == nil || string(*res.CallID()) != callID {
			continue
		}
		out = append(out, res)
	}
	return out
}

// received returns the requests of method received in dialog callID.
func (t *transcript) received(method sip.RequestMethod, callID string) []*sip.Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*sip.Request
	for _, m := range t.msgs {
		if req, ok := m.msg.(*sip.Request); ok && !m.out && req.Method == method && req.CallID() != nil && string(*req.CallID()) == callID {
			out = append(out, req)
		}
	}
	return out
}

// exchange describes what a request got: its responses in order, e.g.
// "401 Unauthorized, then 200 OK"; provisional ones are left out.
func (t *transcript) exchange(method sip.RequestMethod, callID string) (finals []*sip.Response, text string) {
	var parts []string
	for _, res := range t.responses(method, callID) {
		if res.IsProvisional() {
			continue
		}
		finals = append(finals, res)
		parts = append(parts, fmt.Sprintf("%d %s", res.StatusCode, res.Reason))
	}
	return finals, strings.Join(parts, ", then ")
}

// toURI is the To address of a request without parameters.
func toURI(req *sip.Request) string {
	if to := req.To(); to != nil {
		return "sip:" + to.Address.User + "@" + to.Address.Host
	}
	return ""
}

func header(m sip.Message, name string) string {
	if hs := m.GetHeaders(name); len(hs) > 0 {
		return hs[0].Value()
	}
	return ""
}
