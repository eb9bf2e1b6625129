package main

// The client side: many idle Widget-API sessions, each one goroutine reading
// its websocket with a small buffer and looking only at the flipped agent's
// Info messages.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const (
	openTimeout = 15 * time.Second // dial, Start, and reading up to IceConfig
	maxInFlight = 256              // sessions being opened at once
)

var (
	prefixIce     = []byte(`{"mt":"IceConfig"`)
	prefixError   = []byte(`{"mt":"Error"`)
	prefixFlip    = []byte(`{"mt":"Info","id":"` + flipAgent + `",`)
	fieldPresence = []byte(`"presence":"`)
)

// wantPresence is what round r publishes: busy, online, busy, … (the agent
// starts online).
func wantPresence(r int) string {
	if r%2 == 0 {
		return "busy"
	}
	return "online"
}

// flipPresence returns the presence in an Info message for the flipped agent.
func flipPresence(msg []byte) (string, bool) {
	if !bytes.HasPrefix(msg, prefixFlip) {
		return "", false
	}
	_, rest, ok := bytes.Cut(msg, fieldPresence)
	if !ok {
		return "", false
	}
	v, _, ok := bytes.Cut(rest, []byte{'"'})
	if !ok {
		return "", false
	}
	return string(v), true
}

// fleet is the set of open sessions and what they saw.
type fleet struct {
	urls []string // sessions go to these in turn
	next atomic.Uint64
	// dialers spread the sessions over source addresses 127.0.0.1,
	// 127.0.0.2, … so that no address runs out of ephemeral ports.
	dialers []*websocket.Dialer
	nextDlr atomic.Uint64
	header  http.Header
	base    time.Time // receive times are offsets from base (monotonic)
	rounds  int

	cur     atomic.Int32    // round being timed; -1 before the first
	t0      []time.Duration // per round: PUBLISH about to be sent, offset from base
	n       atomic.Int64    // sessions that count for "all reached"
	count   []atomic.Int64
	done    []chan struct{} // closed when count[r] reaches n
	closing atomic.Bool

	stray atomic.Int64 // flipped agent's Infos not matching the current round
	dups  atomic.Int64 // a second matching Info in the same round
	lost  atomic.Int64 // sessions whose websocket failed while the fleet was open

	mu      sync.Mutex
	clients []*client
	readers sync.WaitGroup
}

// client is one session.
type client struct {
	conn    *websocket.Conn
	got     []atomic.Int64 // per round: receive time as offset from fleet.base; 0 while not received
	initial string         // the flipped agent's presence in the initial Infos
	infos   atomic.Int64   // the flipped agent's Infos after the initial ones
}

// sessionsPerSource is how many sessions one source address takes: well
// inside Linux's ephemeral port range (28,000 ports by default).
const sessionsPerSource = 20000

func newFleet(urls []string, rounds, sessions int) *fleet {
	f := &fleet{
		urls:   urls,
		header: http.Header{"Origin": {origin}},
		base:   time.Now(),
		rounds: rounds,
		count:  make([]atomic.Int64, rounds),
		t0:     make([]time.Duration, rounds),
		done:   make([]chan struct{}, rounds),
	}
	for r := range f.done {
		f.done[r] = make(chan struct{})
	}
	pool := &sync.Pool{}
	for i := range (sessions + sessionsPerSource - 1) / sessionsPerSource {
		nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i))}}
		f.dialers = append(f.dialers, &websocket.Dialer{
			NetDialContext:   nd.DialContext,
			HandshakeTimeout: 10 * time.Second,
			ReadBufferSize:   1024,
			WriteBufferSize:  256,
			WriteBufferPool:  pool,
		})
	}
	f.cur.Store(-1)
	return f
}

