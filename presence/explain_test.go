package presence

import (
	"strings"
	"testing"

	"github.com/frontdesk-gw/frontdesk/config"
)

// TestExplainAgreesWithAvailability: for every combination of presence and
// dialog state, and every mode, the rule Explain names reaches the verdict
// Availability reaches.
func TestExplainAgreesWithAvailability(t *testing.T) {
	statuses := []*Status{nil, {Basic: BasicOpen, Note: "On the phone"}}
	for _, b := range []Basic{BasicUnknown, BasicOpen, BasicClosed} {
		for _, busy := range []bool{false, true} {
			for _, away := range []bool{false, true} {
				statuses = append(statuses, &Status{Basic: b, Busy: busy, Away: away})
			}
		}
	}
	dialogSets := [][]Dialog{nil, {}, {{ID: "d1", State: DialogEarly}}, {{ID: "d2", State: DialogConfirmed}, {ID: "d1", State: DialogTrying}}}
	modes := []config.Mode{config.ModePresence, config.ModeBoolean, config.ModeAlways, config.ModeInactive, "bogus"}
	sources := []config.Source{config.SourceUnknown, config.SourceBoth, config.SourcePresence, config.SourceDialog}
	refusals := [][]string{nil, {EventPresence}, {EventDialog}, {EventPresence, EventDialog}}
	n := 0
	for _, st := range statuses {
		for _, ds := range dialogSets {
			for _, refuse := range refusals {
				s := NewStore()
				if st != nil {
					if _, err := s.ApplyPresence(alice, ContentTypePIDF, st.MarshalPIDF(alice)); err != nil {
						t.Fatal(err)
					}
				}
				if ds != nil {
					if _, err := s.ApplyDialog(alice, dialogs(1, true, ds...)); err != nil {
						t.Fatal(err)
					}
				}
				for _, ev := range refuse {
					s.Refuse(alice, ev)
				}
				for _, mode := range modes {
					for _, source := range sources {
						a := config.Agent{Mode: mode, URI: alice, BooleanURI: alice, Source: source}
						e := s.Explain(a)
						if verdict, _ := e.rule(mode, source); verdict != s.Availability(a) || e.Availability != verdict {
							t.Errorf("mode %s, source %q, presence %+v, dialogs %v, refused %v: rule %q says %q, Availability %q",
								mode, source, st, ds, refuse, e.Rule, verdict, s.Availability(a))
						}
						if e.Rule == "" || strings.Contains(e.Rule, "changed while") {
							t.Errorf("mode %s, presence %+v, dialogs %v: rule %q", mode, st, ds, e.Rule)
						}
						n++
					}
				}
			}
		}
	}
	t.Logf("%d combinations", n)
}

func TestExplainSaysWhy(t *testing.T) {
	s := NewStore()
	agent := config.Agent{Mode: config.ModePresence, URI: alice}
	if e := s.Explain(agent); e.Presence != nil || e.DialogKnown || !strings.HasPrefix(e.Rule, "no presence document known") {
		t.Errorf("nothing known: %+v", e)
	}
	mustApplyPresence(t, s, pidf(Status{Basic: BasicOpen, Note: "At my desk"}), true)
	mustApplyDialog(t, s, dialogs(1, true, Dialog{ID: "call-7", State: DialogConfirmed}), true)
	e := s.Explain(agent)
	if e.Availability != Busy || e.Rule != "presence open, dialog call-7 confirmed: busy" {
		t.Errorf("in a call: %+v", e)
	}
	if e.Presence == nil || e.Presence.Note != "At my desk" || !e.DialogKnown || e.Dialogs["call-7"] != DialogConfirmed {
		t.Errorf("state shown: %+v", e)
	}
	// The explanation holds copies: the store moving on does not change it.
	mustApplyDialog(t, s, dialogs(2, true), true)
	if e.Dialogs["call-7"] != DialogConfirmed {
		t.Error("the explanation's dialogs changed with the store")
	}
	if e := s.Explain(agent); e.Availability != Available || e.Rule != "presence open, no active dialog, not busy or away: available" {
		t.Errorf("call over: %+v", e)
	}
	s.Refuse(alice, EventDialog)
	if e := s.Explain(agent); !e.DialogRefused || e.Rule != "presence open, the PBX refuses the dialog package: presence only, busy detection limited, not busy or away: available" {
		t.Errorf("dialog refused: %+v", e)
	}
	b := config.Agent{Mode: config.ModeBoolean, BooleanURI: "sip:day@example.com"}
	if e := s.Explain(b); e.URI != "sip:day@example.com" || !strings.Contains(e.Rule, "nothing known of sip:day@example.com") {
		t.Errorf("boolean unknown: %+v", e)
	}
}
