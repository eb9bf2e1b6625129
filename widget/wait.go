package widget

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
)

// Waiting in line ("wait for Anna"): a visitor whose agent is busy (on the
// phone, in a chat, at calls.max_calls_per_agent) waits in the agent's
// line, one line per agent address on this node. When the agent is free,
// the first in line gets the turn: the agent is held for them for
// queue.hold (nobody else reaches the agent, Info shows them busy) while
// the widget starts the call or chat, which is then placed as any other
// (limits and rate limits apply). Lines end cleanly: after queue.max_wait,
// a turn not taken in time, an agent who went away, or the visitor
// leaving.

const (
	// waitRecheck is how often lines are looked at besides the events
	// that free agents: a chat that ends by itself (its resume grace
	// passed) or a call on another node is no event here.
	waitRecheck = 5 * time.Second
	// waitOfflineGrace: an agent offline (or closed) this long ends their
	// line; shorter absences (a subscription that is renewed) do not.
	waitOfflineGrace = 20 * time.Second
)

// Why a wait ended (WaitEnded reason).
const (
	waitReady       = "ready"       // the agent is free and held for this visitor
	waitTimeout     = "timeout"     // queue.max_wait passed
	waitMissed      = "missed"      // the turn was not taken within queue.hold
	waitUnavailable = "unavailable" // the agent went away, or out of the config
	waitCancelled   = "cancelled"   // the visitor left the line (WaitCancel)
)

// waiter is one visitor in a line. Its fields are guarded by waitLines.mu,
// except sess, widgetID, agentID, uri, medium and since, fixed at join.
type waiter struct {
	sess     *session
	widgetID string
	agentID  string
	uri      string
	medium   config.Medium
	since    time.Time
	deadline time.Time // since + max_wait
	told     int       // the position last told
	ready    bool      // its turn: the first of its line, the agent held
}

// waitLine is the visitors waiting for one agent, in order.
type waitLine struct {
	waiters      []*waiter
	heldUntil    time.Time // while waiters[0].ready
	offlineSince time.Time // zero while the agent is not offline
}

// waitLines holds every line of this node.
type waitLines struct {
	mu    sync.Mutex
	lines map[string]*waitLine // by agent URI
	total int
	// kick wakes runLines; epoch moves when an agent's hold starts or
	// ends, so views are rebuilt (a held agent shows busy).
	kick  chan struct{}
	epoch atomic.Uint64
	// looks counts evaluations, for tests that wait for one.
	looks atomic.Uint64
}

func (l *waitLines) init() {
	l.lines = map[string]*waitLine{}
	l.kick = make(chan struct{}, 1)
}

// wake asks runLines to look at the lines again.
func (l *waitLines) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// join puts w at the end of its agent's line unless that holds perAgent
// visitors or all lines total; it returns w's position.
func (l *waitLines) join(w *waiter, perAgent, total int) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := l.lines[w.uri]
	if line == nil {
		line = &waitLine{}
	}
	if len(line.waiters) >= perAgent || l.total >= total {
		return 0, false
	}
	line.waiters = append(line.waiters, w)
	l.lines[w.uri] = line
	l.total++
	w.told = len(line.waiters)
	return w.told, true
}

// leave takes w out of its line; false when it was not in one.
func (l *waitLines) leave(w *waiter) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.removeLocked(w)
}

func (l *waitLines) removeLocked(w *waiter) bool {
	line := l.lines[w.uri]
	if line == nil {
		return false
	}
	for i, x := range line.waiters {
		if x != w {
			continue
		}
		line.waiters = append(line.waiters[:i], line.waiters[i+1:]...)
		l.total--
		if w.ready {
			line.heldUntil = time.Time{}
			l.epoch.Add(1)
		}
		if len(line.waiters) == 0 {
			delete(l.lines, w.uri)
		}
		return true
	}
	return false
}

// turn says who may reach the agent at uri: anyone (waiting false), or
// only the session whose turn it is (nil while the first in line waits
// for the agent to be free).
func (l *waitLines) turn(uri string) (sess *session, waiting bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := l.lines[uri]
	if line == nil || len(line.waiters) == 0 {
		return nil, false
	}
	if head := line.waiters[0]; head.ready {
		return head.sess, true
	}
	return nil, true
}

// held reports whether the agent at uri is held for a visitor's turn.
func (l *waitLines) held(uri string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := l.lines[uri]
	return line != nil && len(line.waiters) > 0 && line.waiters[0].ready
}

// waiting returns the number of visitors in line on this node.
func (l *waitLines) waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Waiting returns the number of visitors waiting in line.
func (s *Server) Waiting() int { return s.lines.waiting() }

