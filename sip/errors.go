package sip

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

var (
	// ErrRestartRequired is returned by Reconfigure when the listen address,
	// public address, transport or TLS settings changed: the SIP transport is
	// bound once per Run, so the UA has to be replaced.
	ErrRestartRequired = errors.New("sip: transport settings changed, restart required")
	// ErrAuthRejected means the server challenged credentials it was just given.
	ErrAuthRejected = errors.New("sip: credentials rejected")
	// ErrNoChallenge means a 401/407 carried no Digest challenge the UA can answer.
	ErrNoChallenge = errors.New("sip: no usable digest challenge")
	// ErrSubscriptionRemoved is the error of SubscriptionLost for a Target
	// that SetSubscriptions no longer lists: the UA unsubscribed and will
	// not subscribe again.
	ErrSubscriptionRemoved = errors.New("sip: subscription removed")
	// ErrPBXUnreachable is the registration error and the SubscriptionLost
	// error while the PBX answers no keepalive.
	ErrPBXUnreachable = errors.New("sip: PBX not answering keepalive requests")
	// ErrRefused wraps the SubscriptionLost error of a subscription the
	// PBX refused by policy or for lack of the event package (403, 404 or
	// 489 to the SUBSCRIBE, terminated as rejected, noresource or
	// invariant): the UA asks again only after sip.refused_retry. The
	// state of the other event package of the same URI is then all there
	// is.
	ErrRefused = errors.New("sip: refused by the PBX")
	// ErrAlreadyRun is returned by a second call to Run.
	ErrAlreadyRun = errors.New("sip: UA already run")
)

// StatusError is a final non-2xx response to one of the UA's requests.
type StatusError struct {
	Method     string
	Code       int
	Reason     string
	RetryAfter time.Duration // from Retry-After, 0 if absent
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.Method, e.Code, e.Reason)
}

func statusError(method string, res *sip.Response) *StatusError {
	e := &StatusError{Method: method, Code: res.StatusCode, Reason: res.Reason}
	if h := res.GetHeader("Retry-After"); h != nil {
		e.RetryAfter = parseSeconds(h.Value())
	}
	return e
}

// retryAfter is the wait a server asked for, if err carries one.
func retryAfter(err error) time.Duration {
	var se *StatusError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	var te *terminatedError
	if errors.As(err, &te) {
		return te.retryAfter
	}
	return 0
}

// terminatedError reports a NOTIFY that ended a subscription.
type terminatedError struct {
	reason     string
	retryAfter time.Duration
}

func (e *terminatedError) Error() string {
	if e.reason == "" {
		return "subscription terminated"
	}
	return "subscription terminated: " + e.reason
}

// maxDeltaSeconds is the largest delta-seconds value (RFC 3261 20.19: larger
// ones mean 2^32-1).
const maxDeltaSeconds = (1<<32 - 1) * time.Second

// parseSeconds reads the leading delta-seconds of a header value, at most
// maxDeltaSeconds.
func parseSeconds(v string) time.Duration {
	v = strings.TrimSpace(v)
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0
	}
	n, err := strconv.ParseUint(v[:end], 10, 64)
	if err != nil || n > 1<<32-1 {
		return maxDeltaSeconds // too many digits: far beyond the cap
	}
	return time.Duration(n) * time.Second
}
