package widget

import (
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
)

// maxHoursSleep bounds one wait for the next opening or closing, so a
// wall clock set forward or back (NTP, a suspended host) is noticed
// within it.
const maxHoursSleep = time.Hour

// agentState is what visitors see of one agent at one moment: its
// availability with its hours applied.
type agentState struct {
	presence presence.Availability
	// closed: outside its hours (then presence is Offline); opens is when
	// they open next (zero: not within a year).
	closed bool
	opens  time.Time
}

// agentState combines agent a's availability (by its mode) with the
// hours it keeps (its own, else its widget's): outside them it is not
// available, whatever its mode says.
func (s *Server) agentState(w *config.Widget, a *config.Agent, now time.Time) agentState {
	if open, next := w.HoursOf(a).Open(now); !open {
		return agentState{presence: presence.Offline, closed: true, opens: next}
	}
	return agentState{presence: s.opts.Availability.Availability(*a)}
}

// nextHoursChange is the first moment after now at which any hours of
// cfg open or close (zero when none do within a year); any says whether
// cfg has hours at all.
func nextHoursChange(cfg *config.Config, now time.Time) (first time.Time, any bool) {
	note := func(h *config.Hours) {
		if h == nil {
			return
		}
		any = true
		if _, next := h.Open(now); !next.IsZero() && (first.IsZero() || next.Before(first)) {
			first = next
		}
	}
	for i := range cfg.Widgets {
		w := &cfg.Widgets[i]
		note(w.Hours)
		for j := range w.Agents {
			note(w.Agents[j].Hours)
		}
	}
	return first, any
}

// runHours re-evaluates availability when hours open or close: it sleeps
// until the next change of any hours in the config, then moves the hours
// epoch (views are rebuilt) and tells the sessions through the hub. A new
// config wakes it (hoursKick).
func (s *Server) runHours() {
	defer s.wg.Done()
	for {
		now := s.opts.Now()
		var timer <-chan time.Time // none without hours: only a new config matters
		if next, any := nextHoursChange(s.state.Load().cfg, now); any {
			wait := maxHoursSleep
			if !next.IsZero() && next.Sub(now) < wait {
				wait = max(next.Sub(now), 0)
			}
			timer = s.opts.After(wait)
		}
		select {
		case <-s.ctx.Done():
			return
		case <-s.hoursKick:
			continue
		case <-timer:
		}
		s.hoursEpoch.Add(1)
		s.opts.Hub.Changed()
	}
}
