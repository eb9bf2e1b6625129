package sip

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// What a PBX controls, fuzzed with round trips where the syntax allows and
// invariants elsewhere. Seeds: the in-repo vectors in testdata (register/,
// notify/) and testdata/fuzz/<FuzzName>.

// formatChallenge writes c back as a header value, every value quoted.
func formatChallenge(c challenge) string {
	var b strings.Builder
	b.WriteString(c.Scheme)
	b.WriteString(" realm=" + quote(c.Realm) + ", nonce=" + quote(c.Nonce) + ", opaque=" + quote(c.Opaque))
	if c.Algorithm != "" {
		b.WriteString(", algorithm=" + quote(c.Algorithm))
	}
	if len(c.QOP) > 0 {
		b.WriteString(", qop=" + quote(strings.Join(c.QOP, ",")))
	}
	if c.Stale {
		b.WriteString(", stale=true")
	}
	return b.String()
}

func FuzzParseChallenges(f *testing.F) {
	for _, name := range []string{
		"cirpack-ovh-401-empty-reason-folded-www-auth.txt", "flexisip-401-md5-qop-opaque.txt",
		"www-auth-two-challenges-one-header-comma.txt", "www-auth-sha256-qop-auth-auth-int-rfc7616.txt",
		"www-auth-lowercase-digest-no-nonce-stale-true.txt", "www-auth-alu-ims-folded-multiline.txt",
	} {
		for _, v := range authHeaderValues(f, name) {
			f.Add(v)
		}
	}
	f.Fuzz(func(t *testing.T, v string) {
		parsed := parseChallenges([]string{v})
		// Round trip: what was understood, written again, reads the same.
		var again []challenge
		for _, c := range parsed {
			again = append(again, parseChallenges([]string{formatChallenge(c)})...)
		}
		if !reflect.DeepEqual(parsed, again) {
			t.Fatalf("%q parsed as %+v, written and parsed again as %+v", v, parsed, again)
		}
		for _, c := range chooseChallenges(parsed) {
			if !strings.EqualFold(c.Scheme, "digest") || c.Nonce == "" || newHash(c.Algorithm) == nil {
				t.Fatalf("chose an unanswerable challenge %+v", c)
			}
			// The credentials quote the challenge's values so that they read
			// back as exactly those values: nothing a PBX puts in a nonce or
			// realm can add a parameter of its own.
			authz := c.authorization("fd", "pw", "REGISTER", "sip:pbx.test", "0a4f113b", 1)
			back := parseChallenges([]string{authz})
			if len(back) != 1 || back[0].Realm != c.Realm || back[0].Nonce != c.Nonce || back[0].Opaque != c.Opaque || back[0].Algorithm != c.Algorithm {
				t.Fatalf("credentials %q for %+v read back as %+v", authz, c, back)
			}
		}
	})
}

func formatSubState(s subState) string {
	out := string(s.state)
	if s.expires > 0 {
		out += ";expires=" + strconv.Itoa(int(s.expires/time.Second))
	}
	if s.reason != "" {
		out += ";reason=" + s.reason
	}
	if s.retryAfter > 0 {
		out += ";retry-after=" + strconv.Itoa(int(s.retryAfter/time.Second))
	}
	return out
}

func FuzzParseSubState(f *testing.F) {
	for _, s := range []string{
		"active;expires=600", "Pending", "terminated;reason=noresource", "terminated; reason=Probation ;retry-after=30",
		"terminated;reason=timeout", "active;expires=99999999999999999999", "active;expires=-1", "terminated;retry-after=18446744073709551615",
		"", "sleeping",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		st, err := parseSubState(v)
		if err != nil {
			return
		}
		if st.expires < 0 || st.retryAfter < 0 || st.expires > maxDeltaSeconds || st.retryAfter > maxDeltaSeconds {
			t.Fatalf("%q: durations out of range: %+v", v, st)
		}
		back, err := parseSubState(formatSubState(st))
		if err != nil || back != st {
			t.Fatalf("%q parsed as %+v; written as %q it reads %+v, %v", v, st, formatSubState(st), back, err)
		}
	})
}

func FuzzParseSessionExpires(f *testing.F) {
	for _, s := range []string{"1800;refresher=uac", "90; Refresher = UAS", "1", "0", "abc", "4294967296;refresher=uas", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		req := sip.NewRequest(sip.UPDATE, sip.Uri{Scheme: "sip", Host: "pbx.test"})
		req.AppendHeader(sip.NewHeader("Session-Expires", v))
		d, refresher, ok := parseSessionExpires(req)
		if !ok {
			return
		}
		if d <= 0 || d > maxDeltaSeconds {
			t.Fatalf("%q: interval %v out of range", v, d)
		}
		if strings.ContainsAny(refresher, ";") || refresher != strings.ToLower(refresher) {
			t.Fatalf("%q: refresher %q", v, refresher)
		}
		again := sip.NewRequest(sip.UPDATE, sip.Uri{Scheme: "sip", Host: "pbx.test"})
		w := seconds(d)
		if refresher != "" {
			w += ";refresher=" + refresher
		}
		again.AppendHeader(sip.NewHeader("Session-Expires", w))
		if d2, r2, ok2 := parseSessionExpires(again); !ok2 || d2 != d || r2 != refresher {
			t.Fatalf("%q parsed as %v %q; written as %q it reads %v %q %v", v, d, refresher, w, d2, r2, ok2)
		}
	})
}

func FuzzParseDTMFRelay(f *testing.F) {
	for _, s := range []string{"Signal=5\r\nDuration=160\r\n", "Signal= *\nDuration= 100", "signal=10\r\n", "Signal=d\r\nDuration=abc\r\n",
		"Signal=55\r\n", "Duration=160\r\n", "Signal=11\r\nDuration=99999999999999999999\r\n", "Signal=#\rDuration=250"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		digit, dur, ok := parseDTMFRelay(body)
		if !ok {
			return
		}
		if d, valid := dtmfDigit(digit); !valid || d != digit {
			t.Fatalf("%q: digit %q", body, digit)
		}
		if dur < 0 || dur >= time.Minute {
			t.Fatalf("%q: duration %v", body, dur)
		}
		// What we send reads back as what we read.
		d2, dur2, ok2 := parseDTMFRelay(dtmfRelayBody(digit, dur))
		want := dur
		if want == 0 {
			want = defaultDTMFDuration
		}
		if !ok2 || d2 != digit || dur2 != want {
			t.Fatalf("%q read as %q %v; sent and read again %q %v %v", body, digit, dur, d2, dur2, ok2)
		}
	})
}

// Delta-seconds beyond 2^32-1 mean 2^32-1 (RFC 3261 20.19, 20.33); they
// never overflow into negative durations.
func TestParseSecondsBounded(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"600": 600 * time.Second, " 30;x": 30 * time.Second, "": 0, "-5": 0,
		"4294967295":           maxDeltaSeconds,
		"4294967296":           maxDeltaSeconds,
		"99999999999999999999": maxDeltaSeconds,
	} {
		if got := parseSeconds(in); got != want {
			t.Errorf("parseSeconds(%q) = %v, want %v", in, got, want)
		}
	}
	if maxDeltaSeconds <= 0 || maxDeltaSeconds > math.MaxInt64/2 {
		t.Errorf("maxDeltaSeconds %v", maxDeltaSeconds)
	}
}
