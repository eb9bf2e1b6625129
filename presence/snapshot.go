package presence

import "maps"

// Snapshot is what a Store knows of one URI for one event package, in a
// form that can be handed to another Store: cluster nodes share the state
// that the node holding an agent's subscription heard.
type Snapshot struct {
	// Known is false when nothing is known (no NOTIFY yet, or the
	// subscription was lost).
	Known bool `json:"known"`
	// Presence is the presence status (presence event only).
	Presence Status `json:"presence,omitzero"`
	// Dialogs are the active dialogs by id (dialog event only).
	Dialogs map[string]DialogState `json:"dialogs,omitempty"`
	// Refused is set when the PBX refused the event package: availability
	// comes from the other package alone (see Store.Refuse).
	Refused bool `json:"refused,omitempty"`
}

// Snapshot returns what is known of event ("presence" or "dialog") for
// uri.
func (s *Store) Snapshot(uri, event string) Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.uris[uri]
	if u == nil {
		return Snapshot{}
	}
	switch event {
	case EventPresence:
		if u.presence != nil {
			return Snapshot{Known: true, Presence: *u.presence}
		}
		return Snapshot{Refused: u.presenceRefused}
	case EventDialog:
		if u.hasDialog {
			return Snapshot{Known: true, Dialogs: maps.Clone(u.dialogs)}
		}
		return Snapshot{Refused: u.dialogRefused}
	}
	return Snapshot{}
}

// Restore sets what is known of event for uri to sn, as another Store's
// Snapshot had it, and reports whether that changed anything. The dialog
// document count starts again, so the first NOTIFY of a subscription this
// Store's own node makes later is taken whatever its version.
func (s *Store) Restore(uri, event string, sn Snapshot) (changed bool) {
	switch {
	case sn.Refused:
		return s.Refuse(uri, event)
	case !sn.Known:
		return s.Reset(uri, event)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.state(uri)
	switch event {
	case EventPresence:
		st := sn.Presence
		if equalStatus(u.presence, &st) {
			return false
		}
		u.presence = &st
	case EventDialog:
		next := maps.Clone(sn.Dialogs)
		if next == nil {
			next = map[string]DialogState{}
		}
		u.dialogVersion = 0
		if u.hasDialog && maps.Equal(u.dialogs, next) {
			return false
		}
		u.hasDialog, u.dialogs = true, next
	default:
		s.dropIfEmpty(uri)
		return false
	}
	s.version.Add(1)
	return true
}
