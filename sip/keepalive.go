package sip

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

const defaultKeepalive = 10 * time.Second

// Recovery from a PBX that went away or restarted (see doc.go, Recovery).
//
// runKeepalive probes the PBX every keepalive interval. While registered to
// a registrar that lists our contact in its REGISTER answers, the probe is a
// binding query: a REGISTER without Contact (RFC 3261 10.2.3), which every
// registrar answers with the bindings it holds; our contact missing from the
// answer means the registrar forgot us, as a restarted PBX with in-memory
// registrations and subscriptions does, although it answers everything
// else. Otherwise the probe is an OPTIONS to the registrar (or through the
// outbound proxy), where any final response means the PBX is there.
//
// keepaliveFailures probes in a row without a final response mark the PBX
// unreachable: the registration is reported failed (so /healthz says so)
// and every subscription lost (agents show as unavailable, which they are).
// When the PBX answers again, or forgot us, the UA registers again at once
// and then subscribes every target anew, spread over renewWindow.

// bindingQuery is the Call-ID and CSeq of the binding queries, owned by the
// keepalive loop.
type bindingQuery struct {
	callID, tag string
	cseq        uint32
}

// probeResult is what one probe found.
type probeResult int

const (
	probeAlive     probeResult = iota // the PBX answered and holds our binding, as far as we can tell
	probeSilent                       // no final response
	probeForgotten                    // the registrar answered without our binding
)

// runKeepalive probes the PBX until ctx ends.
func (u *UA) runKeepalive(ctx context.Context) {
	q := &bindingQuery{callID: newCallID(), tag: newTag()}
	failures, unreachable := 0, false
	forgotAt := int64(-1) // registrations when the PBX last seemed to forget us
	for {
		wait := u.settings().keepalive
		if failures > 0 {
			wait = min(wait, u.tm.keepaliveRetry)
		}
		reason := ""
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case reason = <-u.probeNow:
			t.Stop()
		}
		res := u.probe(ctx, q)
		if ctx.Err() != nil {
			return
		}
		switch {
		case res == probeSilent:
			failures++
			if failures >= u.tm.keepaliveFailures && !unreachable {
				unreachable = true
				u.pbxUnreachable()
			}
		case unreachable:
			failures, unreachable = 0, false
			u.pbxForgot("the PBX answers again after not answering")
		case res == probeForgotten && forgotAt >= 0 && u.registrations.Load() > forgotAt:
			// Registered again since, and still not listed: this registrar's
			// answers to queries cannot be believed. Do not re-register
			// forever; outages and 481s remain.
			failures, forgotAt = 0, -1
			u.log.Info("sip registrar answers binding queries without the binding it just granted; PBX restarts are noticed by keepalive failures and refused subscription refreshes")
			u.stopBindingQueries()
		case res == probeForgotten:
			failures, forgotAt = 0, u.registrations.Load()
			u.pbxForgot("the registrar no longer lists our registration")
		case reason != "" && !u.bindingCheckable():
			// Only a probe could have told whether the PBX forgot us all.
			failures = 0
			u.pbxForgot(reason)
		default:
			failures = 0
			if res == probeAlive && u.bindingCheckable() {
				forgotAt = -1
			}
		}
	}
}

// stopBindingQueries makes the keepalive OPTIONS for the rest of the run.
func (u *UA) stopBindingQueries() {
	u.mu.Lock()
	u.noBindingQueries = true
	u.mu.Unlock()
}

// probeSoon asks the keepalive loop to probe now, because of reason (a
// subscription refresh answered 481: the PBX forgot that dialog, perhaps
// everything).
func (u *UA) probeSoon(reason string) {
	select {
	case u.probeNow <- reason:
	default: // a probe is already due
	}
}

// bindingCheckable says whether the last REGISTER 2xx listed our contact
// while we are registered, so that a binding query can tell if it is gone.
func (u *UA) bindingCheckable() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.status.Registration == RegRegistered && u.bindingVisible && !u.noBindingQueries
}

