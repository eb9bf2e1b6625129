package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// exchange sends the request mk builds and returns its final response,
// answering 401/407 digest challenges. mk is called once per attempt and
// must return a fresh request with the next CSeq.
func (u *UA) exchange(ctx context.Context, s settings, mk func() *sip.Request) (*sip.Response, error) {
	var auth digestAnswers
	for {
		req := mk()
		auth.apply(req)
		res, err := u.roundTrip(ctx, req)
		if err != nil {
			return nil, err
		}
		if !isChallenge(res) {
			return res, nil
		}
		if err := auth.answer(res, s.authUser, s.cfg.ResolvedPassword, req.Method, req.Recipient.String()); err != nil {
			return res, err
		}
	}
}

// subscribeExchange is exchange for SUBSCRIBE: every request sent waits for
// its slot within sip.subscribe_rate, and the first one carries credentials
// for the PBX's latest challenge when it is recent (see challengeCache),
// which spares a challenge round per subscription.
func (u *UA) subscribeExchange(ctx context.Context, s settings, mk func() *sip.Request) (*sip.Response, error) {
	var auth digestAnswers
	for first := true; ; first = false {
		req := mk()
		if first {
			u.subChallenges.apply(req, s.authUser, s.cfg.ResolvedPassword)
		}
		auth.apply(req)
		res, err := u.roundTripPaced(ctx, req, &pacedSend{p: &u.subPacer, spacing: s.subSpacing})
		if err != nil {
			return nil, err
		}
		if !isChallenge(res) {
			if auth.rounds > 0 {
				u.subChallenges.remember(auth.lastCode, auth.lastChosen)
			}
			return res, nil
		}
		if err := auth.answer(res, s.authUser, s.cfg.ResolvedPassword, req.Method, req.Recipient.String()); err != nil {
			return res, err
		}
	}
}

// roundTrip sends one request in a client transaction and waits, at most
// requestTimeout, for its final response.
func (u *UA) roundTrip(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	return u.roundTripPaced(ctx, req, nil)
}

// roundTripPaced is roundTrip that, with a pacer, sends only in the
// pacer's next slot (the request is on the wire when the slot ends).
func (u *UA) roundTripPaced(ctx context.Context, req *sip.Request, pace *pacedSend) (*sip.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, u.tm.requestTimeout)
	defer cancel()
	if err := sipgo.ClientRequestBuild(u.cli, req); err != nil {
		return nil, fmt.Errorf("build %s: %w", req.Method, err)
	}
	if pace != nil {
		release, err := pace.p.acquire(ctx, pace.spacing)
		if err != nil {
			return nil, fmt.Errorf("send %s to %s: %w", req.Method, req.Destination(), err)
		}
		defer release() // idempotent; released right after the send below
		pace.release = release
	}
	u.traceOut(req, req.Destination())
	// Already built: the option only fills what is still missing.
	tx, err := u.cli.TransactionRequest(ctx, req, sipgo.ClientRequestBuild)
	if pace != nil {
		pace.release()
	}
	if err != nil {
		return nil, fmt.Errorf("send %s to %s: %w", req.Method, req.Destination(), err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			err := tx.Err()
			if err == nil {
				err = errors.New("transaction ended without response")
			}
			return nil, fmt.Errorf("%s to %s: %w", req.Method, req.Destination(), err)
		case <-ctx.Done():
			return nil, fmt.Errorf("%s to %s: no final response: %w", req.Method, req.Destination(), ctx.Err())
		}
	}
}

// outOfDialog builds a request outside any dialog, routed via the outbound
// proxy or straight to the registrar.
func (u *UA) outOfDialog(s settings, method sip.RequestMethod, ruri, to sip.Uri, callID, fromTag string, cseq uint32) *sip.Request {
	req := sip.NewRequest(method, ruri)
	req.SetTransport(s.transport)
	if s.proxy != nil {
		req.AppendHeader(&sip.RouteHeader{Address: *s.proxy})
	} else {
		req.SetDestination(hostPort(s.registrar, s.transport))
	}
	from := &sip.FromHeader{DisplayName: s.cfg.DisplayName, Address: s.aor, Params: sip.NewParams()}
	from.Params.Add("tag", fromTag)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: to, Params: sip.NewParams()})
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	req.AppendHeader(u.contactHeader(s))
	req.AppendHeader(sip.NewHeader("User-Agent", u.agent))
	return req
}

func headerValues(m sip.Message, name string) []string {
	var out []string
	for _, h := range m.GetHeaders(name) {
		out = append(out, h.Value())
	}
	return out
}

func newCallID() string { return uuid.NewString() }
func newTag() string    { return sip.GenerateTagN(16) }

// backoff is the wait before registration retry number attempt (from 0):
// doubling from backoffMin up to backoffMax, with jitter, and never below
// floor.
func (u *UA) backoff(attempt int, floor time.Duration) time.Duration {
	return u.backoffUpTo(attempt, u.tm.backoffMax, floor)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// refreshIn is when to refresh something granted for expiry.
func (u *UA) refreshIn(expiry time.Duration) time.Duration {
	return max(expiry/2, u.tm.minRefresh)
}
