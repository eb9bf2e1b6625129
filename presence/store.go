package presence

import (
	"bytes"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
)

// Event package names, as Reset takes them.
const (
	EventPresence = "presence"
	EventDialog   = "dialog"
)

// Store keeps the latest presence and dialog state per monitored URI. URIs
// are the normalized strings the SIP side subscribes with (config.Agent.URI
// and BooleanURI). It is safe for concurrent use; reads are the common case.
type Store struct {
	mu      sync.RWMutex
	uris    map[string]*uriState
	version atomic.Uint64
}

// uriState is what is known about one URI. A nil presence means unknown.
type uriState struct {
	presence      *Status
	hasDialog     bool
	dialogVersion int
	dialogs       map[string]DialogState // active dialogs by id
	// the PBX refuses that package for this URI (Refuse)
	presenceRefused, dialogRefused bool
}

func (u *uriState) empty() bool {
	return u.presence == nil && !u.hasDialog && !u.presenceRefused && !u.dialogRefused
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{uris: make(map[string]*uriState)}
}

// Version increments on every change, so a reader can tell whether anything
// moved since its last snapshot.
func (s *Store) Version() uint64 { return s.version.Load() }

// state returns the entry for uri, creating it. Callers hold s.mu.
func (s *Store) state(uri string) *uriState {
	u := s.uris[uri]
	if u == nil {
		u = &uriState{}
		s.uris[uri] = u
	}
	return u
}

// dropIfEmpty forgets uri when nothing is known of it. Callers hold s.mu.
func (s *Store) dropIfEmpty(uri string) {
	if u := s.uris[uri]; u != nil && u.empty() {
		delete(s.uris, uri)
	}
}

// ApplyPresence records a presence NOTIFY body for uri. An empty body (sent
// with pending or terminated subscriptions) means "no information" and makes
// the state unknown. On a parse error the previous state is kept.
func (s *Store) ApplyPresence(uri, contentType string, body []byte) (changed bool, err error) {
	var next *Status
	if len(bytes.TrimSpace(body)) > 0 {
		st, err := ParsePresence(contentType, body)
		if err != nil {
			return false, fmt.Errorf("presence of %s: %w", uri, err)
		}
		next = &st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.state(uri)
	defer s.dropIfEmpty(uri)
	refused := u.presenceRefused
	u.presenceRefused = false
	if equalStatus(u.presence, next) {
		if refused {
			s.version.Add(1)
		}
		return refused, nil
	}
	u.presence = next
	s.version.Add(1)
	return true, nil
}

func equalStatus(a, b *Status) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// ApplyDialog records a dialog-info NOTIFY body for uri. A full document
// replaces the known dialogs, a partial one updates them by id. A document
// older than the last one seen is ignored (changed false, no error); Reset
// starts the count again for a new subscription. An empty body means no
// information, like Reset. On a parse error the previous state is kept.
func (s *Store) ApplyDialog(uri string, body []byte) (changed bool, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return s.Reset(uri, EventDialog), nil
	}
	info, err := ParseDialogInfo(body)
	if err != nil {
		return false, fmt.Errorf("dialog state of %s: %w", uri, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.state(uri)
	if u.hasDialog && info.Version < u.dialogVersion {
		return false, nil
	}
	next := make(map[string]DialogState, len(info.Dialogs))
	if !info.Full {
		maps.Copy(next, u.dialogs)
	}
	for _, d := range info.Dialogs {
		if d.State.Active() {
			next[d.ID] = d.State
		} else {
			delete(next, d.ID)
		}
	}
	changed = !u.hasDialog || u.dialogRefused || !maps.Equal(u.dialogs, next)
	u.hasDialog, u.dialogVersion, u.dialogs, u.dialogRefused = true, info.Version, next, false
	if changed {
		s.version.Add(1)
	}
	return changed, nil
}

// Reset forgets what is known of event ("presence" or "dialog") for uri,
// when its subscription is lost or restarted. It reports whether anything
// was known.
func (s *Store) Reset(uri, event string) (changed bool) { return s.forget(uri, event, false) }

// Refuse forgets what is known of event for uri and records that the PBX
// refuses it (no such package, or its policy says no): the agent's
// availability then comes from the other package alone, until a document
// of event arrives again. It reports whether availability may have changed.
func (s *Store) Refuse(uri, event string) (changed bool) { return s.forget(uri, event, true) }

func (s *Store) forget(uri, event string, refused bool) (changed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.uris[uri]
	if u == nil {
		if !refused {
			return false
		}
		u = s.state(uri)
	}
	switch event {
	case EventPresence:
		changed = u.presence != nil || u.presenceRefused != refused
		u.presence, u.presenceRefused = nil, refused
	case EventDialog:
		changed = u.hasDialog || u.dialogRefused != refused
		u.hasDialog, u.dialogVersion, u.dialogs, u.dialogRefused = false, 0, nil, refused
	}
	s.dropIfEmpty(uri)
	if changed {
		s.version.Add(1)
	}
	return changed
}

// Presence returns the last presence status of uri and whether one is known.
func (s *Store) Presence(uri string) (Status, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if u := s.uris[uri]; u != nil && u.presence != nil {
		return *u.presence, true
	}
	return Status{}, false
}

// InDialog reports whether uri has a dialog that is being set up, ringing or
// connected.
func (s *Store) InDialog(uri string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.uris[uri]
	return u != nil && len(u.dialogs) > 0
}
