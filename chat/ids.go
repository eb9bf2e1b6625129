package chat

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/frontdesk-gw/frontdesk/sip/sipaddr"
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

// newToken is a resume token: the chat id (so that any node of a cluster
// finds the chat) and 192 random bits, "<id>.<secret>".
func newToken(id string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return id + "." + base64.RawURLEncoding.EncodeToString(b)
}

// normalizeAOR reduces a SIP address to "user@host" by the one SIP address
// rule (package sipaddr): no scheme, display name, port or parameters, the
// host in lower case, the user part as written (SIP user parts are
// case-sensitive); "" when it is not a SIP address with a host.
func normalizeAOR(v string) string {
	a, err := sipaddr.Parse(v)
	if err != nil {
		return ""
	}
	return a.Key()
}

// userOf is the user part of a SIP address, as written.
func userOf(v string) string {
	a, err := sipaddr.Parse(v)
	if err != nil {
		return ""
	}
	return a.User
}
