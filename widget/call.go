package widget

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/frontdesk-gw/frontdesk/bridge"
	"github.com/frontdesk-gw/frontdesk/config"
)

// Calls places calls: the gateway's bridge engine with its SIP user agent.
type Calls interface {
	Connect(ctx context.Context, req bridge.DialRequest, obs bridge.Observer) (*bridge.Connection, error)
}

const (
	// connectTimeout bounds placing a call (SDP checks, INVITE sent).
	connectTimeout = 10 * time.Second
)

// callState is a session's call, from CreateCall to its end.
type callState struct {
	agent   config.Agent
	name    string
	video   bool
	release func() // frees the call-limit slots, once
	conn    callConn
	context callContext // what the agent learns besides the name
	// connected: the agent answered, so the visitor may rate the call.
	connected bool
	// hunt is set for a call to a group: its members are tried one at a
	// time (hunt.go); agent and release are the current member's.
	hunt *hunt
	// hold is the session the call's events go to, which changes when a
	// new page resumes it (reattach.go).
	hold callHolder
	// party is who took the call after a transfer, for the next page that
	// resumes it; written by one session, read by the next.
	party atomic.Pointer[string]
	// placing and placed time the gateway's part of setting the call up:
	// Channels taken, INVITE sent (Options.CallSetup); zero for a group.
	placing, placed time.Time
}

// callObserver hands a connection's progress to its session.
type callObserver struct {
	s  *session
	cs *callState
}

func (o callObserver) State(st bridge.State, answer string) {
	s := o.cs.hold.session(o.s)
	at := time.Now()
	s.mail.post(func() error {
		if s.call != o.cs {
			return nil
		}
		first := st == bridge.StateConnected && !o.cs.connected
		o.cs.connected = o.cs.connected || st == bridge.StateConnected
		m := callInfoMsg{MT: mtCallInfo, State: string(st)}
		if answer != "" {
			m.Cmd, m.SDP = "SELECT", answer
		}
		if st == bridge.StateConnected {
			m.Resume = s.resumeToken(o.cs)
		}
		err := s.writeJSON(m)
		if first && err == nil && !o.cs.placed.IsZero() && s.srv.opts.CallSetup != nil {
			s.srv.opts.CallSetup(o.cs.placed.Sub(o.cs.placing)+time.Since(at), at.Sub(o.cs.placed))
		}
		return err
	})
}

func (o callObserver) Ended(r bridge.Reason) {
	o.cs.release()
	s, parked := o.cs.hold.end(o.s)
	if parked != "" {
		s.srv.parked.drop(parked, o.cs)
	}
	s.mail.post(func() error {
		if s.call != o.cs {
			return nil
		}
		s.call = nil
		s.callEnded(o.cs)
		return s.writeJSON(callInfoMsg{MT: mtCallInfo, State: string(bridge.StateTerminated), Reason: string(r)})
	})
}

// handleCall serves the call messages of the Widget-API.
func (s *session) handleCall(m inbound) (ErrorCode, error) {
	if s.srv.opts.Calls == nil {
		return CodeMediumNotAllowed, errors.New("calls are not enabled on this gateway")
	}
	switch m.MT {
	case mtCreateCall:
		return s.createCall(m)
	case mtChannels:
		return s.placeCall(m)
	case mtCallResume:
		return s.callResume(m)
	}
	if s.call == nil {
		return CodeNoCall, fmt.Errorf("%s without a call", m.MT)
	}
	switch m.MT {
	case mtClearCall:
		if s.call.hunt != nil {
			s.call.hunt.stopped = true // no next member
		}
		if s.call.conn == nil {
			s.call.release()
			s.call = nil
			return CodeUnknown, s.writeJSON(callInfoMsg{MT: mtCallInfo, State: string(bridge.StateTerminated),
				Reason: string(bridge.ReasonByVisitor)})
		}
		s.call.conn.Hangup(bridge.ReasonByVisitor)
	case mtDtmf:
		if s.call.conn == nil {
			return CodeNoCall, errors.New("Dtmf before the call was placed")
		}
		// The call's own queue sends keys one at a time and refuses a key
		// when too many wait; the call goes on either way.
		if err := s.call.conn.QueueDTMF(m.Digit[0]); errors.Is(err, bridge.ErrDTMFQueueFull) {
			return CodeDTMFQueueFull, errors.New("too many keys are waiting to be sent; this key was not sent")
		} else if err != nil {
			s.srv.log.Info("DTMF not queued", "session", s.label, "err", err)
		}
	}
	return CodeUnknown, nil
}

