package presence

import (
	"testing"

	"github.com/frontdesk-gw/frontdesk/config"
)

func TestAvailability(t *testing.T) {
	const flag = "sip:nightmode@example.com"
	type setup struct {
		presence *Status // nil: nothing known
		dialog   DialogState
		flag     *Status
	}
	open, closed := &Status{Basic: BasicOpen}, &Status{Basic: BasicClosed}
	tests := []struct {
		name  string
		mode  config.Mode
		setup setup
		want  Availability
	}{
		{name: "always, nothing known", mode: config.ModeAlways, want: Available},
		{name: "inactive, open", mode: config.ModeInactive, setup: setup{presence: open}, want: Offline},
		{name: "unknown mode, open", mode: config.ModeUnknown, setup: setup{presence: open}, want: Offline},
		{name: "bogus mode, open", mode: config.Mode("sometimes"), setup: setup{presence: open}, want: Offline},
		{name: "boolean open", mode: config.ModeBoolean, setup: setup{flag: open}, want: Available},
		{name: "boolean open and busy", mode: config.ModeBoolean, setup: setup{flag: &Status{Basic: BasicOpen, Busy: true}}, want: Available},
		{name: "boolean closed", mode: config.ModeBoolean, setup: setup{flag: closed, presence: open}, want: Offline},
		{name: "boolean unknown", mode: config.ModeBoolean, setup: setup{presence: open}, want: Offline},
		{name: "presence unknown", mode: config.ModePresence, want: Offline},
		{name: "presence unknown, in a call", mode: config.ModePresence, setup: setup{dialog: DialogConfirmed}, want: Offline},
		{name: "presence closed", mode: config.ModePresence, setup: setup{presence: closed}, want: Offline},
		{name: "presence basic unknown", mode: config.ModePresence, setup: setup{presence: &Status{Busy: true}}, want: Offline},
		{name: "presence open", mode: config.ModePresence, setup: setup{presence: open}, want: Available},
		{name: "presence open, dialog terminated", mode: config.ModePresence, setup: setup{presence: open, dialog: DialogTerminated}, want: Available},
		{name: "presence open, rpid busy", mode: config.ModePresence, setup: setup{presence: &Status{Basic: BasicOpen, Busy: true}}, want: Busy},
		{name: "presence open, trying", mode: config.ModePresence, setup: setup{presence: open, dialog: DialogTrying}, want: Busy},
		{name: "presence open, proceeding", mode: config.ModePresence, setup: setup{presence: open, dialog: DialogProceeding}, want: Busy},
		{name: "presence open, early", mode: config.ModePresence, setup: setup{presence: open, dialog: DialogEarly}, want: Busy},
		{name: "presence open, confirmed", mode: config.ModePresence, setup: setup{presence: open, dialog: DialogConfirmed}, want: Busy},
		{name: "presence open, away", mode: config.ModePresence, setup: setup{presence: &Status{Basic: BasicOpen, Away: true}}, want: Offline},
		{name: "presence open, away but on the phone", mode: config.ModePresence,
			setup: setup{presence: &Status{Basic: BasicOpen, Away: true}, dialog: DialogConfirmed}, want: Busy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore()
			if p := tt.setup.presence; p != nil {
				if _, err := s.ApplyPresence(alice, ContentTypePIDF, p.MarshalPIDF(alice)); err != nil {
					t.Fatal(err)
				}
			}
			if f := tt.setup.flag; f != nil {
				if _, err := s.ApplyPresence(flag, ContentTypePIDF, f.MarshalPIDF(flag)); err != nil {
					t.Fatal(err)
				}
			}
			if d := tt.setup.dialog; d != DialogUnknown {
				if _, err := s.ApplyDialog(alice, dialogs(1, true, Dialog{ID: "d1", State: d})); err != nil {
					t.Fatal(err)
				}
			}
			agent := config.Agent{Mode: tt.mode, URI: alice, BooleanURI: flag}
			if got := s.Availability(agent); got != tt.want {
				t.Errorf("Availability = %q, want %q", got, tt.want)
			}
		})
	}
}

// The corpus bodies drive the availability a visitor sees end to end.
func TestAvailabilityFromCorpus(t *testing.T) {
	dir := corpusDir(t)
	tests := []struct {
		file, contentType string
		want              Availability
	}{
		{file: "pidf/asterisk-pjsip-ready.xml", contentType: ContentTypePIDF, want: Available},
		{file: "pidf/asterisk-pjsip-ringing.xml", contentType: ContentTypePIDF, want: Busy},
		{file: "pidf/freeswitch-unregistered-closed-reconstructed.xml", contentType: ContentTypePIDF, want: Offline},
		{file: "pidf/asterisk-chansip-digium-presence-away-reconstructed.xml", contentType: ContentTypePIDF, want: Offline},
		{file: "xpidf/asterisk-chansip-inuse-reconstructed.xml", contentType: ContentTypeCPIMPIDF, want: Busy},
	}
	for _, tt := range tests {
		s := NewStore()
		if _, err := s.ApplyPresence(alice, tt.contentType, readFile(t, dir+"/"+tt.file)); err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if got := s.Availability(config.Agent{Mode: config.ModePresence, URI: alice}); got != tt.want {
			t.Errorf("%s: Availability = %q, want %q", tt.file, got, tt.want)
		}
	}
}
