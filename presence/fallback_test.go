package presence

import (
	"testing"

	"github.com/frontdesk-gw/frontdesk/config"
)

// TestAvailabilityWithOneSource: when the PBX refuses one event package,
// or the agent's source names one, availability comes from the other
// alone: presence only reads busy from RPID and from notes PBXs put there
// ("presence only: busy detection limited"), dialog only is available
// while no call is active.
func TestAvailabilityWithOneSource(t *testing.T) {
	open := &Status{Basic: BasicOpen}
	note := func(n string) *Status { return &Status{Basic: BasicOpen, Note: n} }
	idle := []Dialog{}
	call := []Dialog{{ID: "d1", State: DialogConfirmed}}
	tests := []struct {
		name     string
		source   config.Source
		presence *Status  // nil: none arrived
		dialogs  []Dialog // nil: none arrived
		refuse   string   // event the PBX refuses
		want     Availability
	}{
		{name: "dialog refused, note on the phone", source: config.SourceBoth, presence: note("On the phone"), refuse: EventDialog, want: Busy},
		{name: "dialog refused, note talk", source: config.SourceBoth, presence: note("Talk 1002"), refuse: EventDialog, want: Busy},
		{name: "dialog refused, note ready", source: config.SourceBoth, presence: note("Ready"), refuse: EventDialog, want: Available},
		{name: "dialog refused, rpid busy", source: config.SourceBoth, presence: &Status{Basic: BasicOpen, Busy: true}, refuse: EventDialog, want: Busy},
		{name: "dialog refused, closed", source: config.SourceBoth, presence: &Status{Basic: BasicClosed}, refuse: EventDialog, want: Offline},
		{name: "dialog idle outweighs a note", source: config.SourceBoth, presence: note("On the phone"), dialogs: idle, want: Available},
		{name: "presence refused, idle", source: config.SourceBoth, dialogs: idle, refuse: EventPresence, want: Available},
		{name: "presence refused, in a call", source: config.SourceBoth, dialogs: call, refuse: EventPresence, want: Busy},
		{name: "presence refused, no dialog state yet", source: config.SourceBoth, refuse: EventPresence, want: Offline},
		{name: "both refused", source: config.SourceBoth, refuse: "both", want: Offline},
		{name: "presence not refused, unknown, idle", source: config.SourceBoth, dialogs: idle, want: Offline},
		{name: "source dialog ignores closed presence", source: config.SourceDialog, presence: &Status{Basic: BasicClosed}, dialogs: idle, want: Available},
		{name: "source dialog, in a call", source: config.SourceDialog, presence: open, dialogs: call, want: Busy},
		{name: "source dialog, nothing yet", source: config.SourceDialog, presence: open, want: Offline},
		{name: "source presence ignores a call", source: config.SourcePresence, presence: open, dialogs: call, want: Available},
		{name: "source presence reads notes", source: config.SourcePresence, presence: note("ringing"), dialogs: idle, want: Busy},
		{name: "no source given reads as both", presence: open, dialogs: call, want: Busy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore()
			if tt.presence != nil {
				if _, err := s.ApplyPresence(alice, ContentTypePIDF, tt.presence.MarshalPIDF(alice)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.dialogs != nil {
				if _, err := s.ApplyDialog(alice, dialogs(1, true, tt.dialogs...)); err != nil {
					t.Fatal(err)
				}
			}
			switch tt.refuse {
			case "both":
				s.Refuse(alice, EventPresence)
				s.Refuse(alice, EventDialog)
			case EventPresence, EventDialog:
				if !s.Refuse(alice, tt.refuse) {
					t.Error("Refuse reported no change")
				}
			}
			if got := s.Availability(config.Agent{Mode: config.ModePresence, URI: alice, Source: tt.source}); got != tt.want {
				t.Errorf("Availability = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRefusalEndsWithADocumentOrReset: a document of the refused package,
// or a Reset (the subscription lost for another reason), ends the
// fallback.
func TestRefusalEndsWithADocumentOrReset(t *testing.T) {
	agent := config.Agent{Mode: config.ModePresence, URI: alice, Source: config.SourceBoth}
	s := NewStore()
	mustApplyDialog(t, s, dialogs(1, true), true)
	if !s.Refuse(alice, EventPresence) || s.Availability(agent) != Available {
		t.Fatalf("presence refused, idle: %q, want online", s.Availability(agent))
	}
	if s.Refuse(alice, EventPresence) {
		t.Error("refusing again reported a change")
	}
	mustApplyPresence(t, s, (&Status{Basic: BasicClosed}).MarshalPIDF(alice), true)
	if got := s.Availability(agent); got != Offline {
		t.Errorf("after a presence document (closed): %q, want offline", got)
	}
	s.Refuse(alice, EventPresence)
	if !s.Reset(alice, EventPresence) {
		t.Error("Reset of a refusal reported no change")
	}
	if got := s.Availability(agent); got != Offline {
		t.Errorf("after Reset: %q, want offline (presence unknown)", got)
	}
	s.Refuse(alice, EventDialog)
	s.Reset(alice, EventDialog)
	s.Reset(alice, EventPresence)
	if n := len(s.uris); n != 0 {
		t.Errorf("%d URIs kept after everything was reset", n)
	}
}

func TestNoteSaysBusy(t *testing.T) {
	for note, want := range map[string]bool{
		"On the phone": true, "On The Phone": true, "on-the-phone": true, "Talk 1002": true, "Ringing": true,
		"On hold": true, "Busy": true, "busy - back soon": true, "In a call": true, "Do not disturb": true, "DND": true,
		"Ready": false, "Available": false, "Unregistered": false, "Talkative today": false, "Busybody": false, "": false,
	} {
		if got := (Status{Note: note}).NoteSaysBusy(); got != want {
			t.Errorf("NoteSaysBusy(%q) = %v, want %v", note, got, want)
		}
	}
}
