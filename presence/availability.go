package presence

import "github.com/frontdesk-gw/frontdesk/config"

// Availability is what visitors see of agent a, by its mode:
//
//   - always: Available; inactive: Offline.
//   - boolean: Available while the presence of a.BooleanURI is open, else
//     Offline.
//   - presence, from the event packages a.Source names (both by default)
//     and the PBX does not refuse (Refuse):
//   - with presence: Offline while a.URI's presence is unknown or closed.
//     When open: Busy if RPID says busy or a dialog of a.URI is trying,
//     proceeding, early or confirmed, or, without dialog state, if the
//     note reads as a phone in use ("presence only: busy detection
//     limited"); else Offline if RPID says away (showing an absent agent as
//     busy would invite visitors to wait for someone who is not there);
//     else Available.
//   - with dialog state alone (source dialog, or the PBX refuses
//     presence): Offline until the first dialog document, then Busy while a
//     dialog is active, else Available. A phone that is switched off
//     cannot be told from an idle one this way.
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
		return s.presenceAvailability(a.URI, a.Source)
	}
	return Offline
}

func (s *Store) presenceAvailability(uri string, source config.Source) Availability {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.uris[uri]
	if u == nil {
		return Offline
	}
	withPresence := source != config.SourceDialog && !u.presenceRefused
	withDialog := source != config.SourcePresence && !u.dialogRefused && u.hasDialog
	switch {
	case withPresence:
		if u.presence == nil || u.presence.Basic != BasicOpen {
			return Offline
		}
		switch {
		case u.presence.Busy || withDialog && len(u.dialogs) > 0:
			return Busy
		case !withDialog && u.presence.NoteSaysBusy():
			return Busy
		case u.presence.Away:
			return Offline
		}
		return Available
	case withDialog:
		if len(u.dialogs) > 0 {
			return Busy
		}
		return Available
	}
	return Offline
}
