package sip

import (
	"strconv"
	"strings"
	"time"
)

// defaultDTMFDuration is sent when SendDTMF is given no duration.
const defaultDTMFDuration = 160 * time.Millisecond

// dtmfDigit normalizes a DTMF digit: 0-9, *, #, A-D (a-d accepted).
func dtmfDigit(b byte) (byte, bool) {
	switch {
	case b >= '0' && b <= '9', b == '*', b == '#', b >= 'A' && b <= 'D':
		return b, true
	case b >= 'a' && b <= 'd':
		return b - 'a' + 'A', true
	}
	return b, false
}

// dtmfRelayBody is an application/dtmf-relay body (as Cisco defined it).
func dtmfRelayBody(digit byte, d time.Duration) []byte {
	if d <= 0 {
		d = defaultDTMFDuration
	}
	return []byte("Signal=" + string(digit) + "\r\nDuration=" + strconv.Itoa(int(d/time.Millisecond)) + "\r\n")
}

// parseDTMFRelay reads "Signal=5\r\nDuration=160" (any line ending, keys
// in any case, spaces around values).
func parseDTMFRelay(body []byte) (byte, time.Duration, bool) {
	var digit byte
	var dur time.Duration
	var ok bool
	for line := range strings.Lines(string(body)) {
		k, v, found := strings.Cut(line, "=")
		if !found {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "signal":
			digit, ok = parseDTMFSignal(v)
		case "duration":
			if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 60000 {
				dur = time.Duration(n) * time.Millisecond
			}
		}
	}
	return digit, dur, ok
}

// parseDTMFSignal reads one digit; some PBXs send 10 and 11 for * and #
// (the RFC 4733 event codes).
func parseDTMFSignal(v string) (byte, bool) {
	v = strings.TrimSpace(v)
	switch v {
	case "10":
		return '*', true
	case "11":
		return '#', true
	}
	if len(v) != 1 {
		return 0, false
	}
	return dtmfDigit(v[0])
}
