package widget

import "sync"

// mailboxLimit bounds what may wait for one session; a session that falls this
// far behind is ended rather than allowed to grow without bound.
const mailboxLimit = 1024

// mailbox carries work from other goroutines (call and chat events) to a
// session's worker. Posting never blocks: chat and SIP goroutines must not
// wait on a slow visitor.
type mailbox struct {
	mu       sync.Mutex
	queue    []func() error
	overflow bool
	wake     func() // tells the session there is work; must not block
}

func newMailbox(wake func()) *mailbox { return &mailbox{wake: wake} }

// post queues fn to run on the session's worker. It reports false when the
// mailbox overflowed; the session then ends.
func (m *mailbox) post(fn func() error) bool {
	m.mu.Lock()
	if len(m.queue) >= mailboxLimit {
		m.overflow = true
		m.mu.Unlock()
		m.wake()
		return false
	}
	m.queue = append(m.queue, fn)
	m.mu.Unlock()
	m.wake()
	return true
}

// drain takes everything queued, in order.
func (m *mailbox) drain() (fns []func() error, overflow bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fns, m.queue = m.queue, nil
	return fns, m.overflow
}
