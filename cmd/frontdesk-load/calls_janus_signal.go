package main

// A visitor's call signaling toward Janus's SIP plugin: the Janus API over
// websocket (create a session, attach janus.plugin.sip, register as a
// guest with Kamailio as the proxy, call with the complete offer, hangup).

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// janusMsg is the part of a Janus API message the visitor looks at.
type janusMsg struct {
	Janus       string `json:"janus"`
	Transaction string `json:"transaction"`
	Data        struct {
		ID uint64 `json:"id"`
	} `json:"data"`
	Error *struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	} `json:"error"`
	PluginData struct {
		Data struct {
			Result struct {
				Event  string `json:"event"`
				Code   int    `json:"code"`
				Reason string `json:"reason"`
			} `json:"result"`
			ErrorCode int    `json:"error_code"`
			Error     string `json:"error"`
		} `json:"data"`
	} `json:"plugindata"`
	JSEP *struct {
		Type string `json:"type"`
		SDP  string `json:"sdp"`
	} `json:"jsep"`
}

// janusSignal is one visitor's Janus session with one SIP plugin handle.
type janusSignal struct {
	url    string
	proxy  string // sip:127.0.0.1:PORT, Kamailio (which takes its address as its domain)
	id     int
	conn   *websocket.Conn
	wmu    sync.Mutex
	txn    atomic.Uint64
	sessID uint64
	handle uint64

	mu         sync.Mutex
	pending    map[string]chan janusMsg // replies by transaction
	registered chan error               // the guest registration's outcome
	readerDone chan struct{}
}

func newJanusSignal(url, proxy string, id int) *janusSignal {
	return &janusSignal{url: url, proxy: proxy, id: id, pending: map[string]chan janusMsg{},
		registered: make(chan error, 1), readerDone: make(chan struct{})}
}

func (j *janusSignal) hungUpReason() string { return "hangup" }

var janusDialer = &websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 8192, WriteBufferSize: 4096,
	Subprotocols: []string{"janus-protocol"}}

// open creates the session, attaches the SIP plugin and registers as a
// guest (Janus sends no REGISTER for a guest; calls go to the proxy).
func (j *janusSignal) open(ctx context.Context, v *visitor) error {
	conn, _, err := janusDialer.DialContext(ctx, j.url, nil)
	if err != nil {
		close(j.readerDone)
		return fmt.Errorf("dial Janus: %w", err)
	}
	j.conn = conn
	go j.read(v)
	r, err := j.request(ctx, map[string]any{"janus": "create"})
	if err != nil {
		return fmt.Errorf("create Janus session: %w", err)
	}
	j.sessID = r.Data.ID
	r, err = j.request(ctx, map[string]any{"janus": "attach", "session_id": j.sessID, "plugin": "janus.plugin.sip"})
	if err != nil {
		return fmt.Errorf("attach the SIP plugin: %w", err)
	}
	j.handle = r.Data.ID
	if err := j.message(map[string]any{"request": "register", "type": "guest",
		"username": "sip:visitor" + strconv.Itoa(j.id) + "@frontdesk.test", "proxy": j.proxy}, nil); err != nil {
		return fmt.Errorf("register as guest: %w", err)
	}
	select {
	case err := <-j.registered:
		if err != nil {
			return fmt.Errorf("register as guest: %w", err)
		}
	case <-ctx.Done():
		return fmt.Errorf("register as guest: %w", ctx.Err())
	}
	return nil
}

// call sends the call request with the offer.
func (j *janusSignal) call(offer string) error {
	// Janus resolves the request URI itself (the guest's proxy is not used
	// as an outbound proxy), so the URI names Kamailio's address.
	if err := j.message(map[string]any{"request": "call", "uri": "sip:" + echoUser + "@" + strings.TrimPrefix(j.proxy, "sip:")},
		map[string]any{"type": "offer", "sdp": offer, "trickle": false}); err != nil {
		return fmt.Errorf("send call: %w", err)
	}
	return nil
}

