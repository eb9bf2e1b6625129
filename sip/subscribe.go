package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// accept lists the body types asked for per event package.
var accept = map[Event]string{
	EventPresence: "application/pidf+xml, application/xpidf+xml, application/cpim-pidf+xml",
	EventDialog:   "application/dialog-info+xml",
}

// subscription keeps one Target subscribed. Its goroutine (runSub) owns the
// SUBSCRIBE side; NOTIFYs reach it through lost.
type subscription struct {
	t      Target
	uri    sip.Uri
	cancel context.CancelFunc
	lost   chan lostEvent   // buffered: the current dialog was terminated
	renew  chan renewSignal // buffered: the PBX forgot our dialogs (keepalive.go)
	d      *dialog          // current dialog or nil; guarded by UA.mu
	// failing is the current run of failures, nil while the subscription
	// works; guarded by UA.mu. Its reason was logged and reported: the
	// same reason again is neither.
	failing *Degraded
	// list is set for a resource list subscription (list.go), whose Target
	// is the list's URI; guarded by UA.mu.
	list *listState
}

// renewError ends a dialog the PBX forgot: subscribe anew after delay,
// without reporting a loss (what was known stays until the new NOTIFY).
type renewError struct{ delay time.Duration }

func (e *renewError) Error() string { return "subscribing again: the PBX lost the subscription" }

type lostEvent struct {
	d   *dialog
	err error
}

// SetSubscriptions sets the wanted subscriptions. Duplicates collapse into
// one per (URI, Event); new ones are subscribed, removed ones unsubscribed
// (Expires: 0), unchanged ones left alone. It may be called before Run.
func (u *UA) SetSubscriptions(want []Target) {
	set := make(map[Target]string, len(want))
	for _, t := range want {
		t = Target{URI: strings.TrimSpace(t.URI), Event: Event(strings.ToLower(string(t.Event)))}
		var uri sip.Uri
		if err := sip.ParseUri(t.URI, &uri); err != nil || uri.Host == "" {
			u.log.Warn("sip subscription target skipped: bad URI", "uri", t.URI, "error", err)
			continue
		}
		if _, ok := accept[t.Event]; !ok {
			u.log.Warn("sip subscription target skipped: unknown event", "uri", t.URI, "event", t.Event)
			continue
		}
		set[t] = addressKey(t.URI)
	}
	u.mu.Lock()
	u.wanted = set
	removed := u.reconcileLocked()
	u.mu.Unlock()
	for _, t := range removed {
		u.drain(t)
	}
}

// reconcileLocked starts and stops subscription loops to match u.wanted:
// a resource list subscription per event package with sip.resource_list,
// and one of its own for each Target no list covers. For each removed
// Target it queues SubscriptionLost with ErrSubscriptionRemoved, so that
// what the Handler knew of it is dropped; it returns them for the caller to
// drain after unlocking u.mu. A Target that moves onto a list is stopped
// quietly: the list's NOTIFYs carry its state from then on.
func (u *UA) reconcileLocked() (removed []Target) {
	if u.runCtx == nil || u.stopping {
		return nil
	}
	u.reconcileListsLocked()
	for t, sub := range u.subs {
		_, wanted := u.wanted[t]
		if wanted && !u.coveredLocked(t) {
			continue
		}
		sub.cancel()
		if sub.d != nil {
			sub.d.closing = true // nothing more from it reaches the Handler
		}
		delete(u.subs, t)
		if !wanted {
			u.enqueueLocked(t, event{lost: ErrSubscriptionRemoved})
			removed = append(removed, t)
		}
	}
	for t := range u.wanted {
		if _, ok := u.subs[t]; ok || u.coveredLocked(t) {
			continue
		}
		u.subs[t] = u.newSubscriptionLocked(t)
	}
	return removed
}

// newSubscriptionLocked starts the loop of a new subscription to t. The
// caller holds u.mu.
func (u *UA) newSubscriptionLocked(t Target) *subscription {
	sub := &subscription{t: t, lost: make(chan lostEvent, 1), renew: make(chan renewSignal, 1)}
	_ = sip.ParseUri(t.URI, &sub.uri) // validated by SetSubscriptions or parseSettings
	ctx, cancel := context.WithCancel(u.runCtx)
	sub.cancel = cancel
	u.subWG.Add(1)
	go u.runSub(ctx, sub)
	return sub
}

