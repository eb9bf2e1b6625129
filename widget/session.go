package widget

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/gorilla/websocket"
)

const (
	writeTimeout = 10 * time.Second
	// pongWait bounds how long a session may stay silent, pongs included.
	pongWaitFactor = 2
	// Visitor message rate: a steady rate and a burst (token bucket).
	msgRate  = 10.0 // per second
	msgBurst = 30.0
)

// session is one visitor's websocket. While idle it holds one goroutine:
// run, blocked reading the websocket. Everything else that happens to the
// session (a visitor message, a presence change, a call or chat event, the
// ping timer, shutdown) is an event that kick hands to the session's worker,
// a goroutine started on demand that handles the events pending and ends.
// There is at most one worker at a time, so the session's state has one
// owner at any moment: the worker while it runs, run once the session ends.
type session struct {
	srv    *Server
	conn   *websocket.Conn
	ip     string
	origin string
	label  string // random id for logs and TURN usernames

	widgetID string
	lang     string
	sentSess uint64            // hash of the last Session sent
	sent     map[string]uint64 // agent id → hash of the last Info sent

	mail *mailbox

	call    *callState // nil when no call
	chat    *chatState // nil when no chat
	wait    *waiter    // nil when not waiting in line
	leaving bool       // a LeaveMessage is being delivered
	// after is the last call or chat that ended, for Rate and
	// SendTranscript (aftercontact.go); nil when none.
	after *afterContact

	// Worker-owned.
	watcher *presence.Watcher // from Start on
	ping    *time.Timer       // from Start on
	drained bool              // the server drains: end once no call runs
	ended   bool              // end was called; run tears the session down
	endCode ErrorCode
	endErr  error
	over    chan struct{} // closed by end

	// kickMu guards the hand-over to the worker.
	kickMu  sync.Mutex
	pending events
	inbox   []byte // the visitor message of evMessage
	working bool   // a worker runs
	stopped bool   // run is tearing down: no more workers
	workers sync.WaitGroup
	// taken tells run the worker took its message, so it may read the next
	// (one message waits at most, as a one-slot queue would).
	taken chan struct{}

	// deadlineMu orders extending the read deadline (pongs, messages)
	// against interrupting the read when the session ends.
	deadlineMu  sync.Mutex
	interrupted bool
}

// events are what kick asks the worker to handle; several coalesce.
type events uint8

const (
	evMessage      events = 1 << iota // a visitor message is in inbox
	evMail                            // the mailbox has work
	evRefresh                         // presence or config changed
	evPing                            // time to ping
	evStartTimeout                    // Start did not come in time
	evShutdown                        // the server closes
	evDrain                           // the server drains
)

func newSession(srv *Server, conn *websocket.Conn, ip, origin string) *session {
	var b [6]byte
	_, _ = rand.Read(b[:])
	s := &session{
		srv:    srv,
		conn:   conn,
		ip:     ip,
		origin: origin,
		label:  hex.EncodeToString(b[:]),
		taken:  make(chan struct{}, 1),
		over:   make(chan struct{}),
	}
	s.mail = newMailbox(func() { s.kick(evMail) })
	return s
}

// kick hands events to the worker, starting one unless it runs. It reports
// false once the session is tearing down (the events are dropped).
func (s *session) kick(ev events) bool { return s.hand(ev, nil) }

// hand is kick with the visitor message of evMessage.
func (s *session) hand(ev events, msg []byte) bool {
	s.kickMu.Lock()
	defer s.kickMu.Unlock()
	if s.stopped {
		return false
	}
	if msg != nil {
		s.inbox = msg
	}
	s.pending |= ev
	if !s.working {
		s.working = true
		s.workers.Add(1)
		go s.work()
	}
	return true
}