func (j *janusSignal) hangup() error {
	return j.message(map[string]any{"request": "hangup"}, nil)
}

// request sends a Janus request and waits for its success or error.
func (j *janusSignal) request(ctx context.Context, m map[string]any) (janusMsg, error) {
	t := "t" + strconv.FormatUint(j.txn.Add(1), 10)
	m["transaction"] = t
	reply := make(chan janusMsg, 1)
	j.mu.Lock()
	j.pending[t] = reply
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		delete(j.pending, t)
		j.mu.Unlock()
	}()
	if err := j.write(m); err != nil {
		return janusMsg{}, err
	}
	select {
	case r := <-reply:
		if r.Error != nil {
			return r, fmt.Errorf("janus error %d: %s", r.Error.Code, r.Error.Reason)
		}
		return r, nil
	case <-j.readerDone:
		return janusMsg{}, fmt.Errorf("connection to Janus lost")
	case <-ctx.Done():
		return janusMsg{}, ctx.Err()
	}
}

// message sends a plugin message; its outcome comes as events.
func (j *janusSignal) message(body, jsep map[string]any) error {
	m := map[string]any{"janus": "message", "session_id": j.sessID, "handle_id": j.handle, "body": body,
		"transaction": "m" + strconv.FormatUint(j.txn.Add(1), 10)}
	if jsep != nil {
		m["jsep"] = jsep
	}
	return j.write(m)
}

func (j *janusSignal) write(m map[string]any) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	j.wmu.Lock()
	defer j.wmu.Unlock()
	_ = j.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return j.conn.WriteMessage(websocket.TextMessage, data)
}

// read dispatches replies and plugin events until the connection closes.
func (j *janusSignal) read(v *visitor) {
	defer close(j.readerDone)
	defer v.end("Janus connection closed")
	for {
		_, data, err := j.conn.ReadMessage()
		if err != nil {
			return
		}
		var m janusMsg
		if err := json.Unmarshal(data, &m); err != nil {
			v.end("bad Janus message: " + err.Error())
			return
		}
		switch m.Janus {
		case "success", "error":
			j.mu.Lock()
			reply := j.pending[m.Transaction]
			j.mu.Unlock()
			if reply != nil {
				reply <- m
			} else if m.Error != nil {
				v.end(fmt.Sprintf("janus error %d: %s", m.Error.Code, m.Error.Reason))
			}
		case "event":
			j.event(v, m)
		}
	}
}

// event handles one SIP plugin event.
func (j *janusSignal) event(v *visitor, m janusMsg) {
	d := m.PluginData.Data
	if d.ErrorCode != 0 {
		err := fmt.Errorf("SIP plugin error %d: %s", d.ErrorCode, d.Error)
		select {
		case j.registered <- err:
		default:
		}
		v.end(err.Error())
		return
	}
	switch d.Result.Event {
	case "registered":
		select {
		case j.registered <- nil:
		default:
		}
	case "registration_failed":
		select {
		case j.registered <- fmt.Errorf("registration failed: %d %s", d.Result.Code, d.Result.Reason):
		default:
		}
	case "accepted":
		if m.JSEP != nil && m.JSEP.SDP != "" {
			v.gotAnswer(m.JSEP.SDP)
		}
		v.answered()
	case "hangup":
		if v.hangingUp.Load() {
			v.end("hangup")
		} else {
			v.end(fmt.Sprintf("hangup %d %s", d.Result.Code, d.Result.Reason))
		}
	}
}

// close destroys the session and closes the connection.
func (j *janusSignal) close() {
	if j.conn != nil {
		if j.sessID != 0 {
			_ = j.write(map[string]any{"janus": "destroy", "session_id": j.sessID, "transaction": "d"})
		}
		j.wmu.Lock()
		_ = j.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		j.wmu.Unlock()
		_ = j.conn.Close()
	}
	select {
	case <-j.readerDone:
	case <-time.After(5 * time.Second):
	}
}
