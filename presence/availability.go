package presence

import "github.com/frontdesk-gw/frontdesk/config"

// Availability is what visitors see of agent a, by its mode:
//
//   - always: Available; inactive: Offline.
//   - boolean: Available while the presence of a.BooleanURI is open, else
//     Offline.
//   - presence: Offline while a.URI's presence is unknown or closed. When
//     open: Busy if RPID says busy or a dialog of a.URI is trying,
//     proceeding, early or confirmed; else Offline if RPID says away
//     (showing an absent agent as busy would invite visitors to wait for
//     someone who is not there); else Available.
//   - anything else: Offline, so a config mistake never offers an agent.
func (s *Store) Availability(a config.Agent) Availability {
	switch a.Mode {
	case config.ModeAlways:
		return Available
	case config.ModeBoolean:
		if st, ok := s.Presence(a.BooleanURI); ok && st.Basic == BasicOpen {
			return Available
		}
		return Offline
	case config.ModePresence:
		return s.presenceAvailability(a.URI)
	}
	return Offline
}

func (s *Store) presenceAvailability(uri string) Availability {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.uris[uri]
	if u == nil || u.presence == nil || u.presence.Basic != BasicOpen {
		return Offline
	}
	switch {
	case u.presence.Busy || len(u.dialogs) > 0:
		return Busy
	case u.presence.Away:
		return Offline
	}
	return Available
}