// work handles pending events until there are none.
func (s *session) work() {
	defer s.workers.Done()
	for {
		s.kickMu.Lock()
		ev := s.pending
		s.pending = 0
		var msg []byte
		if ev&evMessage != 0 {
			msg, s.inbox = s.inbox, nil
		}
		if ev == 0 || s.ended {
			s.working = false
			s.kickMu.Unlock()
			return
		}
		s.kickMu.Unlock()
		if msg != nil {
			s.taken <- struct{}{} // run may read the next one meanwhile
		}
		s.handleEvents(ev, msg)
	}
}

// handleEvents runs on the worker.
func (s *session) handleEvents(ev events, msg []byte) {
	switch {
	case ev&evShutdown != 0:
		s.end(CodeShuttingDown, nil)
		return
	case ev&evStartTimeout != 0 && s.widgetID == "":
		s.end(CodeTimeout, errors.New("no Start received in time"))
		return
	}
	if ev&evDrain != 0 {
		s.drained = true
	}
	if msg != nil {
		s.extendReadDeadline()
		if !s.onMessage(msg) {
			return
		}
	}
	if ev&evMail != 0 {
		fns, overflow := s.mail.drain()
		if overflow {
			s.end(CodeOverloaded, errors.New("session mailbox overflowed"))
			return
		}
		for _, fn := range fns {
			if err := fn(); err != nil {
				s.end(codeOf(err))
				return
			}
		}
	}
	if s.widgetID == "" {
		return
	}
	if ev&evRefresh != 0 {
		if err := s.refresh(); err != nil {
			s.end(codeOf(err))
			return
		}
	}
	if ev&evPing != 0 {
		if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
			s.end(CodeUnknown, err)
			return
		}
		s.ping.Reset(s.srv.opts.PingInterval)
	}
	if s.drained && s.call == nil {
		s.end(CodeShuttingDown, nil) // draining, and no call runs
	}
}

// onMessage handles one visitor message; false when the session ended.
func (s *session) onMessage(data []byte) bool {
	m, code, err := decodeInbound(data)
	if code != CodeUnknown && code.fatal() {
		s.end(code, err)
		return false
	}
	if code == CodeUnknown {
		if s.widgetID == "" {
			code, err = s.handleBeforeStart(m)
			if code == CodeUnknown && err == nil && s.widgetID != "" {
				if err = s.started(); err != nil {
					code, err = codeOf(err)
					s.end(code, err)
					return false
				}
			}
		} else {
			code, err = s.handle(m)
		}
	}
	if code != CodeUnknown {
		if code.fatal() {
			s.end(code, err)
			return false
		}
		if err := s.writeJSON(newErrorMsg(code, err)); err != nil {
			s.end(CodeUnknown, err)
			return false
		}
	} else if err != nil {
		s.end(CodeUnknown, err)
		return false
	}
	return true
}

// started follows a successful Start: presence and config changes from now
// on, what the widget shows, IceConfig, and the keep-alive pings.
func (s *session) started() error {
	s.watcher = s.srv.opts.Hub.WatchFunc(func() { s.kick(evRefresh) })
	if err := s.refresh(); err != nil {
		return err
	}
	ice := iceConfig(s.srv.state.Load().cfg.ICE, s.label, s.srv.opts.Now())
	if err := s.writeJSON(ice); err != nil {
		return err
	}
	s.ping = time.AfterFunc(s.srv.opts.PingInterval, func() { s.kick(evPing) })
	s.extendReadDeadline()
	return nil
}

// end records why the session ends, once, and interrupts run's read so it
// tears the session down.
func (s *session) end(code ErrorCode, err error) {
	if s.ended {
		return
	}
	s.ended, s.endCode, s.endErr = true, code, err
	close(s.over)
	s.deadlineMu.Lock()
	s.interrupted = true
	_ = s.conn.SetReadDeadline(time.Now())
	s.deadlineMu.Unlock()
}

