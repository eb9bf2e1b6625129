package presence

import (
	"maps"
	"slices"
	"strings"

	"github.com/frontdesk-gw/frontdesk/config"
)

// Explanation is an agent's availability with what decided it, for
// operators (the admin view): the state the Store holds and, in words,
// the rule of the agent's mode that applied.
type Explanation struct {
	Availability Availability
	// Rule says which rule decided, e.g. "presence open, dialog d1
	// confirmed: busy".
	Rule string
	// URI is the address whose state counts: the agent's, or the boolean
	// object's in mode boolean; "" in modes always and inactive.
	URI string
	// Presence is URI's last presence status; nil when none is known.
	Presence *Status
	// DialogKnown says a dialog document of URI arrived; Dialogs are its
	// active dialogs by id.
	DialogKnown bool
	Dialogs     map[string]DialogState
	// PresenceRefused and DialogRefused say the PBX refuses that package
	// for URI (Refuse): the other one alone decides.
	PresenceRefused, DialogRefused bool
}

// Explain returns a's availability (as Availability decides it) and why.
func (s *Store) Explain(a config.Agent) Explanation {
	e := Explanation{}
	switch a.Mode {
	case config.ModePresence:
		e.URI = a.URI
	case config.ModeBoolean:
		e.URI = a.BooleanURI
	}
	if e.URI != "" {
		s.mu.RLock()
		if u := s.uris[e.URI]; u != nil {
			if u.presence != nil {
				st := *u.presence
				e.Presence = &st
			}
			e.DialogKnown = u.hasDialog
			e.Dialogs = maps.Clone(u.dialogs)
			e.PresenceRefused, e.DialogRefused = u.presenceRefused, u.dialogRefused
		}
		s.mu.RUnlock()
	}
	verdict, rule := e.rule(a.Mode, a.Source)
	e.Availability = s.Availability(a)
	if verdict != e.Availability {
		// Another NOTIFY came between the two reads.
		rule = "the state changed while it was read; reload to see why"
	}
	e.Rule = rule
	return e
}

// rule applies the rules of Availability to the state e holds.
func (e Explanation) rule(mode config.Mode, source config.Source) (Availability, string) {
	switch mode {
	case config.ModeAlways:
		return Available, "mode always: always available"
	case config.ModeInactive:
		return Offline, "mode inactive: never available"
	case config.ModeBoolean:
		switch {
		case e.Presence == nil:
			return Offline, "mode boolean: nothing known of " + e.URI + " yet: offline"
		case e.Presence.Basic == BasicOpen:
			return Available, "mode boolean: " + e.URI + " is open (true): available"
		}
		return Offline, "mode boolean: " + e.URI + " is " + e.Presence.Basic.String() + " (false): offline"
	case config.ModePresence:
		return e.presenceRule(source)
	}
	return Offline, "unknown mode " + string(mode) + ": offline"
}

// presenceRule is presenceAvailability in words.
func (e Explanation) presenceRule(source config.Source) (Availability, string) {
	withPresence := source != config.SourceDialog && !e.PresenceRefused
	withDialog := source != config.SourcePresence && !e.DialogRefused && e.DialogKnown
	switch {
	case withPresence:
		p := e.Presence
		switch {
		case p == nil:
			return Offline, "no presence document known (no NOTIFY with one yet, or the subscription is lost): offline"
		case p.Basic != BasicOpen:
			return Offline, "presence basic " + p.Basic.String() + ": offline"
		case p.Busy:
			return Busy, "presence open, RPID says busy (on the phone, busy, in a meeting): busy"
		case withDialog && len(e.Dialogs) > 0:
			return Busy, "presence open, " + e.activeDialogs() + ": busy"
		case !withDialog && p.NoteSaysBusy():
			return Busy, "presence open, the note \"" + p.Note + "\" reads as a call (" + e.noDialogs(source) + "): busy"
		case p.Away:
			return Offline, "presence open, RPID says away: offline (an absent agent is not shown as busy)"
		}
		dialog := "no active dialog"
		if !withDialog {
			dialog = e.noDialogs(source)
		}
		return Available, "presence open, " + dialog + ", not busy or away: available"
	case withDialog:
		why := "source dialog"
		if e.PresenceRefused {
			why = "the PBX refuses the presence package"
		}
		if len(e.Dialogs) > 0 {
			return Busy, why + ", " + e.activeDialogs() + ": busy"
		}
		return Available, why + ", no active dialog: available (a phone that is off looks idle)"
	}
	switch {
	case e.PresenceRefused && e.DialogRefused:
		return Offline, "the PBX refuses both the presence and the dialog package: offline"
	case source == config.SourceDialog && e.DialogRefused:
		return Offline, "source dialog, and the PBX refuses the dialog package: offline"
	}
	return Offline, "no dialog document known yet (" + map[bool]string{true: "the PBX refuses the presence package", false: "source dialog"}[e.PresenceRefused] + "): offline"
}

// activeDialogs lists the active dialogs, e.g. "dialog d1 confirmed".
func (e Explanation) activeDialogs() string {
	ids := slices.Sorted(maps.Keys(e.Dialogs))
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "dialog " + id + " " + string(e.Dialogs[id])
	}
	return strings.Join(parts, ", ")
}

// noDialogs says why dialog state does not count.
func (e Explanation) noDialogs(source config.Source) string {
	switch {
	case source == config.SourcePresence:
		return "dialog state not used: source presence"
	case e.DialogRefused:
		return "the PBX refuses the dialog package: presence only, busy detection limited"
	}
	return "no dialog state known"
}