// agentFree says whether agent a of w could take medium now (free), or is
// not there at all (offline: not available and not busy, or closed).
// Holds are not counted: they are the lines' own.
func (s *Server) agentFree(w *config.Widget, a *config.Agent, medium config.Medium, now time.Time) (free, offline bool) {
	switch s.agentState(w, a, now).presence {
	case presence.Available:
	case presence.Busy:
		return false, false
	default:
		return false, true
	}
	calls := s.calls.count(a.URI)
	if medium == config.MediumChat {
		// On a call through this gateway is busy, before the PBX says so.
		return calls == 0 && (s.opts.Chat == nil || !s.opts.Chat.AgentBusy(a.URI)), false
	}
	limit := s.state.Load().cfg.Calls.MaxCallsPerAgent
	return limit <= 0 || calls < limit, false
}

// runLines looks at the lines whenever something may have freed an agent
// (presence, a call or chat that ended, a new config), at the next
// deadline, and every waitRecheck while anyone waits.
func (s *Server) runLines() {
	defer s.wg.Done()
	watcher := s.opts.Hub.Watch()
	defer watcher.Close()
	for {
		var timer <-chan time.Time
		now := s.opts.Now()
		if next, any := s.evaluateLines(now); any {
			wait := waitRecheck
			if !next.IsZero() && next.Sub(now) < wait {
				wait = max(next.Sub(now), 0)
			}
			timer = s.opts.After(wait)
		}
		select {
		case <-s.ctx.Done():
			return
		case <-s.lines.kick:
		case <-watcher.C():
		case <-timer:
		}
	}
}

// lineNote is what evaluateLines tells one waiting session.
type lineNote struct {
	w   *waiter
	msg any
	end bool // the wait is over
}

// evaluateLines moves every line on at now: waits that ended leave, the
// first in line gets the turn when the agent is free, positions that
// changed are told. It returns the next deadline (zero: none) and
// whether anyone waits.
func (s *Server) evaluateLines(now time.Time) (next time.Time, any bool) {
	cfg := s.state.Load().cfg
	l := &s.lines
	var notes []lineNote
	end := func(w *waiter, reason string) {
		l.removeLocked(w)
		notes = append(notes, lineNote{w: w, msg: waitEndedMsg{MT: mtWaitEnded, Dest: w.agentID, Reason: reason}, end: true})
	}
	soonest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	epoch := l.epoch.Load()
	l.mu.Lock()
	for uri, line := range l.lines {
		for _, w := range append([]*waiter(nil), line.waiters...) {
			switch wc, _ := waiterConfig(cfg, w); {
			case wc == nil:
				end(w, waitUnavailable)
			case w.ready && !now.Before(line.heldUntil):
				end(w, waitMissed)
			case !w.ready && !now.Before(w.deadline):
				end(w, waitTimeout)
			}
		}
		if l.lines[uri] == nil {
			continue
		}
		head := line.waiters[0]
		w, a := waiterConfig(cfg, head)
		free, offline := s.agentFree(w, a, head.medium, now)
		switch {
		case !offline:
			line.offlineSince = time.Time{}
		case line.offlineSince.IsZero():
			line.offlineSince = now
		case now.Sub(line.offlineSince) >= waitOfflineGrace:
			for _, x := range append([]*waiter(nil), line.waiters...) {
				end(x, waitUnavailable)
			}
			continue
		}
		if !head.ready && free {
			head.ready = true
			line.heldUntil = now.Add(w.Queue.Hold)
			l.epoch.Add(1)
			notes = append(notes, lineNote{w: head, msg: waitEndedMsg{MT: mtWaitEnded, Dest: head.agentID, Reason: waitReady,
				Hold: int(w.Queue.Hold / time.Second), Confirm: now.Sub(head.since) >= *w.Queue.ConfirmAfter}})
		}
		for i, x := range line.waiters {
			if !x.ready && x.told != i+1 {
				x.told = i + 1
				notes = append(notes, lineNote{w: x, msg: waitInfoMsg{MT: mtWaitInfo, Dest: x.agentID, Position: i + 1}})
			}
			soonest(x.deadline)
		}
		if head.ready {
			soonest(line.heldUntil)
		}
		if !line.offlineSince.IsZero() {
			soonest(line.offlineSince.Add(waitOfflineGrace))
		}
	}
	any = l.total > 0
	l.mu.Unlock()
	defer l.looks.Add(1)
	if l.epoch.Load() != epoch {
		s.opts.Hub.Changed() // a hold began or ended: views show it
	}
	for _, n := range notes {
		n := n
		n.w.sess.mail.post(func() error {
			sess := n.w.sess
			if sess.wait != n.w {
				return nil
			}
			if n.end {
				sess.wait = nil
			}
			return sess.writeJSON(n.msg)
		})
	}
	return next, any
}

