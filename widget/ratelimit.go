package widget

import (
	"fmt"
	"math"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/ratelimit"
)

// retryLaterError refuses something started too often; it becomes an Error
// with code retry-later and retryAfter.
type retryLaterError struct {
	what  string // "calls", "chats", "messages"
	scope string // ratelimit scope that refused
	wait  time.Duration
}

func (e *retryLaterError) Error() string {
	from := map[string]string{
		"session": "from this session", "ip": "from this address", "agent": "to this contact",
		ratelimit.ScopeCapacity: "right now",
	}[e.scope]
	return fmt.Sprintf("too many %s %s; try again in %d s", e.what, from, e.seconds())
}

// seconds is the wait rounded up to whole seconds, at least 1.
func (e *retryLaterError) seconds() int {
	return max(1, int(math.Ceil(e.wait.Seconds())))
}

// allowContact takes one of rates for this session, its client address and
// target (an agent's or fallback's URI). It returns CodeRetryLater with a
// *retryLaterError when any of them is used up, and nothing is taken then.
func (s *session) allowContact(what string, rates config.ContactRates, target string) (ErrorCode, error) {
	refused, wait := s.srv.limiter.Allow(
		ratelimit.Check{Scope: "session", Key: s.label, Rate: rates.PerSession},
		ratelimit.Check{Scope: "ip", Key: s.ip, Rate: rates.PerIP},
		ratelimit.Check{Scope: "agent", Key: what + " " + target, Rate: rates.PerAgent},
	)
	if refused == "" {
		return CodeUnknown, nil
	}
	s.srv.log.Info("refused: started too often", "what", what, "scope", refused, "session", s.label,
		"ip", s.ip, "target", target, "retry_after", wait.Round(time.Second))
	return CodeRetryLater, &retryLaterError{what: what, scope: refused, wait: wait}
}
