package sip

import (
	"fmt"
	"strconv"
	"strings"
)

// EndCause says why a call leg ended.
type EndCause string

const (
	EndUnknown      EndCause = ""
	EndBusy         EndCause = "busy"          // 486, 600, Q.850 17
	EndDeclined     EndCause = "declined"      // 603, 607, Q.850 21
	EndNoAnswer     EndCause = "no-answer"     // 408, Q.850 18/19, or the setup context's deadline
	EndUnavailable  EndCause = "unavailable"   // 3xx (not followed), 404, 410, 480, 484, 604, Q.850 20
	EndFailed       EndCause = "failed"        // any other failure: 4xx, 5xx, 606, no response at all
	EndRemoteHangup EndCause = "remote-hangup" // BYE from the PBX
	EndLocalHangup  EndCause = "local-hangup"  // Hangup or shutdown after answer
	EndCancelled    EndCause = "cancelled"     // Hangup, shutdown or setup context cancelled before answer
)

var endCauses = []EndCause{EndBusy, EndDeclined, EndNoAnswer, EndUnavailable, EndFailed,
	EndRemoteHangup, EndLocalHangup, EndCancelled}

func (c EndCause) String() string {
	if c == EndUnknown {
		return "unknown"
	}
	return string(c)
}

// ParseEndCause reads a cause written by String.
func ParseEndCause(s string) (EndCause, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, c := range endCauses {
		if string(c) == s {
			return c, nil
		}
	}
	if s == "unknown" {
		return EndUnknown, nil
	}
	return EndUnknown, fmt.Errorf("end cause %q: unknown", s)
}

// causeForStatus maps a final non-2xx response to an EndCause. A Q.850
// cause in the Reason header (RFC 3326) wins where it is more precise:
// Asterisk and FreeSWITCH send 480 both for an agent that did not pick up
// (cause 19) and for one that is absent (cause 20). Without it, 480 means
// what RFC 3261 says, "temporarily unavailable", and 408 means the PBX's
// ring timer expired.
func causeForStatus(code int, reason string) EndCause {
	if c, ok := causeForQ850(reason); ok && code >= 400 {
		return c
	}
	switch {
	case code == 486 || code == 600:
		return EndBusy
	case code == 603 || code == 607:
		return EndDeclined
	case code == 408:
		return EndNoAnswer
	case code == 487:
		return EndCancelled
	case code >= 300 && code < 400, code == 404, code == 410, code == 480, code == 484, code == 604:
		return EndUnavailable
	default:
		return EndFailed
	}
}

// causeForQ850 reads "Q.850;cause=19;text=..." from a Reason header value.
func causeForQ850(reason string) (EndCause, bool) {
	for v := range strings.SplitSeq(reason, ",") {
		parts := strings.Split(v, ";")
		if !strings.EqualFold(strings.TrimSpace(parts[0]), "Q.850") {
			continue
		}
		for _, p := range parts[1:] {
			k, val, _ := strings.Cut(p, "=")
			if !strings.EqualFold(strings.TrimSpace(k), "cause") {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil {
				return EndUnknown, false
			}
			switch n {
			case 17:
				return EndBusy, true
			case 18, 19:
				return EndNoAnswer, true
			case 20:
				return EndUnavailable, true
			case 21:
				return EndDeclined, true
			}
			return EndUnknown, false
		}
	}
	return EndUnknown, false
}