// runSub keeps sub subscribed until ctx ends, then unsubscribes.
func (u *UA) runSub(ctx context.Context, sub *subscription) {
	defer u.subWG.Done()
	attempt := 0
	for {
		d, expires, err := u.subscribeNew(ctx, sub)
		if err == nil {
			err = u.keepSub(ctx, sub, d, expires, &attempt)
		}
		if ctx.Err() != nil {
			if d != nil {
				u.unsubscribe(ctx, d)
			}
			return
		}
		var abandon *abandonError
		switch {
		case d != nil && errors.As(err, &abandon):
			u.unsubscribe(ctx, d) // given up on by us: tell the PBX
		case d != nil:
			u.dropDialog(d) // the PBX forgot it or ended it: nothing to unsubscribe
		}
		var wait time.Duration
		var renew *renewError
		if errors.As(err, &renew) {
			attempt, wait = 0, renew.delay
		} else {
			wait = u.subscriptionFailed(sub, err, attempt)
			attempt++
		}
		if !u.waitRetry(ctx, sub, wait) {
			return
		}
	}
}

// subscriptionFailed counts and records a failed attempt of sub, logs it
// and tells the Handler unless it failed the same way last time, and
// returns the wait before the next attempt.
func (u *UA) subscriptionFailed(sub *subscription, err error, attempt int) time.Duration {
	s := u.settings()
	f := classifyFailure(err)
	wait := u.retryWait(s, f, attempt, retryAfter(err))
	u.subFailures.add(f.reason)
	now := time.Now()
	u.mu.Lock()
	// A refusal after a refusal says nothing new (a subscription ended as
	// rejected, then 403 to the next SUBSCRIBE).
	repeated := sub.failing != nil && (sub.failing.Reason == f.reason || sub.failing.Refused && f.refused)
	since := now
	if sub.failing != nil {
		since = sub.failing.Since
	}
	sub.failing = &Degraded{Target: sub.t, Reason: f.reason, Error: err.Error(), Refused: f.refused, Since: since, Retry: now.Add(wait)}
	var onTheirOwn []Target
	if sub.list != nil {
		onTheirOwn = u.listFailedLocked(sub, err)
	}
	u.mu.Unlock()
	attrs := []any{"uri", sub.t.URI, "event", string(sub.t.Event), "reason", f.reason, "error", err, "retry_in", wait.Round(time.Millisecond).String()}
	if sub.list != nil {
		// The agents' own subscriptions take over; the list is asked again
		// like any subscription (a refusal only every sip.refused_retry).
		if !repeated {
			u.log.Warn("sip resource list subscription failed; each agent is subscribed to on its own meanwhile", attrs...)
		}
		for _, t := range onTheirOwn {
			u.drain(t)
		}
		return wait
	}
	switch {
	case repeated:
		u.log.Debug("sip subscription failed again", attrs...)
		return wait
	case f.refused:
		u.log.Warn("sip subscription refused by the PBX; asking again only after sip.refused_retry", attrs...)
		err = refusedError(err)
	default:
		u.log.Info("sip subscription lost", attrs...)
	}
	u.reportLost(sub.t, err)
	return wait
}

// workingLocked records that sub works again (an active NOTIFY or a
// refresh accepted). The caller holds u.mu.
func (sub *subscription) workingLocked() { sub.failing = nil }

// waitRetry waits d before subscribing again, or less when the PBX turned
// out to have lost our state (then the renewal's delay); it reports false
// when ctx ended.
func (u *UA) waitRetry(ctx context.Context, sub *subscription, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	case sig := <-sub.renew:
		return sleep(ctx, min(sig.delay, d))
	}
}

// subscribeNew creates a dialog with an initial SUBSCRIBE and returns it
// with the granted expiry. The dialog is findable before the request is sent
// because a NOTIFY may beat the 2xx.
func (u *UA) subscribeNew(ctx context.Context, sub *subscription) (*dialog, time.Duration, error) {
	s := u.settings()
	d := &dialog{sub: sub, callID: newCallID(), localTag: newTag()}
	u.mu.Lock()
	d.epoch = u.epoch
	u.dialogs[d.key()] = d
	sub.d = d
	u.mu.Unlock()
	res, err := u.subscribeExchange(ctx, s, func() *sip.Request {
		u.mu.Lock()
		d.localSeq++
		seq := d.localSeq
		u.mu.Unlock()
		req := u.outOfDialog(s, sip.SUBSCRIBE, sub.uri, sub.uri, d.callID, d.localTag, seq)
		addSubscribeHeaders(req, sub, s.subExpiry)
		return req
	})
	if err == nil && !res.IsSuccess() {
		err = statusError("SUBSCRIBE", res)
	}
	if err == nil && sub.list != nil && !requiresEventlist(res) {
		u.mu.Lock()
		d.establishFrom2xx(res)
		u.mu.Unlock()
		return d, 0, &abandonError{fmt.Errorf("subscribe %s %s: %w", sub.t.Event, sub.t.URI, errNotAList)}
	}
	if err != nil {
		if ctx.Err() != nil {
			return d, 0, err // the notifier may have accepted: unsubscribe
		}
		u.dropDialog(d)
		return nil, 0, fmt.Errorf("subscribe %s %s: %w", sub.t.Event, sub.t.URI, err)
	}
	u.mu.Lock()
	d.establishFrom2xx(res)
	u.mu.Unlock()
	return d, expiresOf(res, s.subExpiry), nil
}

