package chat

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
)

// chatIDAlphabet has no look-alike characters and nothing a SIP user part
// would need to escape.
const chatIDAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// newChatID is a routing key (50 bits), not a secret: replies are also
// checked against the chat's agent.
func newChatID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = chatIDAlphabet[int(b[i])%len(chatIDAlphabet)]
	}
	return string(b)
}

// newToken is a resume token: 192 random bits.
func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// normalizeAOR reduces a SIP address to "user@host" in lower case, without
// scheme, display name, port or parameters; "" when it has no host.
func normalizeAOR(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	lv := strings.ToLower(v)
	for _, p := range []string{"sip:", "sips:"} {
		if strings.HasPrefix(lv, p) {
			lv = lv[len(p):]
			break
		}
	}
	if i := strings.IndexAny(lv, ";?"); i >= 0 {
		lv = lv[:i]
	}
	user, host, found := strings.Cut(lv, "@")
	if !found {
		user, host = "", lv
	}
	if strings.HasPrefix(host, "[") { // IPv6 reference, maybe with a port
		if j := strings.IndexByte(host, ']'); j >= 0 {
			host = host[:j+1]
		}
	} else if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if host == "" {
		return ""
	}
	if user == "" {
		return host
	}
	return user + "@" + host
}

// userOf is the user part of a SIP address, lower case.
func userOf(v string) string {
	user, _, found := strings.Cut(normalizeAOR(v), "@")
	if !found {
		return ""
	}
	return user
}
