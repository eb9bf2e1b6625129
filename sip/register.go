package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// registration is one REGISTER Call-ID with its CSeq; it is owned by the
// registration loop.
type registration struct {
	s      settings
	callID string
	tag    string
	cseq   uint32
	// expiry is what is asked for: sip.register_expiry, or the registrar's
	// Min-Expires after a 423 (kept for the refreshes).
	expiry time.Duration
}

func newRegistration(s settings) *registration {
	return &registration{s: s, callID: newCallID(), tag: newTag(), expiry: s.regExpiry}
}

// runRegister keeps the UA registered until ctx ends, then unregisters.
func (u *UA) runRegister(ctx context.Context) {
	r := newRegistration(u.settings())
	attempt := 0
	bound := false // the registrar may hold our binding
	u.setReg(RegRegistering, nil, 0)
	for {
		granted, err := u.register(ctx, r)
		var wait time.Duration
		switch {
		case ctx.Err() != nil:
			bound = true // the request may have reached the registrar
		case registerRefused(err):
			// The account is refused: asking again soon changes nothing,
			// a changed config does (regReconf below).
			bound = false
			u.regFailures.Add(1)
			wait = max(r.s.refusedRetry-rand.N(r.s.refusedRetry/10+1), retryAfter(err))
			u.setReg(RegFailed, fmt.Errorf("%w (refused by the PBX: asking again after sip.refused_retry, %v, or when the SIP settings change)",
				err, r.s.refusedRetry), 0)
			attempt++
		case err != nil:
			bound = false
			u.regFailures.Add(1)
			u.setReg(RegFailed, u.explainTLS(ctx, r.s, err), 0)
			wait = u.backoff(attempt, retryAfter(err))
			attempt++
		default:
			bound = true
			attempt = 0
			u.setReg(RegRegistered, nil, granted)
			wait = u.refreshIn(granted)
			if u.takeRenewDue() { // the PBX had lost our state: subscriptions next
				u.renewSubscriptions()
			}
		}
		if ctx.Err() != nil {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-u.regNow: // the PBX lost our state (keepalive.go)
		case ns := <-u.regReconf:
			if bound {
				u.unregister(ctx, r)
			}
			r, attempt, bound = newRegistration(ns), 0, false
			u.setReg(RegRegistering, nil, 0)
		}
		t.Stop()
		if ctx.Err() != nil {
			break
		}
	}
	if bound {
		u.unregister(context.WithoutCancel(ctx), r)
	}
	u.setReg(RegUnregistered, nil, 0)
}

// reregisterSoon asks the registration loop to register again now, without
// waiting for the refresh: the PBX forgot our binding or was away.
func (u *UA) reregisterSoon() {
	select {
	case u.regNow <- struct{}{}:
	default:
	}
}

// register sends one REGISTER (with auth) for r.expiry and returns the
// granted expiry. A 423 Interval Too Brief raises r.expiry to the
// registrar's Min-Expires, for this request and the refreshes.
func (u *UA) register(ctx context.Context, r *registration) (time.Duration, error) {
	for range 2 { // a second round only after 423 Interval Too Brief
		res, err := u.exchange(ctx, r.s, func() *sip.Request { return u.registerRequest(r, r.expiry) })
		if err != nil {
			return 0, fmt.Errorf("register %s: %w", r.s.aor.String(), err)
		}
		if res.StatusCode == sip.StatusIntervalToBrief {
			if h := res.GetHeader("Min-Expires"); h != nil {
				if me := parseSeconds(h.Value()); me > r.expiry {
					u.log.Info("sip registrar asks for a longer registration", "asked", r.expiry.String(), "min_expires", me.String())
					r.expiry = me
					continue
				}
			}
		}
		if !res.IsSuccess() {
			return 0, fmt.Errorf("register %s: %w", r.s.aor.String(), statusError("REGISTER", res))
		}
		granted, visible := u.grantedExpiry(res, r.s, r.expiry)
		u.registrations.Add(1)
		u.mu.Lock()
		u.bindingVisible = visible
		u.mu.Unlock()
		return granted, nil
	}
	return 0, fmt.Errorf("register %s: registrar keeps rejecting the expiry", r.s.aor.String())
}

// registerRefused reports a REGISTER the registrar refused for the
// account itself (403 Forbidden, 404 Not Found): asking again soon would
// only hammer it.
func registerRefused(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Code == sip.StatusForbidden || se.Code == sip.StatusNotFound)
}

// unregister removes our binding (Expires: 0), bounded by closeTimeout.
func (u *UA) unregister(ctx context.Context, r *registration) {
	ctx, cancel := context.WithTimeout(ctx, u.tm.closeTimeout)
	defer cancel()
	res, err := u.exchange(ctx, r.s, func() *sip.Request { return u.registerRequest(r, 0) })
	if err == nil && !res.IsSuccess() {
		err = statusError("REGISTER", res)
	}
	if err != nil {
		u.log.Warn("sip unregister failed", "aor", r.s.aor.String(), "error", err)
	}
}

func (u *UA) registerRequest(r *registration, expiry time.Duration) *sip.Request {
	r.cseq++
	req := u.outOfDialog(r.s, sip.REGISTER, registerURI(r.s), r.s.aor, r.callID, r.tag, r.cseq)
	exp := sip.ExpiresHeader(uint32(expiry / time.Second))
	req.AppendHeader(&exp)
	return req
}

// registerURI is the Request-URI of REGISTER: the domain, with the
// registrar's port when the registrar is the domain's host.
func registerURI(s settings) sip.Uri {
	ruri := sip.Uri{Scheme: s.aor.Scheme, Host: s.aor.Host}
	if s.aor.Host == s.registrar.Host {
		ruri.Port = s.registrar.Port
	}
	return ruri
}

// grantedExpiry reads the expiry the registrar granted to our contact: its
// expires parameter, else the Expires header, else what was asked. visible
// says whether the answer listed our contact at all.
func (u *UA) grantedExpiry(res *sip.Response, s settings, asked time.Duration) (granted time.Duration, visible bool) {
	exp, visible := u.ourBinding(res, s)
	if exp > 0 {
		return exp, visible
	}
	if h := res.GetHeader("Expires"); h != nil {
		if d := parseSeconds(h.Value()); d > 0 {
			return d, visible
		}
	}
	return asked, visible
}

// ourBinding finds our contact among the bindings a REGISTER 2xx lists and
// its expires parameter (0 when it has none).
func (u *UA) ourBinding(res *sip.Response, s settings) (time.Duration, bool) {
	ours := u.contactHeader(s).Address
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Address.User != ours.User || !strings.EqualFold(c.Address.Host, ours.Host) || c.Address.Port != ours.Port {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Second, true
			}
		}
		return 0, true
	}
	return 0, false
}

// setReg records a registration state and tells the Handler when the state
// or its error changed.
func (u *UA) setReg(state RegState, err error, granted time.Duration) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	u.mu.Lock()
	changed := u.status.Registration != state || (err != nil && u.status.LastError != msg)
	u.status.Registration = state
	if err != nil {
		u.status.LastError = msg
	}
	now := time.Now()
	switch state {
	case RegRegistered:
		if changed {
			u.status.RegisteredAt = now
		}
		u.status.Expires = now.Add(granted)
	case RegFailed, RegUnregistered:
		u.status.Expires = time.Time{}
	}
	u.mu.Unlock()
	if !changed {
		return
	}
	if err != nil {
		u.log.Warn("sip registration failed", "error", err)
	} else {
		u.log.Info("sip registration", "state", string(state))
	}
	u.h.Registration(state, err)
}
