package main

// A visitor's call signaling toward frontdesk: the Widget-API over the
// gateway's websocket (Start … IceConfig, CreateCall + Channels PROPOSAL,
// CallInfo, ClearCall).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// widgetSignal is one visitor's Widget-API session.
type widgetSignal struct {
	url        string
	id         int
	conn       *websocket.Conn
	wmu        sync.Mutex // websocket writes
	readerDone chan struct{}
}

func newWidgetSignal(url string, id int) *widgetSignal {
	return &widgetSignal{url: url, id: id, readerDone: make(chan struct{})}
}

func (w *widgetSignal) hungUpReason() string { return "ended-by-visitor" }

// open starts the session and reads up to IceConfig, then follows the
// session in the background.
func (w *widgetSignal) open(ctx context.Context, v *visitor) error {
	conn, _, err := dialer.DialContext(ctx, w.url, http.Header{"Origin": {origin}})
	if err != nil {
		close(w.readerDone)
		return fmt.Errorf("dial: %w", err)
	}
	w.conn = conn
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	if err := w.write(map[string]string{"mt": "Start", "uuid": callsWidgetID}); err != nil {
		stop()
		close(w.readerDone)
		return fmt.Errorf("send Start: %w", err)
	}
	if err := awaitIceConfig(conn); err != nil {
		stop()
		close(w.readerDone)
		return err
	}
	if !stop() {
		close(w.readerDone)
		return fmt.Errorf("start: %w", ctx.Err())
	}
	_ = conn.SetReadDeadline(time.Time{})
	go w.read(v)
	return nil
}

// call sends CreateCall and the complete offer.
func (w *widgetSignal) call(offer string) error {
	if err := w.write(map[string]any{"mt": "CreateCall", "dest": echoUser, "dn": "Load " + strconv.Itoa(w.id)}); err != nil {
		return fmt.Errorf("send CreateCall: %w", err)
	}
	if err := w.write(map[string]string{"mt": "Channels", "cmd": "PROPOSAL", "sdp": offer}); err != nil {
		return fmt.Errorf("send Channels: %w", err)
	}
	return nil
}

func (w *widgetSignal) hangup() error { return w.write(map[string]string{"mt": "ClearCall"}) }

// awaitIceConfig reads the answers to Start up to IceConfig.
func awaitIceConfig(conn *websocket.Conn) error {
	for range 1000 {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("read before IceConfig: %w", err)
		}
		switch {
		case bytes.HasPrefix(msg, prefixIce):
			return nil
		case bytes.HasPrefix(msg, prefixError):
			return fmt.Errorf("gateway answered Start with %s", msg)
		}
	}
	return errors.New("no IceConfig in 1000 messages")
}

// write sends one JSON message.
func (w *widgetSignal) write(m any) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return w.conn.WriteMessage(websocket.TextMessage, data)
}

// read follows the session until the websocket closes.
func (w *widgetSignal) read(v *visitor) {
	defer close(w.readerDone)
	defer v.end("websocket closed")
	for {
		_, msg, err := w.conn.ReadMessage()
		if err != nil {
			return
		}
		var m wsMessage
		switch {
		case bytes.HasPrefix(msg, prefixCallInfo):
			if err := json.Unmarshal(msg, &m); err != nil {
				v.end("bad CallInfo: " + err.Error())
				return
			}
		case bytes.HasPrefix(msg, prefixError):
			_ = json.Unmarshal(msg, &m)
			v.end("Error " + m.Code)
			continue
		default:
			continue
		}
		if m.SDP != "" {
			v.gotAnswer(m.SDP)
		}
		switch m.State {
		case "connected":
			v.answered()
		case "terminated":
			v.end(m.Reason)
		}
	}
}

// close ends the session.
func (w *widgetSignal) close() {
	if w.conn != nil {
		w.wmu.Lock()
		_ = w.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		w.wmu.Unlock()
		_ = w.conn.Close()
	}
	select {
	case <-w.readerDone:
	case <-time.After(5 * time.Second):
	}
}
