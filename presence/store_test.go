package presence

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/frontdesk-gw/frontdesk/config"
)

const alice = "sip:alice@example.com"

func pidf(st Status) []byte { return st.MarshalPIDF(alice) }

func dialogs(version int, full bool, ds ...Dialog) []byte {
	return DialogInfo{Version: version, Full: full, Entity: alice, Dialogs: ds}.MarshalDialogInfo()
}

func mustApplyPresence(t *testing.T, s *Store, body []byte, wantChanged bool) {
	t.Helper()
	changed, err := s.ApplyPresence(alice, ContentTypePIDF, body)
	if err != nil {
		t.Fatalf("ApplyPresence: %v", err)
	}
	if changed != wantChanged {
		t.Fatalf("ApplyPresence changed = %v, want %v", changed, wantChanged)
	}
}

func mustApplyDialog(t *testing.T, s *Store, body []byte, wantChanged bool) {
	t.Helper()
	changed, err := s.ApplyDialog(alice, body)
	if err != nil {
		t.Fatalf("ApplyDialog: %v", err)
	}
	if changed != wantChanged {
		t.Fatalf("ApplyDialog changed = %v, want %v", changed, wantChanged)
	}
}

func TestStorePresence(t *testing.T) {
	s := NewStore()
	if _, ok := s.Presence(alice); ok {
		t.Fatal("fresh store knows presence")
	}
	mustApplyPresence(t, s, pidf(Status{Basic: BasicOpen}), true)
	mustApplyPresence(t, s, pidf(Status{Basic: BasicOpen}), false)
	v := s.Version()

	// A bad body is an error and keeps the state.
	if _, err := s.ApplyPresence(alice, ContentTypePIDF, []byte("<presence>")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad body: err = %v, want ErrMalformed", err)
	}
	if st, ok := s.Presence(alice); !ok || st.Basic != BasicOpen {
		t.Fatalf("after bad body: %+v %v, want open", st, ok)
	}
	if s.Version() != v {
		t.Errorf("version moved on a failed apply")
	}

	// An empty body means no information.
	mustApplyPresence(t, s, nil, true)
	if _, ok := s.Presence(alice); ok {
		t.Error("empty body left presence known")
	}
	mustApplyPresence(t, s, []byte("\r\n"), false)
	if s.Version() != v+1 {
		t.Errorf("version = %d, want %d", s.Version(), v+1)
	}
	if len(s.uris) != 0 {
		t.Errorf("store keeps %d entries for unknown URIs", len(s.uris))
	}
}

func TestStoreDialogFullPartialVersion(t *testing.T) {
	s := NewStore()
	mustApplyDialog(t, s, dialogs(1, true, Dialog{ID: "a", State: DialogEarly}), true)
	if !s.InDialog(alice) {
		t.Fatal("early dialog not seen")
	}
	// Partial: add a second dialog, end the first.
	mustApplyDialog(t, s, dialogs(2, false, Dialog{ID: "b", State: DialogConfirmed}), true)
	mustApplyDialog(t, s, dialogs(3, false, Dialog{ID: "a", State: DialogTerminated}), true)
	if !s.InDialog(alice) {
		t.Fatal("dialog b lost by a partial update about a")
	}
	// An older document is ignored.
	mustApplyDialog(t, s, dialogs(2, true), false)
	if !s.InDialog(alice) {
		t.Fatal("stale full document applied")
	}
	// Full replaces.
	mustApplyDialog(t, s, dialogs(4, true, Dialog{ID: "b", State: DialogTerminated}), true)
	if s.InDialog(alice) {
		t.Fatal("full document did not replace")
	}
	// A new subscription starts again at a low version after Reset.
	if !s.Reset(alice, EventDialog) {
		t.Fatal("Reset(dialog) reported no change")
	}
	mustApplyDialog(t, s, dialogs(0, true, Dialog{ID: "c", State: DialogTrying}), true)
	if !s.InDialog(alice) {
		t.Fatal("dialog after reset not seen")
	}
	if _, err := s.ApplyDialog(alice, []byte("<dialog-info")); err == nil {
		t.Fatal("bad dialog body accepted")
	}
	if !s.InDialog(alice) {
		t.Fatal("bad body changed state")
	}
	// An empty body is no information.
	mustApplyDialog(t, s, nil, true)
	if s.InDialog(alice) {
		t.Fatal("empty body kept dialogs")
	}
}

func TestStoreReset(t *testing.T) {
	s := NewStore()
	if s.Reset(alice, EventPresence) {
		t.Error("Reset on unknown URI reported a change")
	}
	mustApplyPresence(t, s, pidf(Status{Basic: BasicOpen}), true)
	mustApplyDialog(t, s, dialogs(5, true), true)
	if s.Reset(alice, "message-summary") {
		t.Error("Reset of an unknown event reported a change")
	}
	if !s.Reset(alice, EventPresence) {
		t.Error("Reset(presence) reported no change")
	}
	if s.Reset(alice, EventPresence) {
		t.Error("second Reset(presence) reported a change")
	}
	if !s.Reset(alice, EventDialog) {
		t.Error("Reset(dialog) reported no change")
	}
	if len(s.uris) != 0 {
		t.Errorf("%d entries left after resetting everything", len(s.uris))
	}
}

func TestStoreConcurrent(t *testing.T) {
	s := NewStore()
	agent := config.Agent{Mode: config.ModePresence, URI: alice}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 200 {
				basic := BasicOpen
				if (i+j)%2 == 0 {
					basic = BasicClosed
				}
				if _, err := s.ApplyPresence(alice, ContentTypePIDF, pidf(Status{Basic: basic})); err != nil {
					t.Errorf("ApplyPresence: %v", err)
					return
				}
				if _, err := s.ApplyDialog(alice, dialogs(j, true, Dialog{ID: fmt.Sprint(j), State: DialogEarly})); err != nil {
					t.Errorf("ApplyDialog: %v", err)
					return
				}
			}
		})
		wg.Go(func() {
			for range 200 {
				switch a := s.Availability(agent); a {
				case Available, Busy, Offline:
				default:
					t.Errorf("Availability = %q", a)
					return
				}
				_ = s.Version()
			}
		})
	}
	wg.Wait()
}