// createCall checks everything a call needs before anything reaches the PBX:
// the agent is in this widget, takes the medium, is available, and the limits
// allow another call.
func (s *session) createCall(m inbound) (ErrorCode, error) {
	if s.call != nil {
		return CodeCallInProgress, errors.New("a call is already running")
	}
	if w := s.srv.state.Load().cfg.Widget(s.widgetID); w != nil {
		if g := groupOf(w, m.Dest, s.srv.state.Load().cfg.Calls); g != nil {
			return s.createGroupCall(w, g, m)
		}
	}
	medium := config.MediumVoice
	if m.Video {
		medium = config.MediumVideo
	}
	w, a, code, err := s.reachableAgent(m.Dest, medium)
	if code != CodeUnknown {
		return code, err
	}
	x, code, err := s.contactContext(w, m, true)
	if code != CodeUnknown {
		return code, err
	}
	cfg := s.srv.state.Load().cfg
	if code, err := s.allowContact("calls", cfg.Limits.Calls, a.URI); code != CodeUnknown {
		return code, err
	}
	limits := cfg.Calls
	release, ok := s.srv.calls.acquire(a.URI, limits.MaxCalls, limits.MaxCallsPerAgent)
	if !ok {
		return CodeTooManyCalls, fmt.Errorf("call limit reached for %s", a.ID)
	}
	if release, ok = s.clusterCallSlot(release, a.URI, limits.MaxCallsPerAgent); !ok {
		return CodeTooManyCalls, fmt.Errorf("call limit reached for %s across the cluster", a.ID)
	}
	lines := &s.srv.lines
	free := release
	release = func() {
		free()
		lines.wake() // the agent may be free for someone waiting
	}
	name := s.visitorName(w, m.DN)
	s.call = &callState{agent: *a, name: name, video: m.Video, release: release, context: newCallContext(w, a, name, x)}
	s.endWait() // the call it waited for, if any
	return CodeUnknown, nil
}

// clusterCallSlot adds the cluster's slot of max_calls_per_agent to the
// node's own (release frees both); ok false (and the node's slot freed)
// when another node's calls fill the agent's. Out of reach, the node's
// count alone decides.
func (s *session) clusterCallSlot(release func(), agent string, perAgent int) (func(), bool) {
	cl := s.srv.opts.Cluster
	if cl == nil || perAgent <= 0 {
		return release, true
	}
	free, ok, err := cl.AcquireCall(agent, s.label, perAgent)
	switch {
	case err != nil:
		s.srv.log.Debug("cluster call slots out of reach; counting on this node", "err", err)
		return release, true
	case !ok:
		release()
		return nil, false
	}
	return func() { release(); free() }, true
}

// placeCall takes the browser's offer and places the call.
func (s *session) placeCall(m inbound) (ErrorCode, error) {
	if s.call == nil || s.call.conn != nil {
		return CodeNoCall, errors.New("Channels without a new call")
	}
	cs := s.call
	if cs.hunt != nil {
		cs.hunt.offer = m.SDP
		return CodeUnknown, s.nextAttempt(cs)
	}
	cs.placing = time.Now()
	s.announceCall(cs.context)
	conn, err := s.connect(cs, &cs.agent, m.SDP, s.srv.state.Load().cfg.Calls.RingTimeout, callObserver{s: s, cs: cs})
	if err != nil {
		cs.release()
		s.call = nil
		reason := bridge.ReasonFailed
		if errors.Is(err, bridge.ErrNoCommonCodec) || errors.Is(err, bridge.ErrBadOffer) {
			reason = bridge.ReasonNoCommonCodec
		}
		s.srv.log.Info("call not placed", "session", s.label, "agent", cs.agent.ID, "err", err)
		return CodeUnknown, s.writeJSON(callInfoMsg{MT: mtCallInfo, State: string(bridge.StateTerminated), Reason: string(reason)})
	}
	cs.conn, cs.placed = conn, time.Now()
	return CodeUnknown, nil
}

// endCall hangs up the session's call when the session ends.
func (s *session) endCall(code ErrorCode) {
	cs := s.call
	if cs == nil {
		return
	}
	s.call = nil
	if cs.conn == nil {
		cs.release()
		return
	}
	if code == CodeUnknown && s.park(cs) {
		return // the visitor's next page may take it back
	}
	reason := bridge.ReasonByVisitor
	if code == CodeShuttingDown {
		reason = bridge.ReasonShuttingDown
	}
	cs.conn.Hangup(reason)
}

// reasonLost answers CallResume for a call that is gone: it was not kept
// (a group call, the lite stack, re-attaching off), its grace ran out, its
// token was used or is another widget's, or the page came back to another
// gateway node.
const reasonLost = "lost"

// callResume answers a widget that had a call when its connection was
// lost: with the call's resume token it re-attaches it (resumeCall);
// without one the call is over, and the widget may offer to call again.
func (s *session) callResume(m inbound) (ErrorCode, error) {
	if s.call != nil {
		return CodeCallInProgress, errors.New("a call is running on this connection")
	}
	if m.Token != "" {
		return s.resumeCall(m)
	}
	return CodeUnknown, s.writeJSON(callInfoMsg{MT: mtCallInfo, State: string(bridge.StateTerminated), Reason: reasonLost})
}

// Calls returns the number of running calls.
func (s *Server) Calls() int { return s.calls.inUse() }

// CallsByAgent returns the running calls per agent address
// (config.Agent.URI), for the admin view.
func (s *Server) CallsByAgent() map[string]int { return s.calls.byKey() }
