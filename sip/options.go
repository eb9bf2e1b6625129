package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// OptionsResult is the final response to an OPTIONS.
type OptionsResult struct {
	Code   int
	Reason string
	// Server is the Server header, else the User-Agent header.
	Server string
	// Allow and Supported are what the answering side says it handles.
	Allow, Supported string
	// Took is from sending to the final response.
	Took time.Duration
}

// Options sends an OPTIONS to target (a sip: URI: the registrar's address,
// or a user's, which the PBX forwards to the user's phones), routed like
// the UA's other requests (outbound proxy, else the registrar), answering
// digest challenges. Any final response is a result; no final response
// returns an error wrapping ErrNoResponse.
func (u *UA) Options(ctx context.Context, target string) (OptionsResult, error) {
	if u.client() == nil {
		return OptionsResult{}, ErrNotRunning
	}
	var ruri sip.Uri
	if err := sip.ParseUri(strings.TrimSpace(target), &ruri); err != nil || ruri.Host == "" {
		return OptionsResult{}, fmt.Errorf("OPTIONS %q: %w", target, errors.Join(err, ErrBadURI))
	}
	s := u.settings()
	callID, tag := newCallID(), newTag()
	var cseq uint32
	start := time.Now()
	res, err := u.exchange(ctx, s, func() *sip.Request {
		cseq++
		req := u.outOfDialog(s, sip.OPTIONS, ruri, ruri, callID, tag, cseq)
		req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
		return req
	})
	if res == nil {
		return OptionsResult{}, fmt.Errorf("OPTIONS %s: %w: %w", ruri.String(), ErrNoResponse, err)
	}
	r := OptionsResult{Code: res.StatusCode, Reason: res.Reason, Took: time.Since(start),
		Server: firstValue(res, "Server"), Allow: strings.Join(headerValues(res, "Allow"), ", "),
		Supported: strings.Join(headerValues(res, "Supported"), ", ")}
	if r.Server == "" {
		r.Server = firstValue(res, "User-Agent")
	}
	return r, err
}
