// Package ratelimit bounds how often something may happen per key: per
// visitor session, per client address, per agent. Each (scope, key) has a
// token bucket of config.Rate; buckets that have refilled are forgotten,
// and the number of buckets is bounded, so a flood of new keys costs a
// bounded amount of memory.
//
// Use:
//
//	l := ratelimit.New(ratelimit.Options{})
//	refused, wait := l.Allow(
//		ratelimit.Check{Scope: "session", Key: sessionID, Rate: rates.PerSession},
//		ratelimit.Check{Scope: "ip", Key: clientIP, Rate: rates.PerIP},
//		ratelimit.Check{Scope: "agent", Key: agentURI, Rate: rates.PerAgent},
//	)
//	if refused != "" { /* tell the visitor to retry after wait */ }
//
// Allow takes a token from every bucket or from none, so a refusal by one
// scope does not use up the others.
package ratelimit