// run reads the visitor's messages until the session ends, then tears it
// down: it owns the session until the visitor leaves, the widget
// disappears, or the server closes.
func (s *session) run(ctx context.Context) {
	cfg := s.srv.state.Load().cfg
	s.conn.SetReadLimit(int64(cfg.Limits.MaxMessageBytes))
	s.conn.SetPongHandler(func(string) error { s.extendReadDeadline(); return nil })
	startTimer := time.AfterFunc(cfg.Limits.StartTimeout, func() { s.kick(evStartTimeout) })
	stopShutdown := context.AfterFunc(ctx, func() { s.kick(evShutdown) })
	stopDrain := context.AfterFunc(s.srv.drainCtx, func() { s.kick(evDrain) })

	code, err := s.read()

	startTimer.Stop()
	stopShutdown()
	stopDrain()
	s.kickMu.Lock()
	s.stopped = true
	s.kickMu.Unlock()
	s.workers.Wait()
	// From here on run owns the session.
	if s.watcher != nil {
		s.watcher.Close()
	}
	if s.ping != nil {
		s.ping.Stop()
	}
	if s.ended {
		code, err = s.endCode, s.endErr
	}
	s.finish(code, err)
	_ = s.conn.Close()
}

// finish ends the call and chat and tells the visitor why the session ends.
func (s *session) finish(code ErrorCode, err error) {
	s.endFeatures(code)
	switch {
	case code == CodeUnknown && err == nil:
		_ = s.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	case code == CodeShuttingDown:
		_ = s.writeJSON(errorMsg{MT: mtError, Code: code, Text: "the gateway is restarting; reconnect"})
		_ = s.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "shutting down"), time.Now().Add(time.Second))
	case code != CodeUnknown:
		if s.widgetID == "" {
			s.srv.refuse(refusalOf(code), s.ip, "session", s.label, "code", code, "err", err)
		} else {
			s.srv.log.Info("session ended", "session", s.label, "ip", s.ip, "code", code, "err", err)
		}
		_ = s.writeJSON(newErrorMsg(code, err))
		closeCode := websocket.ClosePolicyViolation
		if code == CodeTooLarge {
			closeCode = websocket.CloseMessageTooBig
		}
		_ = s.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(closeCode, string(code)), time.Now().Add(time.Second))
	default:
		s.srv.log.Debug("session ended", "session", s.label, "ip", s.ip, "err", err)
	}
}

// newErrorMsg is the Error message for code, caused by err.
func newErrorMsg(code ErrorCode, err error) errorMsg {
	m := errorMsg{MT: mtError, Code: code, Text: errText(code, err)}
	var rl *retryLaterError
	if code == CodeRetryLater && errors.As(err, &rl) {
		m.RetryAfter = rl.seconds()
	}
	return m
}

// extendReadDeadline gives the visitor until the next ping's pong, unless
// the session is ending.
func (s *session) extendReadDeadline() {
	s.deadlineMu.Lock()
	defer s.deadlineMu.Unlock()
	if !s.interrupted {
		_ = s.conn.SetReadDeadline(time.Now().Add(pongWaitFactor*s.srv.opts.PingInterval + writeTimeout))
	}
}

// protoError carries an error code through refresh.
type protoError struct {
	code ErrorCode
	err  error
}

func (e *protoError) Error() string { return fmt.Sprintf("%s: %v", e.code, e.err) }

func codeOf(err error) (ErrorCode, error) {
	var pe *protoError
	if errors.As(err, &pe) {
		return pe.code, pe.err
	}
	return CodeUnknown, err
}

func (s *session) handleBeforeStart(m inbound) (ErrorCode, error) {
	switch m.MT {
	case mtStart:
	case mtPing:
		return CodeUnknown, s.writeJSON(pongMsg{MT: mtPong})
	default:
		return CodeNotStarted, fmt.Errorf("%s before Start", m.MT)
	}
	cfg := s.srv.state.Load().cfg
	w := cfg.Widget(m.UUID)
	if w == nil {
		return CodeUnknownWidget, fmt.Errorf("no widget %q", truncate(m.UUID, 64))
	}
	if !originAllowed(cfg, w, s.origin, originOf(s.srv.publicURL())) {
		return CodeOriginNotAllowed, fmt.Errorf("origin %q may not open widget %s", truncate(s.origin, 100), w.ID)
	}
	s.widgetID = w.ID
	s.lang = s.srv.cat.pickLang(w, m.Lang)
	s.sent = make(map[string]uint64, len(w.Agents))
	return CodeUnknown, nil
}