// probe sends one binding query or OPTIONS, bounded by keepaliveTimeout.
func (u *UA) probe(ctx context.Context, q *bindingQuery) probeResult {
	s := u.settings()
	ctx, cancel := context.WithTimeout(ctx, u.tm.keepaliveTimeout)
	defer cancel()
	if u.bindingCheckable() {
		res, err := u.exchange(ctx, s, func() *sip.Request { return u.bindingQueryRequest(s, q) })
		switch {
		case res == nil:
			u.log.Debug("sip keepalive: no answer to the binding query", "error", err)
			return probeSilent
		case res.IsSuccess() && !u.listsOurContact(res, s):
			return probeForgotten
		case !res.IsSuccess():
			// Not every registrar answers queries; OPTIONS and 481s remain.
			u.log.Info("sip registrar does not answer binding queries; PBX restarts are noticed by keepalive failures and refused subscription refreshes",
				"code", res.StatusCode, "error", err)
			u.stopBindingQueries()
		}
		return probeAlive
	}
	ruri := sip.Uri{Scheme: s.aor.Scheme, Host: s.registrar.Host, Port: s.registrar.Port}
	req := u.outOfDialog(s, sip.OPTIONS, ruri, ruri, newCallID(), newTag(), 1)
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	if _, err := u.roundTrip(ctx, req); err != nil { // any final response: the PBX is there
		u.log.Debug("sip keepalive: no answer to OPTIONS", "error", err)
		return probeSilent
	}
	return probeAlive
}

// bindingQueryRequest is a REGISTER without Contact for our address of
// record: the registrar answers with the bindings it holds.
func (u *UA) bindingQueryRequest(s settings, q *bindingQuery) *sip.Request {
	q.cseq++
	req := u.outOfDialog(s, sip.REGISTER, registerURI(s), s.aor, q.callID, q.tag, q.cseq)
	req.RemoveHeader("Contact")
	return req
}

// listsOurContact reports whether a REGISTER 2xx lists our contact.
func (u *UA) listsOurContact(res *sip.Response, s settings) bool {
	_, ok := u.ourBinding(res, s)
	return ok
}

// pbxUnreachable reports the PBX gone: registration failed, every
// subscription lost.
func (u *UA) pbxUnreachable() {
	u.pbxLost.Add(1)
	u.unreachable.Store(true)
	u.log.Warn("sip PBX not answering: registration and subscriptions marked lost", "probes", u.tm.keepaliveFailures)
	u.setReg(RegFailed, ErrPBXUnreachable, 0)
	u.mu.Lock()
	targets := make([]Target, 0, len(u.wanted))
	for t := range u.wanted { // those resource lists cover too
		targets = append(targets, t)
	}
	for _, t := range targets {
		u.enqueueLocked(t, event{lost: ErrPBXUnreachable})
	}
	u.mu.Unlock()
	for _, t := range targets {
		u.drain(t)
	}
}

// pbxForgot starts recovery: register again now, then subscribe every
// target anew (renewSubscriptions, once the registration is back).
func (u *UA) pbxForgot(reason string) {
	if !u.unreachable.Swap(false) { // an outage was counted when it began
		u.pbxLost.Add(1)
	}
	u.log.Warn("sip PBX lost our state: registering and subscribing again", "reason", reason)
	u.mu.Lock()
	u.renewDue = true
	u.mu.Unlock()
	u.reregisterSoon()
}

// takeRenewDue reports, once, that subscriptions are to be renewed.
func (u *UA) takeRenewDue() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	due := u.renewDue
	u.renewDue = false
	return due
}

// renewSignal asks a subscription loop to drop dialogs made before epoch
// and subscribe anew after delay.
type renewSignal struct {
	epoch uint64
	delay time.Duration
}

// renewSubscriptions makes every subscription start a new dialog, the n-th
// after n spacing, so that hundreds of targets do not reach the PBX in one
// burst: at most renewSpacing apart and all within renewWindow.
func (u *UA) renewSubscriptions() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.epoch++
	subs := make([]*subscription, 0, len(u.subs)+len(u.lists))
	for _, sub := range u.subs {
		subs = append(subs, sub)
	}
	for _, sub := range u.lists { // one SUBSCRIBE renews a whole list
		subs = append(subs, sub)
	}
	if len(subs) == 0 {
		return
	}
	slices.SortFunc(subs, func(a, b *subscription) int {
		return strings.Compare(a.t.URI+" "+string(a.t.Event), b.t.URI+" "+string(b.t.Event))
	})
	spacing := renewSpacing(len(subs), u.tm.renewSpacing, u.tm.renewWindow)
	for i, sub := range subs {
		sig := renewSignal{epoch: u.epoch, delay: time.Duration(i) * spacing}
		select { // only the latest renewal matters
		case <-sub.renew:
		default:
		}
		sub.renew <- sig
	}
	u.log.Info("sip subscribing again", "subscriptions", len(subs), "over", (time.Duration(len(subs)-1) * spacing).String())
}

// renewSpacing is the time between two of n renewed subscriptions: at most
// most apart, and the last one within window.
func renewSpacing(n int, most, window time.Duration) time.Duration {
	if n <= 1 {
		return 0
	}
	return min(most, window/time.Duration(n))
}
