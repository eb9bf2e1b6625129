package widget

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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

// session is one visitor's websocket. Its state belongs to run's goroutine;
// the reader goroutine only decodes and hands messages over.
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

	in      chan request
	readErr chan readFailure
	mail    *mailbox

	call    *callState // nil when no call
	chat    *chatState // nil when no chat
	wait    *waiter    // nil when not waiting in line
	leaving bool       // a LeaveMessage is being delivered
}

// request is one decoded visitor message, or the non-fatal reason it could
// not be decoded.
type request struct {
	m    inbound
	code ErrorCode
	err  error
}

type readFailure struct {
	code ErrorCode
	err  error
}

func newSession(srv *Server, conn *websocket.Conn, ip, origin string) *session {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &session{
		srv:     srv,
		conn:    conn,
		ip:      ip,
		origin:  origin,
		label:   hex.EncodeToString(b[:]),
		in:      make(chan request, 1),
		readErr: make(chan readFailure, 1),
		mail:    newMailbox(),
	}
}

// run owns the session until the visitor leaves, the widget disappears, or
// the server closes.
func (s *session) run(ctx context.Context) {
	cfg := s.srv.state.Load().cfg
	s.conn.SetReadLimit(int64(cfg.Limits.MaxMessageBytes))

	done := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		s.read(done)
	}()
	defer func() {
		close(done)
		_ = s.conn.Close()
		<-readerDone
	}()

	code, err := s.serve(ctx)
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

// serve runs the protocol. It returns the error code to report before
// closing, or CodeUnknown with a nil error when the visitor left.
func (s *session) serve(ctx context.Context) (ErrorCode, error) {
	cfg := s.srv.state.Load().cfg
	startTimer := time.NewTimer(cfg.Limits.StartTimeout)
	defer startTimer.Stop()

	// Wait for Start.
	for s.widgetID == "" {
		select {
		case <-ctx.Done():
			return CodeShuttingDown, nil
		case <-startTimer.C:
			return CodeTimeout, errors.New("no Start received in time")
		case f := <-s.readErr:
			return f.code, f.err
		case r := <-s.in:
			code, err := r.code, r.err
			if code == CodeUnknown {
				code, err = s.handleBeforeStart(r.m)
			}
			if code != CodeUnknown {
				if code.fatal() {
					return code, err
				}
				if err := s.writeJSON(newErrorMsg(code, err)); err != nil {
					return CodeUnknown, err
				}
			}
		}
	}

	watcher := s.srv.opts.Hub.Watch()
	defer watcher.Close()
	if err := s.refresh(); err != nil {
		return codeOf(err)
	}
	ice := iceConfig(s.srv.state.Load().cfg.ICE, s.label, s.srv.opts.Now())
	if err := s.writeJSON(ice); err != nil {
		return CodeUnknown, err
	}

	ping := time.NewTicker(s.srv.opts.PingInterval)
	defer ping.Stop()
	s.extendReadDeadline()
	s.conn.SetPongHandler(func(string) error { s.extendReadDeadline(); return nil })
	drain := s.srv.drain
	for {
		if drain == nil && s.call == nil {
			return CodeShuttingDown, nil // draining, and the call has ended
		}
		select {
		case <-drain:
			drain = nil // seen; the check above ends the session once no call runs
		case <-ctx.Done():
			return CodeShuttingDown, nil
		case f := <-s.readErr:
			return f.code, f.err
		case <-watcher.C():
			if err := s.refresh(); err != nil {
				return codeOf(err)
			}
		case <-s.mail.wake:
			fns, overflow := s.mail.drain()
			if overflow {
				return CodeOverloaded, errors.New("session mailbox overflowed")
			}
			for _, fn := range fns {
				if err := fn(); err != nil {
					return codeOf(err)
				}
			}
		case r := <-s.in:
			s.extendReadDeadline()
			code, err := r.code, r.err
			if code == CodeUnknown {
				code, err = s.handle(r.m)
			}
			if code != CodeUnknown {
				if code.fatal() {
					return code, err
				}
				if err := s.writeJSON(newErrorMsg(code, err)); err != nil {
					return CodeUnknown, err
				}
			} else if err != nil {
				return CodeUnknown, err
			}
		case <-ping.C:
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				return CodeUnknown, err
			}
		}
	}
}

func (s *session) extendReadDeadline() {
	_ = s.conn.SetReadDeadline(time.Now().Add(pongWaitFactor*s.srv.opts.PingInterval + writeTimeout))
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

// read decodes visitor messages and hands them to run until the connection
// fails or done is closed. It enforces the message rate.
func (s *session) read(done <-chan struct{}) {
	tokens, last := msgBurst, time.Now()
	fail := func(code ErrorCode, err error) {
		select {
		case s.readErr <- readFailure{code: code, err: err}:
		default:
		}
	}
	for {
		typ, data, err := s.conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				fail(CodeTooLarge, err)
			} else {
				fail(CodeUnknown, err)
			}
			return
		}
		now := time.Now()
		tokens = min(msgBurst, tokens+now.Sub(last).Seconds()*msgRate)
		last = now
		if tokens < 1 {
			fail(CodeRateLimited, errors.New("too many messages"))
			return
		}
		tokens--
		if typ != websocket.TextMessage {
			fail(CodeBadJSON, refusal("binary frames are not part of the protocol"))
			return
		}
		m, code, err := decodeInbound(data)
		if code != CodeUnknown && code.fatal() {
			fail(code, err)
			return
		}
		select {
		case s.in <- request{m: m, code: code, err: err}:
		case <-done:
			return
		}
	}
}
