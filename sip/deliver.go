package sip

// maxPendingNotifies bounds the NOTIFYs of one Target waiting for the
// Handler; beyond it a NOTIFY is answered 500 with Retry-After and not
// taken, so the notifier sends it again later.
const maxPendingNotifies = 32

// delivery serializes what the Handler hears about one Target: NOTIFYs in
// the order their CSeqs were accepted, losses and removals after what came
// before them. Whoever finds the queue idle drains it, outside UA.mu and on
// its own goroutine (a sipgo request handler or a subscription loop); the
// others only enqueue. So the Handler is never called twice at once for one
// Target and never hears an older NOTIFY after a newer one, although sipgo
// handles every request on a goroutine of its own.
type delivery struct {
	queue    []event
	draining bool
}

// event is one thing to tell the Handler about a Target: a notification,
// else a loss.
type event struct {
	note  *Notification
	lost  error
	after func() // runs once the Handler has it (a terminated NOTIFY ends the dialog)
}

// enqueueLocked queues ev for t; the caller holds u.mu and calls drain(t)
// after unlocking.
func (u *UA) enqueueLocked(t Target, ev event) {
	q := u.deliveries[t]
	if q == nil {
		q = &delivery{}
		u.deliveries[t] = q
	}
	q.queue = append(q.queue, ev)
}

// pendingLocked is the number of events of t waiting; the caller holds u.mu.
func (u *UA) pendingLocked(t Target) int {
	if q := u.deliveries[t]; q != nil {
		return len(q.queue)
	}
	return 0
}

// drain hands the queued events of t to the Handler unless another
// goroutine is already doing so. The caller must not hold u.mu.
func (u *UA) drain(t Target) {
	u.mu.Lock()
	q := u.deliveries[t]
	if q == nil || q.draining {
		u.mu.Unlock()
		return
	}
	q.draining = true
	for len(q.queue) > 0 {
		ev := q.queue[0]
		q.queue[0] = event{}
		q.queue = q.queue[1:]
		u.mu.Unlock()
		u.deliver(t, ev)
		u.mu.Lock()
	}
	delete(u.deliveries, t) // idle and empty; made again on demand
	u.mu.Unlock()
}

func (u *UA) deliver(t Target, ev event) {
	if ev.note != nil {
		u.notifies.Add(1)
		u.h.Notify(*ev.note)
	} else {
		u.h.SubscriptionLost(t, ev.lost)
	}
	if ev.after != nil {
		ev.after()
	}
}

// reportLost tells the Handler, in order with its NOTIFYs, that t's state
// is no longer current.
func (u *UA) reportLost(t Target, err error) {
	u.mu.Lock()
	u.enqueueLocked(t, event{lost: err})
	u.mu.Unlock()
	u.drain(t)
}