// waiterConfig finds w's widget and agent in cfg; nil when either is gone
// or the widget no longer lets visitors wait.
func waiterConfig(cfg *config.Config, w *waiter) (*config.Widget, *config.Agent) {
	wc := cfg.Widget(w.widgetID)
	if wc == nil || wc.Queue == nil {
		return nil, nil
	}
	for i := range wc.Agents {
		if a := &wc.Agents[i]; a.ID == w.agentID && a.URI == w.uri {
			return wc, a
		}
	}
	return nil, nil
}

// handleWait serves Wait and WaitCancel.
func (s *session) handleWait(m inbound) (ErrorCode, error) {
	if m.MT == mtWaitCancel {
		if w := s.wait; w != nil {
			s.endWait()
			return CodeUnknown, s.writeJSON(waitEndedMsg{MT: mtWaitEnded, Dest: w.agentID, Reason: waitCancelled})
		}
		return CodeUnknown, nil // nothing to leave
	}
	switch {
	case s.wait != nil:
		return CodeAlreadyWaiting, errors.New("this session waits in line already")
	case s.call != nil:
		return CodeCallInProgress, errors.New("a call is running")
	case s.chat != nil:
		return CodeChatInProgress, errors.New("a chat is open")
	}
	cfg := s.srv.state.Load().cfg
	w := cfg.Widget(s.widgetID)
	if w == nil {
		return CodeWidgetRemoved, errors.New("the widget was removed")
	}
	if w.Queue == nil {
		return CodeNoQueue, errors.New("this widget lets nobody wait in line")
	}
	medium := config.Medium(m.Medium)
	a, code, err := s.agentFor(w, m.Dest, medium)
	if code != CodeUnknown {
		return code, err
	}
	now := s.srv.opts.Now()
	if _, offline := s.srv.agentFree(w, a, medium, now); offline {
		return CodeAgentUnavailable, fmt.Errorf("agent %s is not there to wait for", a.ID)
	}
	wt := &waiter{sess: s, widgetID: w.ID, agentID: a.ID, uri: a.URI, medium: medium, since: now, deadline: now.Add(w.Queue.MaxWait)}
	pos, ok := s.srv.lines.join(wt, w.Queue.MaxWaiting, cfg.Limits.MaxWaiting)
	if !ok {
		return CodeQueueFull, fmt.Errorf("the line for %s is full", a.ID)
	}
	s.wait = wt
	s.srv.lines.wake()
	s.srv.log.Info("waiting in line", "session", s.label, "agent", a.ID, "medium", medium, "position", pos)
	return CodeUnknown, s.writeJSON(waitInfoMsg{MT: mtWaitInfo, Dest: a.ID, Position: pos})
}

// agentFor finds agent id of w and checks that it takes medium.
func (s *session) agentFor(w *config.Widget, id string, medium config.Medium) (*config.Agent, ErrorCode, error) {
	for i := range w.Agents {
		a := &w.Agents[i]
		if a.ID != id {
			continue
		}
		for _, md := range a.Media {
			if md == medium {
				return a, CodeUnknown, nil
			}
		}
		return nil, CodeMediumNotAllowed, fmt.Errorf("agent %s does not take %s", a.ID, medium)
	}
	return nil, CodeUnknownAgent, fmt.Errorf("no agent %q in this widget", truncate(id, 64))
}

// mayReach checks that no one waits for agent a but, maybe, this session
// at its turn: while visitors wait for an agent, only the first of them
// reaches them.
func (s *session) mayReach(a *config.Agent) (ErrorCode, error) {
	if sess, waiting := s.srv.lines.turn(a.URI); waiting && sess != s {
		return CodeAgentBusy, &visitorError{text: "other visitors are waiting for this contact", err: fmt.Errorf("agent %s", a.ID)}
	}
	return CodeUnknown, nil
}

// endWait takes the session out of its line, if it waits (a call or chat
// started, the session ended, the visitor left the line).
func (s *session) endWait() {
	if s.wait == nil {
		return
	}
	l := &s.srv.lines
	epoch := l.epoch.Load()
	if l.leave(s.wait) {
		l.wake()
		if l.epoch.Load() != epoch {
			s.srv.opts.Hub.Changed() // the agent was held for this session: views show them free
		}
	}
	s.wait = nil
}
