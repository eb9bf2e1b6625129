// Package loglimit keeps a flood of one log line from flooding the log.
//
// Handler wraps a slog.Handler: records with the same level and message
// pass at most Burst times per Window; the rest are counted, and when the
// window ends one "log lines suppressed" record says how many of which
// message were dropped. Messages are constant strings (the details are in
// attributes), so one key stands for one kind of event whatever its
// source: a junk datagram, a refused connection, a failed request.
//
// Some messages must never be dropped, such as the SIP trace the operator
// asked for: list them in Options.Unlimited.
package loglimit
