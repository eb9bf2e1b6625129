package widget

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
)

// iceConfig builds the IceConfig message for one session. TURN servers with a
// shared secret get credentials minted for this session only (coturn's
// use-auth-secret / TURN REST scheme): username "<expiry>:<label>", password
// base64(HMAC-SHA1(secret, username)); they expire after the server's TTL.
func iceConfig(ice config.ICE, label string, now time.Time) iceConfigMsg {
	m := iceConfigMsg{MT: mtIceConfig, ICEServers: []iceServer{}}
	if len(ice.STUN) > 0 {
		m.ICEServers = append(m.ICEServers, iceServer{URLs: ice.STUN})
		m.STUN = strings.TrimPrefix(strings.TrimPrefix(ice.STUN[0], "stuns:"), "stun:")
	}
	for _, t := range ice.TURN {
		s := iceServer{URLs: t.URLs, Username: t.Username, Credential: t.Credential}
		if t.ResolvedSecret != "" {
			ttl := t.TTL
			if ttl <= 0 {
				ttl = time.Hour
			}
			s.Username = strconv.FormatInt(now.Add(ttl).Unix(), 10) + ":" + label
			mac := hmac.New(sha1.New, []byte(t.ResolvedSecret))
			mac.Write([]byte(s.Username))
			s.Credential = base64.StdEncoding.EncodeToString(mac.Sum(nil))
		}
		m.ICEServers = append(m.ICEServers, s)
		if m.TURN == "" && len(t.URLs) > 0 {
			m.TURN = strings.TrimPrefix(strings.TrimPrefix(t.URLs[0], "turns:"), "turn:")
		}
	}
	return m
}
