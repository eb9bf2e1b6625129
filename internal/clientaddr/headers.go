package clientaddr

import (
	"net/netip"
	"slices"
	"strings"
)

// xForwardedFor reads the addresses of X-Forwarded-For header lines, left
// to right. When a hop is no address it returns only the hops right of it;
// of more than maxHops it keeps the right-most.
func xForwardedFor(lines []string) []netip.Addr {
	var fields []string
	for _, l := range lines {
		fields = append(fields, strings.Split(l, ",")...)
		if len(fields) > 4*maxHops {
			break
		}
	}
	return rightmost(fields, func(f string) (netip.Addr, bool) { return parseHostPort(strings.TrimSpace(f)) })
}

// forwardedFor reads the for= addresses of Forwarded (RFC 7239) header
// lines, one per element, left to right, with xForwardedFor's rules. An
// element without for=, or with "unknown" or an obfuscated identifier,
// breaks the list.
func forwardedFor(lines []string) []netip.Addr {
	var elements []string
	for _, l := range lines {
		elements = append(elements, splitQuoted(l, ',')...)
		if len(elements) > 4*maxHops {
			break
		}
	}
	return rightmost(elements, forwardedElementFor)
}

// rightmost parses items from the right until one fails or maxHops are
// read, and returns them left to right.
func rightmost(items []string, parse func(string) (netip.Addr, bool)) []netip.Addr {
	var rev []netip.Addr
	for i := len(items) - 1; i >= 0 && len(rev) < maxHops; i-- {
		a, ok := parse(items[i])
		if !ok {
			break
		}
		rev = append(rev, a)
	}
	slices.Reverse(rev)
	return rev
}

// forwardedElementFor returns the node of an element's for= pair.
func forwardedElementFor(element string) (netip.Addr, bool) {
	for _, pair := range splitQuoted(element, ';') {
		name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "for") {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = strings.ReplaceAll(value[1:len(value)-1], `\`, "")
		}
		// node = nodename [ ":" node-port ]; an IPv6 nodename is in brackets.
		return parseHostPort(value)
	}
	return netip.Addr{}, false
}

// splitQuoted splits s at sep outside double-quoted strings.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case c == '\\' && quoted:
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
