package widget

import "sync"

// mailboxLimit bounds what may wait for one session; a session that falls this
// far behind is ended rather than allowed to grow without bound.
const mailboxLimit = 1024

// mailbox carries work from other goroutines (call and chat events) to a
// session's own goroutine. Posting never blocks: chat and SIP goroutines must
// not wait on a slow visitor.
type mailbox struct {
	mu       sync.Mutex
	queue    []func() error
	overflow bool
	wake     chan struct{}
}

func newMailbox() *mailbox { return &mailbox{wake: make(chan struct{}, 1)} }

// post queues fn to run on the session goroutine. It reports false when the
// mailbox overflowed; the session then ends.
func (m *mailbox) post(fn func() error) bool {
	m.mu.Lock()
	if len(m.queue) >= mailboxLimit {
		m.overflow = true
		m.mu.Unlock()
		m.signal()
		return false
	}
	m.queue = append(m.queue, fn)
	m.mu.Unlock()
	m.signal()
	return true
}

func (m *mailbox) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// drain takes everything queued, in order.
func (m *mailbox) drain() (fns []func() error, overflow bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fns, m.queue = m.queue, nil
	return fns, m.overflow
}
