package widget

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"sync/atomic"
	"time"
)

// parkedCalls holds calls whose websocket was lost while the visitor's page
// reloads or moves to another page of the site: the SIP leg stays up for
// calls.reattach_grace, and the next page's CallResume names the call by
// its resume token. A token is 192 random bits, bound to the widget and the
// page origin that parked the call, and single-use: take removes the call
// whether or not the binding matches, so a guessed or replayed token ends
// nothing it did not hold and reaches nothing. When the grace expires the
// expire function given to park runs (it hangs the call up) on the timer's
// goroutine, exactly once, unless take came first.
type parkedCalls struct {
	mu     sync.Mutex
	calls  map[string]*parkedCall
	closed bool // closeAll ran: nothing is parked any more

	reattached atomic.Uint64 // calls taken back by a new page
	expired    atomic.Uint64 // calls whose grace ran out
}

// parkedCall is one call waiting for its page.
type parkedCall struct {
	widgetID string
	origin   string
	call     *callState
	timer    *time.Timer
}

// maxParked bounds the parked calls of one gateway; a call parked beyond it
// ends as when re-attaching is off (it can only be as many as running calls,
// which calls.max_calls bounds already; this is the table's own bound).
const maxParked = 10000

// newResumeToken returns an unguessable token for a parked call.
func newResumeToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail (Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// park keeps cs for grace under token, for a page of widgetID at origin.
// It reports false (and keeps nothing) when the table is full, token is
// already in use, or closeAll ran.
func (p *parkedCalls) park(token, widgetID, origin string, cs *callState, grace time.Duration, expire func(*callState)) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls == nil {
		p.calls = make(map[string]*parkedCall)
	}
	if _, taken := p.calls[token]; taken || len(p.calls) >= maxParked || token == "" || p.closed {
		return false
	}
	pc := &parkedCall{widgetID: widgetID, origin: origin, call: cs}
	p.calls[token] = pc
	pc.timer = time.AfterFunc(grace, func() {
		p.mu.Lock()
		cur, ok := p.calls[token]
		if ok && cur == pc {
			delete(p.calls, token)
		}
		p.mu.Unlock()
		if ok && cur == pc {
			p.expired.Add(1)
			expire(cs)
		}
	})
	return true
}

// take removes the call parked under token and returns it when the token
// is bound to widgetID and origin. A token that matches a call of another
// widget or origin removes nothing (its holder may still come back) and
// returns nil, as an unknown token does.
func (p *parkedCalls) take(token, widgetID, origin string) *callState {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc, ok := p.calls[token]
	if !ok || pc.widgetID != widgetID || pc.origin != origin {
		return nil
	}
	delete(p.calls, token)
	pc.timer.Stop()
	p.reattached.Add(1)
	return pc.call
}

// drop removes the call parked under token without counting it (it ended
// by itself while parked: the agent hung up).
func (p *parkedCalls) drop(token string, cs *callState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc, ok := p.calls[token]; ok && pc.call == cs {
		delete(p.calls, token)
		pc.timer.Stop()
	}
}

// len is the number of parked calls.
func (p *parkedCalls) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

// closeAll removes every parked call, counting none, returns them, and
// refuses to park from now on (the gateway drains or closes).
func (p *parkedCalls) closeAll() []*callState {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	out := make([]*callState, 0, len(p.calls))
	for token, pc := range p.calls {
		pc.timer.Stop()
		delete(p.calls, token)
		out = append(out, pc.call)
	}
	return out
}
