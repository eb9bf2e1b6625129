package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/frontdesk-gw/frontdesk/sip/sipaddr"
)

var (
	langRe       = regexp.MustCompile(`^[a-z]{2}$`)
	agentIDRe    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	hexColorRe   = regexp.MustCompile(`^#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$`)
	funcColorRe  = regexp.MustCompile(`^(rgb|rgba|hsl|hsla)\([0-9a-z.,%/ +-]{1,64}\)$`)
	namedColorRe = regexp.MustCompile(`^[A-Za-z]{3,32}$`)
	cssLengthRe  = regexp.MustCompile(`^(0|-?[0-9]{1,5}(\.[0-9]{1,3})?(px|em|rem|%|vh|vw|pt))$`)
	fontFamilyRe = regexp.MustCompile(`^[A-Za-z0-9 ,"'_-]{1,200}$`)
	dnsLabelRe   = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$`)
	stringKeyRe  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

func isColor(s string) bool {
	return hexColorRe.MatchString(s) || funcColorRe.MatchString(strings.ToLower(s)) || namedColorRe.MatchString(s)
}

// splitHostPort splits "host", "host:port", "[v6]", "[v6]:port" or a bare
// IPv6 address. port is "" when absent.
func splitHostPort(s string) (host, port string, err error) {
	switch {
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		host = s[1 : len(s)-1]
	case strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1:
		host, port, err = net.SplitHostPort(s)
		if err != nil {
			return "", "", fmt.Errorf("%q is not host:port", s)
		}
		if port == "" {
			return "", "", fmt.Errorf("%q has an empty port", s)
		}
	case strings.Contains(s, ":"):
		host = s // a bare IPv6 address, checked below
	default:
		host = s
	}
	if port != "" {
		if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
			return "", "", fmt.Errorf("%q has an invalid port %q", s, port)
		}
	}
	return host, port, nil
}

// isHost reports whether h is an IP address or a DNS name.
func isHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 || strings.Contains(h, ":") {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if !dnsLabelRe.MatchString(label) {
			return false
		}
	}
	return true
}

// checkHostPort validates host[:port]; an empty host is allowed only when
// emptyHost is set (listen addresses such as ":8080").
func checkHostPort(s string, emptyHost bool) (host, port string, err error) {
	host, port, err = splitHostPort(s)
	if err != nil {
		return "", "", err
	}
	if host == "" && emptyHost {
		return host, port, nil
	}
	if !isHost(host) {
		return "", "", fmt.Errorf("%q is not a host name or IP address", host)
	}
	return host, port, nil
}

// serverHost returns the host of a server address given as host, host:port
// or a sip:/sips: URI (its user part and parameters are ignored), read by
// the one SIP address rule (sipaddr.ParseServer).
func serverHost(s string) (string, error) {
	a, err := sipaddr.ParseServer(s)
	if err != nil {
		return "", err
	}
	return a.Hostname(), nil
}

// normalizeSIP turns "sip:user@domain;params", "user@domain" or "user" into
// "sip:user@domain" (sips: and a port are kept), appending domain when s has
// none, by the one SIP address rule (package sipaddr): the domain in lower
// case, the user part as written. It also returns the user part.
func normalizeSIP(s, domain string) (uri, user string, err error) {
	a, err := sipaddr.ParseUser(s, domain)
	if err != nil {
		return "", "", err
	}
	return a.String(), a.User, nil
}

// normalizeUUID accepts 32 hex digits or the dashed 8-4-4-4-12 form and
// returns 32 lowercase hex digits.
func normalizeUUID(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) == 36 {
		for _, i := range []int{8, 13, 18, 23} {
			if s[i] != '-' {
				return "", false
			}
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) != 32 {
		return "", false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return "", false
		}
	}
	return s, true
}

// NormalizeOrigin accepts "*" or scheme://host[:port] and returns it in the
// form browsers send in the Origin header: lower case, without a default
// port. The gateway compares origins only in this form.
func NormalizeOrigin(s string) (string, error) {
	if s == "*" {
		return s, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not \"*\" or an origin such as https://www.example.com", s)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an origin: remove everything after the host and port", s)
	}
	if _, _, err := checkHostPort(u.Host, false); err != nil {
		return "", fmt.Errorf("origin %q: %w", s, err)
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + host + ":" + port, nil
	}
	return scheme + "://" + host, nil
}

// checkWebURL accepts an absolute http or https URL.
func checkWebURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", s)
	}
	return nil
}

// checkLinkURL accepts http(s), mailto: and tel: URLs.
func checkLinkURL(s string) error {
	u, err := url.Parse(s)
	if err == nil {
		switch u.Scheme {
		case "http", "https":
			if u.Host != "" {
				return nil
			}
		case "mailto", "tel":
			if u.Opaque != "" {
				return nil
			}
		}
	}
	return fmt.Errorf("%q is not an http(s), mailto: or tel: URL", s)
}

// normalizeEmail accepts a bare address such as alice@example.com.
func normalizeEmail(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(s) {
		return "", fmt.Errorf("%q is not an email address such as alice@example.com", s)
	}
	return a.Address, nil
}

// oneOf formats the allowed values of an enum for a message.
func oneOf[T ~string](got T, allowed ...T) string {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return fmt.Sprintf("%q is not one of %s", string(got), strings.Join(names, ", "))
}
