package bridge

// isHold reports whether an SDP offer from the PBX puts the call on hold: its
// first audio stream is sendonly or inactive (the session-level attribute
// counts where the stream has none), or its address is 0.0.0.0 (RFC 2543
// hold, still sent by older phones). An unreadable SDP is no hold.
func isHold(raw []byte) bool {
	s, err := parseSDP(raw)
	if err != nil {
		return false
	}
	for _, m := range s.media {
		if m.kind != "audio" {
			continue
		}
		return m.dir == dirSendOnly || m.dir == dirInactive || (m.addr.IsValid() && m.addr.IsUnspecified())
	}
	return false
}
