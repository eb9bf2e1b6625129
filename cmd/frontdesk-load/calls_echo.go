package main

// The far end of the calls measurement: a SIP UAS on 127.0.0.1 that answers
// every INVITE with PCMU on an RTP port of its own and sends every RTP packet
// straight back to where it came from (symmetric RTP), until BYE.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

const (
	echoUser     = "echo"
	echoPassword = "echo-load"
	// maxEchoCalls bounds the RTP sockets the UAS holds; INVITEs beyond it
	// get 486.
	maxEchoCalls = 4096
)

// echoUAS answers calls for the echo agent and echoes their RTP.
type echoUAS struct {
	log  *slog.Logger
	ua   *sipgo.UserAgent
	srv  *sipgo.Server
	conn net.PacketConn
	port int

	mu    sync.Mutex
	calls map[string]*echoCall // by Call-ID
	wg    sync.WaitGroup       // echo loops and the SIP server
	done  bool

	invites  atomic.Int64 // INVITEs answered 200
	rejected atomic.Int64 // INVITEs refused
	byes     atomic.Int64 // BYEs for known calls
	echoed   atomic.Int64 // RTP packets sent back
}

// echoCall is one answered call: its RTP socket.
type echoCall struct {
	calib  bool // the calibration socket: not counted in echoUAS.echoed
	conn   *net.UDPConn
	answer []byte
	echoed atomic.Int64
}

// startEcho listens for SIP on 127.0.0.1 (a free UDP port).
func startEcho(log *slog.Logger) (*echoUAS, error) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("echo UAS: listen: %w", err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("frontdesk-load-echo"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("echo UAS: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		ua.Close()
		conn.Close()
		return nil, fmt.Errorf("echo UAS: server: %w", err)
	}
	e := &echoUAS{log: log, ua: ua, srv: srv, conn: conn, port: port, calls: map[string]*echoCall{}}
	srv.OnInvite(e.onInvite)
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	srv.OnBye(e.onBye)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		_ = srv.ServeUDP(conn) // returns once the transport closes
	}()
	return e, nil
}

// Addr is where the UAS takes SIP, for REGISTER's Contact.
func (e *echoUAS) Addr() string { return "127.0.0.1:" + strconv.Itoa(e.port) }

func (e *echoUAS) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	e.mu.Lock()
	c := e.calls[callID]
	full := len(e.calls) >= maxEchoCalls || e.done
	e.mu.Unlock()
	if c == nil {
		if full {
			e.rejected.Add(1)
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBusyHere, "Busy Here", nil))
			return
		}
		if !offersPCMU(req.Body()) {
			e.rejected.Add(1)
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil))
			return
		}
		var err error
		if c, err = e.newCall(callID); err != nil {
			e.log.Warn("echo UAS: no RTP port", "err", err)
			e.rejected.Add(1)
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "No RTP Port", nil))
			return
		}
		e.invites.Add(1)
	}
	// A re-INVITE (session refresh) gets the same answer.
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", c.answer)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: echoUser, Host: "127.0.0.1", Port: e.port}})
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	if err := tx.Respond(res); err != nil {
		e.log.Warn("echo UAS: 200 not sent", "err", err)
	}
}

// newCall binds the call's RTP socket and starts echoing.
func (e *echoUAS) newCall(callID string) (*echoCall, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	c := &echoCall{conn: conn, answer: echoSDP(port), calib: callID == calibrationID}
	e.mu.Lock()
	if e.done {
		e.mu.Unlock()
		conn.Close()
		return nil, errors.New("closing")
	}
	e.calls[callID] = c
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		e.echo(c)
	}()
	return c, nil
}

// echo sends every packet back to its source until the socket is closed.
func (e *echoUAS) echo(c *echoCall) {
	buf := make([]byte, 2048)
	for {
		n, from, err := c.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if _, err := c.conn.WriteToUDPAddrPort(buf[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port())); err == nil {
			c.echoed.Add(1)
			if !c.calib {
				e.echoed.Add(1)
			}
		}
	}
}

func (e *echoUAS) onBye(req *sip.Request, tx sip.ServerTransaction) {
	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	e.mu.Lock()
	c := e.calls[callID]
	delete(e.calls, callID)
	e.mu.Unlock()
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call Does Not Exist", nil))
		return
	}
	e.byes.Add(1)
	c.conn.Close()
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
}

// active is the number of calls not yet ended by BYE.
func (e *echoUAS) active() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls)
}

// close ends every call's echo and the SIP server and waits for them.
func (e *echoUAS) close() {
	e.mu.Lock()
	e.done = true
	for id, c := range e.calls {
		c.conn.Close()
		delete(e.calls, id)
	}
	e.mu.Unlock()
	_ = e.ua.Close()
	_ = e.conn.Close()
	e.wg.Wait()
}

// offersPCMU reports whether an SDP offer lists payload type 0 on its audio
// m-line.
func offersPCMU(body []byte) bool {
	for line := range bytes.Lines(body) {
		line = bytes.TrimRight(line, "\r\n")
		rest, ok := bytes.CutPrefix(line, []byte("m=audio "))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		for _, pt := range f[min(2, len(f)):] {
			if string(pt) == "0" {
				return true
			}
		}
		return false
	}
	return false
}

// echoSDP is the answer: PCMU only, on 127.0.0.1:port.
func echoSDP(port int) []byte {
	return fmt.Appendf(nil, "v=0\r\no=echo %d 1 IN IP4 127.0.0.1\r\ns=echo\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n", port, port)
}

// calibrationID names the calibration socket among the calls.
const calibrationID = "calibration"

// rttBaseline is the echo's round trip without the gateway.
type rttBaseline struct {
	Pings int     `json:"pings"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
}

// calibrate pings an echo socket directly from 127.0.0.1 (200 packets of
// the visitors' size, 5 ms apart) and measures the round trip.
func (e *echoUAS) calibrate(ctx context.Context) (rttBaseline, error) {
	const pings, gap = 200, 5 * time.Millisecond
	var b rttBaseline
	c, err := e.newCall(calibrationID)
	if err != nil {
		return b, fmt.Errorf("echo calibration: %w", err)
	}
	defer func() {
		e.mu.Lock()
		delete(e.calls, calibrationID)
		e.mu.Unlock()
		c.conn.Close()
	}()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return b, fmt.Errorf("echo calibration: %w", err)
	}
	defer conn.Close()
	to := c.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	pkt := make([]byte, 12+pcmuPayload)
	in := make([]byte, 2048)
	var rtts []time.Duration
	for i := 0; i < pings && ctx.Err() == nil; i++ {
		t0 := time.Now()
		if _, err := conn.WriteToUDPAddrPort(pkt, to); err != nil {
			return b, fmt.Errorf("echo calibration: %w", err)
		}
		_ = conn.SetReadDeadline(t0.Add(time.Second))
		if _, _, err := conn.ReadFromUDPAddrPort(in); err == nil {
			rtts = append(rtts, time.Since(t0))
		}
		time.Sleep(gap)
	}
	if len(rtts) == 0 {
		return b, errors.New("echo calibration: no packet came back")
	}
	slices.Sort(rtts)
	return rttBaseline{Pings: len(rtts), P50: msOf(percentile(rtts, 50)), P99: msOf(percentile(rtts, 99))}, nil
}
