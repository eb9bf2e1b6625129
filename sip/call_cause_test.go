package sip

import (
	"testing"
	"time"
)

func TestEndCauseStringAndParse(t *testing.T) {
	for _, tc := range []struct {
		cause EndCause
		str   string
	}{
		{cause: EndUnknown, str: "unknown"},
		{cause: EndBusy, str: "busy"},
		{cause: EndDeclined, str: "declined"},
		{cause: EndNoAnswer, str: "no-answer"},
		{cause: EndUnavailable, str: "unavailable"},
		{cause: EndFailed, str: "failed"},
		{cause: EndRemoteHangup, str: "remote-hangup"},
		{cause: EndLocalHangup, str: "local-hangup"},
		{cause: EndCancelled, str: "cancelled"},
	} {
		if got := tc.cause.String(); got != tc.str {
			t.Errorf("%q.String() = %q, want %q", string(tc.cause), got, tc.str)
		}
		if got, err := ParseEndCause(tc.str); err != nil || got != tc.cause {
			t.Errorf("ParseEndCause(%q) = %q, %v", tc.str, got, err)
		}
	}
	if _, err := ParseEndCause("exploded"); err == nil {
		t.Error("ParseEndCause accepted an unknown cause")
	}
}

func TestCauseForStatus(t *testing.T) {
	for _, tc := range []struct {
		code   int
		reason string
		want   EndCause
	}{
		{code: 486, want: EndBusy},
		{code: 600, want: EndBusy},
		{code: 603, want: EndDeclined},
		{code: 607, want: EndDeclined},
		{code: 408, want: EndNoAnswer},
		{code: 480, want: EndUnavailable},
		{code: 480, reason: `Q.850;cause=19;text="No answer"`, want: EndNoAnswer},
		{code: 480, reason: "Q.850 ; cause=18", want: EndNoAnswer},
		{code: 480, reason: "Q.850;cause=20", want: EndUnavailable},
		{code: 403, reason: `SIP;cause=403, Q.850;cause=21`, want: EndDeclined},
		{code: 503, reason: "Q.850;cause=17", want: EndBusy},
		{code: 503, reason: "Q.850;cause=34", want: EndFailed},
		{code: 404, want: EndUnavailable},
		{code: 410, want: EndUnavailable},
		{code: 484, want: EndUnavailable},
		{code: 604, want: EndUnavailable},
		{code: 302, want: EndUnavailable},
		{code: 487, want: EndCancelled},
		{code: 488, want: EndFailed},
		{code: 500, want: EndFailed},
		{code: 503, want: EndFailed},
		{code: 606, want: EndFailed},
		{code: 401, want: EndFailed},
	} {
		if got := causeForStatus(tc.code, tc.reason); got != tc.want {
			t.Errorf("causeForStatus(%d, %q) = %s, want %s", tc.code, tc.reason, got, tc.want)
		}
	}
}

func TestParseDTMF(t *testing.T) {
	for _, tc := range []struct {
		body  string
		digit byte
		dur   time.Duration
		ok    bool
	}{
		{body: "Signal=5\r\nDuration=160\r\n", digit: '5', dur: 160 * time.Millisecond, ok: true},
		{body: "Signal= *\nDuration= 100", digit: '*', dur: 100 * time.Millisecond, ok: true},
		{body: "signal=10\r\n", digit: '*', ok: true},
		{body: "Signal=d\r\nDuration=abc\r\n", digit: 'D', ok: true},
		{body: "Signal=55\r\n", ok: false},
		{body: "Duration=160\r\n", ok: false},
		{body: "Signal=X", ok: false},
	} {
		d, dur, ok := parseDTMFRelay([]byte(tc.body))
		if ok != tc.ok || (ok && (d != tc.digit || dur != tc.dur)) {
			t.Errorf("parseDTMFRelay(%q) = %q %v %v, want %q %v %v", tc.body, d, dur, ok, tc.digit, tc.dur, tc.ok)
		}
	}
	if got := string(dtmfRelayBody('#', 0)); got != "Signal=#\r\nDuration=160\r\n" {
		t.Errorf("dtmfRelayBody = %q", got)
	}
}
