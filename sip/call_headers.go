package sip

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
)

// Header is one header a CallRequest adds to its INVITE.
type Header struct{ Name, Value string }

// ErrBadHeader means a CallRequest header the UA does not send: a name
// outside the allow-list, a name given twice, or a value that is empty,
// too long, not UTF-8 or has a control character (CR and LF would start a
// header of the caller's choosing).
var ErrBadHeader = errors.New("sip: header not allowed in a call")

// callHeaderNames are the headers a call may carry for the agent's phone to
// show, all of RFC 3261: Subject (20.36), Call-Info (20.9) and Alert-Info
// (20.4). Whatever routes, identifies or authenticates a request stays the
// UA's own.
var callHeaderNames = []string{"Subject", "Call-Info", "Alert-Info"}

// maxCallHeaderValue bounds one added header's value, in bytes.
const maxCallHeaderValue = 1024

// callHeaders checks hs against the allow-list and returns them ready for
// the INVITE, with canonical names.
func callHeaders(hs []Header) ([]sip.Header, error) {
	var out []sip.Header
	seen := map[string]bool{}
	for _, h := range hs {
		name := ""
		for _, n := range callHeaderNames {
			if strings.EqualFold(h.Name, n) {
				name = n
			}
		}
		switch {
		case name == "":
			return nil, fmt.Errorf("header %q: %w", h.Name, ErrBadHeader)
		case seen[name]:
			return nil, fmt.Errorf("header %s twice: %w", name, ErrBadHeader)
		case !validHeaderValue(h.Value):
			return nil, fmt.Errorf("header %s: value of %d bytes: %w", name, len(h.Value), ErrBadHeader)
		}
		seen[name] = true
		out = append(out, sip.NewHeader(name, h.Value))
	}
	return out, nil
}

// validHeaderValue accepts one line of UTF-8 text without control
// characters, 1 to maxCallHeaderValue bytes, not starting or ending with
// a space.
func validHeaderValue(v string) bool {
	if v == "" || len(v) > maxCallHeaderValue || !utf8.ValidString(v) || strings.TrimSpace(v) != v {
		return false
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}