// open dials one session, sends Start and returns once IceConfig arrived.
// The session's reader goroutine keeps running until close.
func (f *fleet) open(ctx context.Context) (*client, error) {
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	url := f.urls[(f.next.Add(1)-1)%uint64(len(f.urls))]
	d := f.dialers[f.nextDlr.Add(1)%uint64(len(f.dialers))]
	conn, _, err := d.DialContext(ctx, url, f.header)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	c := &client{conn: conn, got: make([]atomic.Int64, f.rounds)}
	_ = conn.SetWriteDeadline(time.Now().Add(openTimeout))
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"mt":"Start","uuid":"`+widgetID+`"}`)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("send Start: %w", err)
	}
	ready := make(chan error, 1)
	f.readers.Add(1)
	go func() {
		defer f.readers.Done()
		c.read(f, ready)
	}()
	select {
	case err := <-ready:
		if err != nil {
			conn.Close()
			return nil, err
		}
	case <-ctx.Done():
		conn.Close()
		return nil, fmt.Errorf("no IceConfig within %v: %w", openTimeout, ctx.Err())
	}
	f.mu.Lock()
	f.clients = append(f.clients, c)
	f.mu.Unlock()
	return c, nil
}

// read runs for the session's lifetime. It reports on ready when the
// session is started (IceConfig) or failed before that.
func (c *client) read(f *fleet, ready chan<- error) {
	var buf bytes.Buffer
	started := false
	for {
		_, r, err := c.conn.NextReader()
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			if !started {
				ready <- fmt.Errorf("read before IceConfig: %w", err)
			} else if !f.closing.Load() {
				f.lost.Add(1)
			}
			return
		}
		at := time.Since(f.base)
		msg := buf.Bytes()
		if !started {
			switch {
			case bytes.HasPrefix(msg, prefixIce):
				started = true
				ready <- nil
			case bytes.HasPrefix(msg, prefixError):
				ready <- fmt.Errorf("gateway answered Start with %s", msg)
				return
			default:
				if p, ok := flipPresence(msg); ok {
					c.initial = p
				}
			}
			continue
		}
		if p, ok := flipPresence(msg); ok {
			c.infos.Add(1)
			f.record(c, p, at)
		}
	}
}

// record notes that c received presence p at offset at.
func (f *fleet) record(c *client, p string, at time.Duration) {
	r := int(f.cur.Load())
	if r < 0 || r >= f.rounds || p != wantPresence(r) {
		f.stray.Add(1)
		return
	}
	if c.got[r].Load() != 0 {
		f.dups.Add(1)
		return
	}
	c.got[r].Store(int64(max(at, 1)))
	if f.count[r].Add(1) == f.n.Load() {
		close(f.done[r])
	}
}

// openAll opens n sessions at ramp per second, at most maxInFlight at once.
// It fails if any session fails to open.
func (f *fleet) openAll(ctx context.Context, n, ramp int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * time.Second / time.Duration(ramp))
		if d := time.Until(due); d > 0 {
			if err := sleep(ctx, d); err != nil {
				break
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := f.open(ctx); err != nil {
				failed.Add(1)
				errOnce.Do(func() { firstErr = err })
				cancel()
			}
		}()
	}
	wg.Wait()
	switch {
	case failed.Load() > 0:
		return fmt.Errorf("%d sessions failed to open; first: %w", failed.Load(), firstErr)
	case ctx.Err() != nil:
		return fmt.Errorf("opening sessions: %w", ctx.Err())
	}
	f.n.Store(int64(len(f.clients)))
	return nil
}

// closeAll sends a close frame on every session, closes the connections and
// waits (bounded) for the readers to end.
func (f *fleet) closeAll(timeout time.Duration) error {
	f.closing.Store(true)
	f.mu.Lock()
	clients := f.clients
	f.mu.Unlock()
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	for _, c := range clients {
		_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = c.conn.Close()
	}
	done := make(chan struct{})
	go func() {
		f.readers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("session readers still running %v after closing", timeout)
	}
}

// probe opens one session and waits until it shows the flipped agent with
// presence want, so the ramp starts from a known state.
func probe(ctx context.Context, url, want string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := websocket.Dialer{HandshakeTimeout: timeout}
	conn, _, err := d.DialContext(ctx, url, http.Header{"Origin": {origin}})
	if err != nil {
		return fmt.Errorf("probe: dial: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"mt":"Start","uuid":"`+widgetID+`"}`)); err != nil {
		return fmt.Errorf("probe: send Start: %w", err)
	}
	last := ""
	for i := 0; i < 1000; i++ {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("probe: %s never %q (last %q): %w", flipAgent, want, last, err)
		}
		if bytes.HasPrefix(msg, prefixError) {
			return fmt.Errorf("probe: gateway answered %s", msg)
		}
		if p, ok := flipPresence(msg); ok {
			if last = p; p == want {
				return nil
			}
		}
	}
	return errors.New("probe: too many messages")
}

// missing counts, per round, the sessions that did not get the update.
func (f *fleet) missing() []int {
	out := make([]int, f.rounds)
	for r := range out {
		out[r] = int(f.n.Load() - f.count[r].Load())
	}
	return out
}

// initialPresences counts the sessions by the flipped agent's initial
// presence.
func (f *fleet) initialPresences() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string]int{}
	for _, c := range f.clients {
		m[strings.Clone(c.initial)]++
	}
	return m
}
