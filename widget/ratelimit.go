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

// ClusterLimits holds limits across the nodes of a cluster (package
// cluster implements it). Each returns an error, having decided nothing,
// when the engine is out of reach: the node then counts alone.
type ClusterLimits interface {
	// Allow takes one token of each check, or none; it returns the scope
	// that refused and the wait, or "".
	Allow(checks ...ratelimit.Check) (refused string, wait time.Duration, err error)
	// AcquireCall takes one of the agent's limit call slots; ok is false
	// when all are taken.
	AcquireCall(agent, session string, limit int) (release func(), ok bool, err error)
}

// allowContact takes one of rates for this session, its client address and
// target (an agent's or fallback's URI). It returns CodeRetryLater with a
// *retryLaterError when any of them is used up, and nothing is taken then.
// In a cluster the address and target rates are the cluster's: a visitor
// spreading attempts over the nodes gains nothing.
func (s *session) allowContact(what string, rates config.ContactRates, target string) (ErrorCode, error) {
	session := ratelimit.Check{Scope: "session", Key: s.label, Rate: rates.PerSession}
	shared := []ratelimit.Check{
		{Scope: "ip", Key: s.ip, Rate: rates.PerIP},
		{Scope: "agent", Key: what + " " + target, Rate: rates.PerAgent},
	}
	var refused string
	var wait time.Duration
	if cl := s.srv.opts.Cluster; cl != nil {
		if refused, wait = s.srv.limiter.Allow(session); refused == "" {
			var err error
			if refused, wait, err = cl.Allow(shared...); err != nil {
				s.srv.log.Debug("cluster limits out of reach; counting on this node", "err", err)
				refused, wait = s.srv.limiter.Allow(shared...)
			}
		}
	} else {
		refused, wait = s.srv.limiter.Allow(append([]ratelimit.Check{session}, shared...)...)
	}
	if refused == "" {
		return CodeUnknown, nil
	}
	s.srv.log.Info("refused: started too often", "what", what, "scope", refused, "session", s.label,
		"ip", s.ip, "target", target, "retry_after", wait.Round(time.Second))
	return CodeRetryLater, &retryLaterError{what: what, scope: refused, wait: wait}
}

// allowAgent takes one of rates.PerAgent for target alone (a member a
// group call is about to ring, the session's and address's rates having
// been taken for the group); false when it is used up.
func (s *session) allowAgent(what string, rates config.ContactRates, target string) bool {
	check := ratelimit.Check{Scope: "agent", Key: what + " " + target, Rate: rates.PerAgent}
	if cl := s.srv.opts.Cluster; cl != nil {
		refused, _, err := cl.Allow(check)
		if err == nil {
			return refused == ""
		}
		s.srv.log.Debug("cluster limits out of reach; counting on this node", "err", err)
	}
	refused, _ := s.srv.limiter.Allow(check)
	return refused == ""
}
