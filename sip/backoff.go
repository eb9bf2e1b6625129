package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Reasons a subscription failed, as counted in Status.SubscribeFailures and
// named in Degraded.Reason.
const (
	FailTimeout     = "timeout"      // no final response, or the transport failed
	FailBadEvent    = "bad-event"    // 489: the PBX has no such event package
	FailForbidden   = "forbidden"    // 403
	FailNotFound    = "not-found"    // 404
	FailRejected    = "rejected"     // terminated;reason=rejected
	FailNoResource  = "noresource"   // terminated;reason=noresource
	FailAuth        = "auth"         // credentials refused, or a challenge the UA cannot answer
	FailClientError = "client-error" // any other 4xx
	FailServerError = "server-error" // 5xx and 6xx
	FailTerminated  = "terminated"   // terminated for another reason (timeout, deactivated, giveup, …)
)

// SubscribeFailureReasons lists every reason a subscription can fail for,
// in the order metrics show them.
func SubscribeFailureReasons() []string {
	return []string{FailTimeout, FailBadEvent, FailForbidden, FailNotFound, FailRejected, FailNoResource,
		FailAuth, FailClientError, FailServerError, FailTerminated}
}

// failure is what the UA makes of one failed subscription attempt.
type failure struct {
	reason string
	// refused: the PBX's policy or its lack of the package says no, which
	// asking again soon will not change (RFC 6665 4.1.3, RFC 3261 21.4.4):
	// asked again only after sip.refused_retry.
	refused bool
	// atOnce: RFC 6665 4.1.3 says to subscribe again at once (deactivated,
	// timeout); repeated failures still back off.
	atOnce bool
}

func classifyFailure(err error) failure {
	var se *StatusError
	var te *terminatedError
	switch {
	case errors.As(err, &te):
		switch te.reason {
		case "rejected":
			return failure{reason: FailRejected, refused: true}
		case "noresource":
			return failure{reason: FailNoResource, refused: true}
		case "invariant": // the resource will never be there
			return failure{reason: FailTerminated, refused: true}
		case "deactivated", "timeout":
			return failure{reason: FailTerminated, atOnce: te.retryAfter == 0}
		}
		return failure{reason: FailTerminated}
	case errors.Is(err, ErrAuthRejected), errors.Is(err, ErrNoChallenge):
		return failure{reason: FailAuth}
	case errors.As(err, &se):
		switch c := se.Code; {
		case c == 489:
			return failure{reason: FailBadEvent, refused: true}
		case c == 403:
			return failure{reason: FailForbidden, refused: true}
		case c == 404:
			return failure{reason: FailNotFound, refused: true}
		case c >= 500:
			return failure{reason: FailServerError}
		}
		return failure{reason: FailClientError}
	}
	return failure{reason: FailTimeout}
}

// refusedError marks an error as a refusal (errors.Is(err, ErrRefused)),
// keeping what the PBX said.
func refusedError(err error) error { return fmt.Errorf("%w: %w", ErrRefused, err) }

// retryWait is the wait before subscribing again after attempt (from 0)
// failed with f: a refusal waits sip.refused_retry (less up to a tenth, so
// that refusals of many agents do not come back together), others double
// from backoffMin up to sip.subscribe_backoff_max, with jitter. A
// Retry-After is honoured up to the cap.
func (u *UA) retryWait(s settings, f failure, attempt int, retryAfter time.Duration) time.Duration {
	floor := min(retryAfter, max(s.subBackoffMax, s.refusedRetry))
	switch {
	case f.refused:
		return max(s.refusedRetry-rand.N(s.refusedRetry/10+1), floor)
	case f.atOnce && attempt == 0:
		return floor
	}
	return u.backoffUpTo(attempt, s.subBackoffMax, floor)
}

// backoffUpTo is the wait before retry number attempt (from 0): doubling
// from backoffMin up to limit, with jitter (between half and all of it),
// and never below floor.
func (u *UA) backoffUpTo(attempt int, limit, floor time.Duration) time.Duration {
	d := limit
	if attempt < 40 && u.tm.backoffMin<<attempt > 0 {
		d = min(u.tm.backoffMin<<attempt, limit)
	}
	d = d/2 + rand.N(d/2+1)
	return max(d, floor)
}

// subRefreshIn is when to refresh a subscription granted for expiry: at
// 40 to 50 % of it, so that subscriptions made together are not refreshed
// together.
func (u *UA) subRefreshIn(expiry time.Duration) time.Duration {
	r := u.refreshIn(expiry)
	return max(r-rand.N(r/5+1), u.tm.minRefresh)
}

// pacer spaces the SUBSCRIBEs the UA sends (sip.subscribe_rate): one
// sender at a time, in the order they came, and each at least spacing after
// the one before went on the wire, so the PBX never gets a burst however
// many subscriptions start, refresh or recover together.
type pacer struct {
	turn chan struct{} // holds one token while a sender has its slot
	once sync.Once
	mu   sync.Mutex
	last time.Time // when the last slot was released
}

// acquire waits for the caller's slot; release (idempotent) ends it once
// the request is sent. A caller whose ctx ends while waiting gets its
// error and takes no slot.
func (p *pacer) acquire(ctx context.Context, spacing time.Duration) (release func(), err error) {
	p.once.Do(func() { p.turn = make(chan struct{}, 1) })
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a slot within sip.subscribe_rate: %w", ctx.Err())
	}
	p.mu.Lock()
	wait := time.Until(p.last.Add(spacing))
	p.mu.Unlock()
	if wait > 0 && !sleep(ctx, wait) {
		<-p.turn
		return nil, fmt.Errorf("waiting for a slot within sip.subscribe_rate: %w", ctx.Err())
	}
	var done sync.Once
	return func() {
		done.Do(func() {
			p.mu.Lock()
			p.last = time.Now()
			p.mu.Unlock()
			<-p.turn
		})
	}, nil
}

// pacedSend is a pacer and its spacing for one request; release is the
// slot's release once taken.
type pacedSend struct {
	p       *pacer
	spacing time.Duration
	release func()
}

// failureCounts counts subscription failures by reason; the set of reasons
// is fixed, so reads and writes need no lock.
type failureCounts map[string]*atomic.Int64

func newFailureCounts() failureCounts {
	c := failureCounts{}
	for _, r := range SubscribeFailureReasons() {
		c[r] = new(atomic.Int64)
	}
	return c
}

func (c failureCounts) add(reason string) {
	if n := c[reason]; n != nil {
		n.Add(1)
	}
}

func (c failureCounts) snapshot() map[string]int64 {
	out := make(map[string]int64, len(c))
	for r, n := range c {
		out[r] = n.Load()
	}
	return out
}