// keepSub refreshes d before it expires until it is lost or ctx ends. A
// list subscription is refreshed at once when a NOTIFY was missed, and
// given up when no full state came within timing.listFirstNotify.
func (u *UA) keepSub(ctx context.Context, sub *subscription, d *dialog, expires time.Duration, attempt *int) error {
	var refreshNow chan struct{}
	var firstNotify <-chan time.Time
	if sub.list != nil {
		refreshNow = sub.list.refreshNow
		ft := time.NewTimer(u.tm.listFirstNotify)
		defer ft.Stop()
		firstNotify = ft.C
	}
	for {
		t := time.NewTimer(u.subRefreshIn(expires))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-firstNotify:
			t.Stop()
			firstNotify = nil
			u.mu.Lock()
			seen := d.list != nil
			u.mu.Unlock()
			if !seen {
				return &abandonError{fmt.Errorf("subscribe %s %s: %w", sub.t.Event, sub.t.URI, errNoFullState)}
			}
			continue
		case <-refreshNow:
			t.Stop()
		case ev := <-sub.lost:
			t.Stop()
			if ev.d != d {
				continue // from an earlier dialog
			}
			return ev.err
		case sig := <-sub.renew:
			t.Stop()
			u.mu.Lock()
			stale := d.epoch < sig.epoch
			u.mu.Unlock()
			if !stale {
				continue // made after the PBX came back
			}
			return &renewError{delay: sig.delay}
		case <-t.C:
		}
		if err := u.refreshSub(ctx, sub, d, &expires); err != nil {
			return err
		}
		*attempt = 0
	}
}

// refreshSub refreshes d in its dialog and updates the granted expiry.
func (u *UA) refreshSub(ctx context.Context, sub *subscription, d *dialog, expires *time.Duration) error {
	s := u.settings()
	res, err := u.subscribeExchange(ctx, s, func() *sip.Request {
		u.mu.Lock()
		defer u.mu.Unlock()
		req := u.inDialogRequest(s, d, sip.SUBSCRIBE, sub.uri)
		addSubscribeHeaders(req, sub, s.subExpiry)
		return req
	})
	if err == nil && !res.IsSuccess() {
		err = statusError("SUBSCRIBE", res)
		if res.StatusCode == sip.StatusCallTransactionDoesNotExists {
			// The notifier forgot this dialog; if it forgot everything
			// (a restart), every subscription needs renewing.
			u.probeSoon("a subscription refresh was answered 481")
		}
	}
	if err != nil {
		return fmt.Errorf("refresh %s %s: %w", sub.t.Event, sub.t.URI, err)
	}
	*expires = expiresOf(res, s.subExpiry)
	if sub.list == nil {
		u.mu.Lock()
		sub.workingLocked()
		u.mu.Unlock()
	}
	return nil
}

// unsubscribe ends d with SUBSCRIBE Expires: 0, then keeps it around for a
// while to answer the notifier's final NOTIFY with 200 instead of 481.
func (u *UA) unsubscribe(ctx context.Context, d *dialog) {
	u.mu.Lock()
	d.closing = true
	confirmed := d.confirmed
	u.mu.Unlock()
	if confirmed {
		s := u.settings()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), u.tm.closeTimeout)
		res, err := u.subscribeExchange(cctx, s, func() *sip.Request {
			u.mu.Lock()
			defer u.mu.Unlock()
			req := u.inDialogRequest(s, d, sip.SUBSCRIBE, d.sub.uri)
			addSubscribeHeaders(req, d.sub, 0)
			return req
		})
		cancel()
		if err == nil && !res.IsSuccess() {
			err = statusError("SUBSCRIBE", res)
		}
		if err != nil {
			u.log.Debug("sip unsubscribe failed", "uri", d.sub.t.URI, "error", err)
		}
	}
	u.mu.Lock()
	stopping, runCtx := u.stopping, u.runCtx
	u.mu.Unlock()
	if !stopping && runCtx != nil {
		sleep(runCtx, u.tm.linger)
	}
	u.dropDialog(d)
}

func (u *UA) dropDialog(d *dialog) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.dialogs[d.key()] == d {
		delete(u.dialogs, d.key())
	}
	if d.sub.d == d {
		d.sub.d = nil
	}
}

func addSubscribeHeaders(req *sip.Request, sub *subscription, expiry time.Duration) {
	ev := sub.t.Event
	req.AppendHeader(sip.NewHeader("Event", string(ev)))
	req.AppendHeader(sip.NewHeader("Accept", accept[ev]))
	if sub.list != nil {
		addListHeaders(req, ev)
	}
	exp := sip.ExpiresHeader(uint32(expiry / time.Second))
	req.AppendHeader(&exp)
}
