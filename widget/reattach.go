package widget

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/frontdesk-gw/frontdesk/bridge"
)

// callConn is what a session does with a placed call: a
// *bridge.Connection (Server.dial places calls without a PBX in tests).
type callConn interface {
	Hangup(r bridge.Reason)
	QueueDTMF(digit byte) error
	Done() <-chan struct{}
	Detach() error
	Reattach(offer string) (string, error)
	Reattachable() bool
}

// dialCall places a call through Options.Calls.
func (s *Server) dialCall(ctx context.Context, req bridge.DialRequest, obs bridge.Observer) (callConn, error) {
	if s.dial != nil {
		return s.dial(ctx, req, obs)
	}
	conn, err := s.opts.Calls.Connect(ctx, req, obs)
	if err != nil {
		return nil, err
	}
	if conn == nil {
		return nil, errors.New("the call placer returned no connection")
	}
	return conn, nil
}

// callHolder says which session a call's events go to. A parked call
// belongs to nobody until a new page's CallResume takes it; Ended and the
// hand-over are ordered by mu, so a call that ends while it moves is never
// given to the new page.
type callHolder struct {
	mu     sync.Mutex
	owner  *session // nil: the session that placed the call
	ended  bool     // Ended was reported
	parked string   // the token it waits under, "" when attached
	// token is the resume token the widget was given for the current
	// browser leg (worker-owned).
	token string
}

// session is the session that holds the call now.
func (h *callHolder) session(placer *session) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.owner != nil {
		return h.owner
	}
	return placer
}

// end records that the call ended and returns its session and the token
// it is parked under, if any.
func (h *callHolder) end(placer *session) (*session, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = true
	owner := placer
	if h.owner != nil {
		owner = h.owner
	}
	return owner, h.parked
}

// resumable says whether cs may wait for the visitor's next page when its
// websocket is lost: answered, to one agent (a group call's attempts are
// separate connections), on a WebRTC stack that can replace its browser
// leg (not lite), with calls.reattach_grace on.
func (s *session) resumable(cs *callState) bool {
	return cs.connected && cs.hunt == nil && cs.conn != nil && cs.conn.Reattachable() &&
		s.srv.state.Load().cfg.Calls.Reattach() > 0
}

// resumeToken is the token the connected CallInfo carries: one per browser
// leg, "" when the call cannot be resumed.
func (s *session) resumeToken(cs *callState) string {
	if !s.resumable(cs) {
		return ""
	}
	if cs.hold.token == "" {
		cs.hold.token = newResumeToken()
	}
	return cs.hold.token
}

// park keeps cs for the visitor's next page instead of hanging it up: its
// browser leg is dropped, its SIP leg waits calls.reattach_grace. False
// when it cannot (the caller hangs up as before).
func (s *session) park(cs *callState) bool {
	token := cs.hold.token
	if token == "" || !s.resumable(cs) || s.srv.draining() {
		return false
	}
	if err := cs.conn.Detach(); err != nil {
		s.srv.log.Info("call not kept for the next page", "session", s.label, "err", err)
		return false
	}
	grace := s.srv.state.Load().cfg.Calls.Reattach()
	h := &cs.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended || !s.srv.parked.park(token, s.widgetID, s.origin, cs, grace, s.srv.expireParked) {
		return false
	}
	h.parked = token
	s.srv.log.Info("call waits for the visitor's next page", "session", s.label, "agent", cs.agent.ID, "grace", grace)
	return true
}

// expireParked hangs up a call whose page did not come back in time.
func (s *Server) expireParked(cs *callState) {
	cs.hold.mu.Lock()
	cs.hold.parked = ""
	cs.hold.mu.Unlock()
	s.log.Info("parked call ended: the visitor did not come back", "agent", cs.agent.ID)
	cs.conn.Hangup(bridge.ReasonByVisitor)
}

// hangUpParked ends every parked call and parks no more (the gateway
// drains or closes: no page can come back to it).
func (s *Server) hangUpParked() {
	for _, cs := range s.parked.closeAll() {
		cs.conn.Hangup(bridge.ReasonShuttingDown)
	}
}

// resumeCall answers CallResume with a token: the parked call gets the new
// page's offer as its browser leg, and this session holds it from now on.
// Any failure is the "lost" answer; a call whose offer does not fit ends.
func (s *session) resumeCall(m inbound) (ErrorCode, error) {
	lost := callInfoMsg{MT: mtCallInfo, State: string(bridge.StateTerminated), Reason: reasonLost}
	cs := s.srv.parked.take(m.Token, s.widgetID, s.origin)
	if cs == nil {
		return CodeUnknown, s.writeJSON(lost)
	}
	h := &cs.hold
	h.mu.Lock()
	ended := h.ended
	h.parked = ""
	h.mu.Unlock()
	if ended {
		return CodeUnknown, s.writeJSON(lost)
	}
	answer, err := cs.conn.Reattach(m.SDP)
	if err != nil {
		s.srv.log.Info("call not re-attached", "session", s.label, "err", err)
		cs.conn.Hangup(bridge.ReasonFailed)
		return CodeUnknown, s.writeJSON(lost)
	}
	h.mu.Lock()
	ended = h.ended
	h.owner = s
	h.mu.Unlock()
	if ended {
		return CodeUnknown, s.writeJSON(lost)
	}
	s.call = cs
	h.token = newResumeToken()
	s.srv.log.Info("call re-attached", "session", s.label, "agent", cs.agent.ID)
	resumed := callInfoMsg{MT: mtCallInfo, State: string(bridge.StateConnected), Cmd: "SELECT", SDP: answer, Resume: h.token}
	if p := cs.party.Load(); p != nil {
		resumed.Party = *p
	}
	if err := s.writeJSON(resumed); err != nil {
		return CodeUnknown, fmt.Errorf("answer CallResume: %w", err)
	}
	return CodeUnknown, nil
}

// ParkedCalls returns the calls waiting for their visitor's next page.
func (s *Server) ParkedCalls() int { return s.parked.len() }

// ReattachedCalls returns how many parked calls a new page took back.
func (s *Server) ReattachedCalls() uint64 { return s.parked.reattached.Load() }

// ExpiredParkedCalls returns how many parked calls ended because their
// visitor did not come back within calls.reattach_grace.
func (s *Server) ExpiredParkedCalls() uint64 { return s.parked.expired.Load() }
