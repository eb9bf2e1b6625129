package widget

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/frontdesk-gw/frontdesk/bridge"
	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
)

// Hunt groups: a call to a group (widgets[].groups, or contactUsDest for
// the sidebar's "contact us" without a group) rings one member at a time,
// each for the group's ring time, and moves on when a member does not
// answer, is busy, declines or cannot be reached, until one answers or
// nobody is left. Members who are not available, whose turn belongs to a
// visitor waiting in line, whose calls are at max_calls_per_agent or who
// were rung too often (limits.calls.per_agent) are passed over.
//
// Every attempt is a bridge connection of its own, made from the one offer
// the browser sent: the browser gets its SDP answer only from the member
// who answers. A member's early media is therefore not played (its answer
// is held back until that member answers; the widget plays its own
// ringback), and the visitor is told CallInfo "trying" with the member's
// id at each attempt.

// contactUsDest is the dest the sidebar's "contact us" calls when the
// widget names no group (Session.contactUs): every agent of the widget.
const contactUsDest = "*"

// huntGroup is a group as a call uses it.
type huntGroup struct {
	id       string
	members  []string // agent ids, in the order they are tried
	random   bool
	ringTime time.Duration
}

// groupOf finds group id in w: one of its groups, or contactUsDest.
func groupOf(w *config.Widget, id string, calls config.Calls) *huntGroup {
	if id == contactUsDest {
		g := &huntGroup{id: id, random: w.EqualPriority, ringTime: config.DefaultContactRingTime(calls)}
		for _, a := range w.Agents {
			g.members = append(g.members, a.ID)
		}
		return g
	}
	for _, cg := range w.Groups {
		if cg.ID == id {
			return &huntGroup{id: id, members: cg.Members, random: cg.Order == config.OrderRandom, ringTime: cg.RingTime}
		}
	}
	return nil
}

// contactUsOf is what the sidebar's "contact us" calls: its group, else
// every agent; "" for other widgets.
func contactUsOf(w *config.Widget) string {
	switch {
	case w.Type != config.WidgetSidebar:
		return ""
	case w.ContactUs != "":
		return w.ContactUs
	}
	return contactUsDest
}

// hunt is a group call's progress. It belongs to the session goroutine.
type hunt struct {
	group    string
	left     []string // members still to try
	medium   config.Medium
	ringTime time.Duration
	offer    string // the browser's offer, for every attempt
	// context is what the visitor's form answered, told to each member.
	context chat.Context
	// attempt numbers the attempts; events of an earlier one are dropped.
	attempt  int
	early    string // the current member's early-media answer, held back
	answered bool
	stopped  bool          // the visitor hung up
	last     bridge.Reason // why the last attempt ended
}

// agentByID finds agent id in w.
func agentByID(w *config.Widget, id string) *config.Agent {
	for i := range w.Agents {
		if w.Agents[i].ID == id {
			return &w.Agents[i]
		}
	}
	return nil
}

// takes reports whether a takes medium.
func takes(a *config.Agent, medium config.Medium) bool {
	for _, m := range a.Media {
		if m == medium {
			return true
		}
	}
	return false
}

// reachable reports whether member a could be called (or chatted with)
// now: available with its hours, and not held for someone in line.
func (s *session) reachable(w *config.Widget, a *config.Agent, medium config.Medium) bool {
	if !takes(a, medium) || s.srv.agentState(w, a, s.srv.opts.Now()).presence != presence.Available {
		return false
	}
	code, _ := s.mayReach(a)
	return code == CodeUnknown
}

// createGroupCall is createCall for group g: it checks what can be
// checked before the offer (a member takes the medium and is reachable,
// the rates of this session, address and group) and keeps the members to
// try.
func (s *session) createGroupCall(w *config.Widget, g *huntGroup, m inbound) (ErrorCode, error) {
	medium := config.MediumVoice
	if m.Video {
		medium = config.MediumVideo
	}
	var members []string
	anyone := false
	for _, id := range g.members {
		a := agentByID(w, id)
		if a == nil || !takes(a, medium) {
			continue
		}
		members = append(members, id)
		anyone = anyone || s.reachable(w, a, medium)
	}
	switch {
	case len(members) == 0:
		return CodeMediumNotAllowed, fmt.Errorf("nobody in group %s takes %s", g.id, medium)
	case !anyone:
		return CodeAgentUnavailable, fmt.Errorf("nobody in group %s is available", g.id)
	}
	x, code, err := s.contactContext(w, m, true)
	if code != CodeUnknown {
		return code, err
	}
	// The session's and address's rates count the group call once; each
	// member it rings counts against the member's own (nextAttempt).
	rates := s.srv.state.Load().cfg.Limits.Calls
	rates.PerAgent = config.Rate{}
	if code, err := s.allowContact("calls", rates, "group "+w.ID+"/"+g.id); code != CodeUnknown {
		return code, err
	}
	if g.random {
		rand.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	}
	s.call = &callState{name: s.visitorName(w, m.DN), video: m.Video, release: func() {},
		hunt: &hunt{group: g.id, left: members, medium: medium, ringTime: g.ringTime, context: x}}
	s.endWait()
	return CodeUnknown, nil
}