// handle answers a message after Start.
func (s *session) handle(m inbound) (ErrorCode, error) {
	switch m.MT {
	case mtStart:
		return CodeAlreadyStarted, errors.New("Start sent twice")
	case mtPing:
		return CodeUnknown, s.writeJSON(pongMsg{MT: mtPong})
	case mtGetPicture:
		v, err := s.srv.view(s.widgetID)
		if err != nil || v == nil {
			return CodeWidgetRemoved, err
		}
		i, ok := v.byID[m.ID]
		if !ok {
			return CodeUnknownAgent, fmt.Errorf("no agent %q in this widget", truncate(m.ID, 64))
		}
		if p := v.agents[i].picture; p != nil {
			return CodeUnknown, s.write(p.msg)
		}
		return CodeUnknown, s.writeJSON(pictureMsg{MT: mtPicture, ID: m.ID})
	case mtCreateCall, mtChannels, mtClearCall, mtDtmf, mtCallResume:
		return s.handleCall(m)
	case mtChatOpen, mtChatSend, mtChatTyping, mtChatClose, mtChatResume, mtChatAck, mtLeaveMsg:
		return s.handleChat(m)
	case mtWait, mtWaitCancel:
		return s.handleWait(m)
	case mtRate, mtSendTranscript:
		return s.handleAfter(m)
	}
	return CodeUnknownMessage, fmt.Errorf("unexpected %s", m.MT)
}

// refresh sends whatever changed since the last refresh: Session when the
// widget's settings changed, Info for new or changed agents, Remove for agents
// that are gone. Unchanged things are not sent again.
func (s *session) refresh() error {
	v, err := s.srv.view(s.widgetID)
	if err != nil {
		return err
	}
	if v == nil {
		return &protoError{code: CodeWidgetRemoved, err: errors.New("the widget was removed")}
	}
	sm, err := v.session(s.srv.cat, s.lang)
	if err != nil {
		return err
	}
	if sm.hash != s.sentSess {
		if err := s.write(sm.msg); err != nil {
			return err
		}
		s.sentSess = sm.hash
	}
	for _, a := range v.agents {
		if s.sent[a.id] == a.info.hash {
			continue
		}
		if err := s.write(a.info.msg); err != nil {
			return err
		}
		s.sent[a.id] = a.info.hash
	}
	if len(s.sent) > len(v.agents) {
		for id := range s.sent {
			if _, ok := v.byID[id]; ok {
				continue
			}
			if err := s.writeJSON(removeMsg{MT: mtRemove, ID: id}); err != nil {
				return err
			}
			delete(s.sent, id)
		}
	}
	return nil
}

func (s *session) write(pm *websocket.PreparedMessage) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return s.conn.WritePreparedMessage(pm)
}

func (s *session) writeJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return s.conn.WriteMessage(websocket.TextMessage, data)
}

// read reads visitor messages and hands each to the worker, enforcing the
// message rate, until the connection fails or the session ends. It returns
// why it stopped (end's reason, when the worker ended the session, takes
// precedence).
func (s *session) read() (ErrorCode, error) {
	tokens, last := msgBurst, time.Now()
	for {
		typ, data, err := s.conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				return CodeTooLarge, err
			}
			return CodeUnknown, err
		}
		now := time.Now()
		tokens = min(msgBurst, tokens+now.Sub(last).Seconds()*msgRate)
		last = now
		if tokens < 1 {
			return CodeRateLimited, errors.New("too many messages")
		}
		tokens--
		if typ != websocket.TextMessage {
			return CodeBadJSON, refusal("binary frames are not part of the protocol")
		}
		if !s.hand(evMessage, data) {
			return CodeUnknown, nil
		}
		select {
		case <-s.taken:
		case <-s.over: // the worker ended the session; run reads why
			return CodeUnknown, nil
		}
	}
}
