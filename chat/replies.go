package chat

import (
	"crypto/sha256"
	"encoding/base64"

	"github.com/frontdesk-gw/frontdesk/sip"
)

// One agent MESSAGE, one answer, across the nodes of a cluster.
//
// The PBX may fork a reply to every node, and a node that does not hold
// the chat forwards its copy to the one that does; meanwhile the chat may
// move (a visitor resuming elsewhere, a holder dying). Each node's own
// copies are answered once (Manager.once), but a copy can reach a node
// that took the chat over after another node already took that reply.
// So the chat itself remembers the replies it answered: the MESSAGE's
// identity (sip.IncomingMessage.ID: Call-ID, CSeq, From tag), hashed to a
// fixed size, with the status it got. It is checked and recorded under the
// chat's lock and saved in the same write as the reply's event, so the
// holder that gets the record later also gets the identities of the
// replies in it, and a copy is answered with the first answer, shown to
// nobody.

// repliesKept bounds the answered replies a chat remembers: copies arrive
// within a MESSAGE transaction's lifetime (32 s), far fewer than this many
// replies apart.
const repliesKept = 64

// AnsweredReply is one agent MESSAGE a chat answered.
type AnsweredReply struct {
	ID   string `json:"id"` // replyKey of the MESSAGE's identity
	Code int    `json:"code"`
}

// replyKey is the fixed-size key of a MESSAGE's identity ("" when it has
// none: such a MESSAGE cannot be told from another and is always handled).
func replyKey(in sip.IncomingMessage) string {
	if in.ID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(in.ID))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// answeredLocked is the status a reply with key got in this chat, or 0.
// The caller holds c.mu.
func (c *Conversation) answeredLocked(key string) int {
	if key == "" {
		return 0
	}
	for _, r := range c.replies {
		if r.ID == key {
			return r.Code
		}
	}
	return 0
}

// answerLocked remembers that the reply with key got code (in a cluster
// only: a single node answers each copy in its SIP transaction layer and
// Manager.once). The caller holds c.mu and saves the record after.
func (c *Conversation) answerLocked(key string, code int) {
	if key == "" || c.m.shared == nil {
		return
	}
	if len(c.replies) >= repliesKept {
		c.replies = append(c.replies[:0], c.replies[len(c.replies)-repliesKept+1:]...)
	}
	c.replies = append(c.replies, AnsweredReply{ID: key, Code: code})
}