// nextAttempt rings the next member who can take the call, or ends the
// call when nobody is left.
func (s *session) nextAttempt(cs *callState) error {
	h := cs.hunt
	cfg := s.srv.state.Load().cfg
	w := cfg.Widget(s.widgetID)
	for w != nil && len(h.left) > 0 {
		a := agentByID(w, h.left[0])
		h.left = h.left[1:]
		if a == nil || !s.reachable(w, a, h.medium) {
			continue
		}
		if !s.allowAgent("calls", cfg.Limits.Calls, a.URI) {
			s.srv.log.Info("group call passes over a member rung too often", "session", s.label, "group", h.group, "agent", a.ID)
			continue
		}
		limits := cfg.Calls
		if s.srv.calls.inUse() >= limits.MaxCalls {
			return s.endHunt(cs, bridge.ReasonTooManyCalls)
		}
		release, ok := s.srv.calls.acquire(a.URI, limits.MaxCalls, limits.MaxCallsPerAgent)
		if !ok {
			continue // the member's calls are at their limit
		}
		if release, ok = s.clusterCallSlot(release, a.URI, limits.MaxCallsPerAgent); !ok {
			continue
		}
		lines := &s.srv.lines
		free := release
		release = func() {
			free()
			lines.wake()
		}
		h.attempt++
		h.early, h.answered = "", false
		cs.agent, cs.release = *a, release
		cs.context = newCallContext(w, a, cs.name, h.context)
		if err := s.writeJSON(callInfoMsg{MT: mtCallInfo, State: callTrying, Dest: a.ID}); err != nil {
			release()
			return err
		}
		s.announceCall(cs.context)
		conn, err := s.connect(cs, a, h.offer, h.ringTime, huntObserver{s: s, cs: cs, attempt: h.attempt, release: release})
		if err != nil {
			release()
			if errors.Is(err, bridge.ErrNoCommonCodec) || errors.Is(err, bridge.ErrBadOffer) {
				return s.endHunt(cs, bridge.ReasonNoCommonCodec) // the offer: no member can do better
			}
			h.last = bridge.ReasonFailed
			s.srv.log.Info("group call: member not rung", "session", s.label, "group", h.group, "agent", a.ID, "err", err)
			continue
		}
		cs.conn = conn
		return nil
	}
	reason := h.last
	if reason == bridge.ReasonUnknown {
		reason = bridge.ReasonUnavailable
	}
	return s.endHunt(cs, reason)
}

// endHunt ends a group call that reached nobody.
func (s *session) endHunt(cs *callState, r bridge.Reason) error {
	if s.call == cs {
		s.call = nil
	}
	s.srv.log.Info("group call reached nobody", "session", s.label, "group", cs.hunt.group, "reason", r)
	return s.writeJSON(callInfoMsg{MT: mtCallInfo, State: string(bridge.StateTerminated), Reason: string(r)})
}

// movesOn says whether a group call tries the next member after an
// attempt that ended for r before it was answered: the member's side did
// not take it. A visitor's hang-up, a shutdown or a failure of the
// browser's media end the whole call.
func movesOn(r bridge.Reason) bool {
	switch r {
	case bridge.ReasonBusy, bridge.ReasonDeclined, bridge.ReasonNoAnswer, bridge.ReasonUnavailable,
		bridge.ReasonFailed, bridge.ReasonNoCommonCodec:
		return true
	}
	return false
}

// callTrying is the CallInfo state of a group call ringing a member.
const callTrying = "trying"

// huntObserver hands one attempt's progress to its session.
type huntObserver struct {
	s       *session
	cs      *callState
	attempt int
	release func() // the attempt's call slots
}

func (o huntObserver) current() bool {
	return o.s.call == o.cs && o.cs.hunt.attempt == o.attempt
}

func (o huntObserver) State(st bridge.State, answer string) {
	o.s.mail.post(func() error {
		if !o.current() {
			return nil
		}
		h := o.cs.hunt
		switch st {
		case bridge.StateEarly:
			// The browser takes one answer: hold it back until this member
			// answers (another member may).
			h.early = answer
			return o.s.writeJSON(callInfoMsg{MT: mtCallInfo, State: string(bridge.StateAlerting)})
		case bridge.StateConnected:
			if !h.answered && answer == "" {
				answer = h.early
			}
			h.answered = true
			o.cs.connected = true
		}
		m := callInfoMsg{MT: mtCallInfo, State: string(st)}
		if answer != "" {
			m.Cmd, m.SDP = "SELECT", answer
		}
		return o.s.writeJSON(m)
	})
}

func (o huntObserver) Ended(r bridge.Reason) {
	o.release()
	o.s.mail.post(func() error {
		if !o.current() {
			return nil
		}
		cs, h := o.cs, o.cs.hunt
		cs.conn = nil
		if h.stopped {
			r = bridge.ReasonByVisitor
		}
		if !h.answered && !h.stopped && movesOn(r) {
			h.last = r
			o.s.srv.log.Info("group call: next member", "session", o.s.label, "group", h.group, "after", cs.agent.ID, "reason", r)
			return o.s.nextAttempt(cs)
		}
		o.s.call = nil
		o.s.callEnded(cs)
		return o.s.writeJSON(callInfoMsg{MT: mtCallInfo, State: string(bridge.StateTerminated), Reason: string(r)})
	})
}

// connect places cs's call to agent a with the browser's offer, ringing
// at most ringTime.
func (s *session) connect(cs *callState, a *config.Agent, offer string, ringTime time.Duration, obs bridge.Observer) (callConn, error) {
	ctx, cancel := context.WithTimeout(s.srv.ctx, connectTimeout)
	defer cancel()
	conn, err := s.srv.dialCall(ctx, bridge.DialRequest{
		ID:           s.label,
		Target:       a.URI,
		DisplayName:  cs.name,
		BrowserOffer: offer,
		AllowVideo:   cs.video && takes(a, config.MediumVideo),
		RingTimeout:  ringTime,
		Headers:      cs.context.headers,
	}, obs)
	if err != nil {
		return nil, err
	}
	// The server waits for every call to end on both sides before it
	// closes, so shutdown leaves nothing half-open.
	s.srv.wg.Add(1)
	go func() {
		defer s.srv.wg.Done()
		<-conn.Done()
	}()
	return conn, nil
}
