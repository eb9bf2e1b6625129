package widget

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Why a websocket session was refused before it started, as counted in
// frontdesk_widget_sessions_refused_total{reason}.
const (
	RefusedShuttingDown     = "shutting-down"
	RefusedMaxSessions      = "max-sessions"
	RefusedMaxSessionsPerIP = "max-sessions-per-ip"
	RefusedBadHandshake     = "bad-handshake"
	RefusedOrigin           = "origin-not-allowed"
	RefusedUnknownWidget    = "unknown-widget"
	RefusedStartTimeout     = "start-timeout"
	RefusedBadStart         = "bad-start" // anything else before Start: bad JSON, too large, too fast
)

// RefusalReasons lists every reason, for metrics.
var RefusalReasons = []string{RefusedShuttingDown, RefusedMaxSessions, RefusedMaxSessionsPerIP,
	RefusedBadHandshake, RefusedOrigin, RefusedUnknownWidget, RefusedStartTimeout, RefusedBadStart}

// refusals counts refused sessions per reason.
type refusals [8]atomic.Uint64

func reasonIndex(reason string) int {
	for i, r := range RefusalReasons {
		if r == reason {
			return i
		}
	}
	return len(RefusalReasons) - 1
}

// Refused returns how many sessions were refused for reason.
func (s *Server) Refused(reason string) uint64 { return s.refused[reasonIndex(reason)].Load() }

// refuse counts and logs a refused session. Anyone can make the gateway
// refuse: the message is constant (the details are attributes), so the
// log limiter cuts a flood of them to a few lines and a count; refusals
// nobody needs to act on log at debug.
func (s *Server) refuse(reason, ip string, attrs ...any) {
	s.refused[reasonIndex(reason)].Add(1)
	level := slog.LevelInfo
	switch reason {
	case RefusedBadHandshake, RefusedStartTimeout, RefusedBadStart, RefusedShuttingDown:
		level = slog.LevelDebug
	}
	s.log.Log(context.Background(), level, "session refused", append([]any{"reason", reason, "ip", ip}, attrs...)...)
}

// refusalOf is the refusal reason of a session that ended with code before
// Start was accepted.
func refusalOf(code ErrorCode) string {
	switch code {
	case CodeOriginNotAllowed:
		return RefusedOrigin
	case CodeUnknownWidget:
		return RefusedUnknownWidget
	case CodeTimeout:
		return RefusedStartTimeout
	case CodeShuttingDown:
		return RefusedShuttingDown
	}
	return RefusedBadStart
}
