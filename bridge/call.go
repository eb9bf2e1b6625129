package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// CallOptions are per-call settings.
type CallOptions struct {
	ID         string        // for logs
	AllowVideo bool          // the agent takes video; else video m-lines are rejected
	RTPTimeout time.Duration // 0 = calls.rtp_timeout
	Log        *slog.Logger
}

// Call is one call's media: the WebRTC leg toward the browser and the RTP
// leg toward the PBX. Signaling methods run their work on the call's own
// goroutine (run), so negotiation state has one owner; the relay goroutines
// only read the published route.
type Call struct {
	e       *Engine
	id      string
	log     *slog.Logger
	timeout time.Duration
	// closeSettle is how long an answered call outlives its browser leg's
	// PeerConnection closing, so that the session can still detach it
	// (0: it ends at once).
	closeSettle time.Duration
	epoch       time.Time

	offer  string     // the browser's SDP offer
	legs   []*leg     // audio first, then video when used
	audio  *stream    // == legs[0].s
	sdes   *sdesState // nil for plain RTP
	sessID uint64
	sipOff []byte // the initial SIP offer

	ctx      context.Context
	cancel   context.CancelFunc
	ops      chan func()
	pcEvents chan webrtc.PeerConnectionState
	loopDone chan struct{}
	wg       sync.WaitGroup
	spawnMu  sync.Mutex
	closing  bool
	closed   atomic.Bool
	done     chan struct{}
	doneOnce sync.Once
	errMu    sync.Mutex
	err      error
	dtmfMu   sync.Mutex

	rtcpEvery time.Duration

	// pcShared is pc for goroutines other than run (RTCP forwarding).
	pcShared atomic.Pointer[webrtc.PeerConnection]

	// lite is the browser side on the lite stack (nil on pion); liteDone
	// its end, watched by run until seen.
	lite     *liteLeg
	liteDone <-chan struct{}
	// polled is the audio RTP socket in the engine's PBX poller (lite
	// calls on Linux); nil when a pbxRelay goroutine reads it. The poller
	// then also runs the call's timers (RTP timeout, RTCP reports).
	polled *polledPBX
	// watch is what the RTP timeout check needs, published by run after
	// each operation; nil while not watched (no answer yet, or on hold).
	watch atomic.Pointer[mediaWatch]

	// Owned by run:
	pc        *webrtc.PeerConnection
	answered  bool // the browser has its answer (pion or lite)
	version   uint64
	gen       uint64
	final     bool
	held      bool
	mediaFrom int64 // timeout baseline: answer or resume time
	detached  bool  // the browser leg is gone; the PBX leg waits (Detach)
	// transferring: a transfer's new leg rings; no RTP timeout (HoldTimeout).
	transferring bool
}

// leg is one media kind as negotiated on both sides.
type leg struct {
	kind    string
	s       *stream
	offered []pairFormat // what went into the SIP offer
	agreed  []format     // browser-side formats in the browser answer
}

// pairFormat is one pass-through codec with its PT on each side.
type pairFormat struct {
	browser format
	sip     format
}

// Done is closed when the media ended by itself (see Err) or on Close.
func (c *Call) Done() <-chan struct{} { return c.done }

// Err says why the media ended; nil while running and after a Close that
// was not preceded by a failure.
func (c *Call) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// end records why the call's media ended, once, and signals Done.
func (c *Call) end(err error) {
	c.errMu.Lock()
	if c.err == nil && !c.closed.Load() {
		c.err = err
	}
	c.errMu.Unlock()
	c.doneOnce.Do(func() { close(c.done) })
	c.log.Info("call media ended", "reason", err)
}

func (c *Call) clock() int64 { return int64(time.Since(c.epoch)) }

// spawn starts a goroutine owned by the call unless Close has begun.
func (c *Call) spawn(f func()) bool {
	c.spawnMu.Lock()
	defer c.spawnMu.Unlock()
	if c.closing {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// do runs f on the call goroutine and waits for it.
func (c *Call) do(f func() error) error {
	res := make(chan error, 1)
	select {
	case c.ops <- func() { res <- f() }:
	case <-c.ctx.Done():
		return ErrClosed
	}
	select {
	case err := <-res:
		return err
	case <-c.loopDone:
		return ErrClosed
	}
}

// checkEvery is how often the RTP timeout is checked.
func (c *Call) checkEvery() time.Duration {
	return min(max(c.timeout/4, 10*time.Millisecond), time.Second)
}

// run owns the negotiation state and watches the PeerConnection. It checks
// the RTP timeout itself unless the engine's PBX poller does (lite calls):
// an idle lite call's run then sleeps until something happens to it.
func (c *Call) run() {
	defer close(c.loopDone)
	var tickC <-chan time.Time
	if c.polled == nil {
		tick := time.NewTicker(c.checkEvery())
		defer tick.Stop()
		tickC = tick.C
	}
	// A page that reloads or navigates closes its PeerConnection and its
	// websocket at about the same time; the call waits closeSettle for the
	// session to detach it (see reattach.go) before it ends.
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	var settleErr error
	for {
		select {
		case <-c.ctx.Done():
			return
		case op := <-c.ops:
			op()
			c.publishWatch()
			if c.detached && settleErr != nil {
				settle.Stop()
				settleErr = nil
			}
		case st := <-c.pcEvents:
			var err error
			switch {
			case c.detached:
			case st == webrtc.PeerConnectionStateFailed:
				err = ErrICEFailed
			case st == webrtc.PeerConnectionStateClosed:
				err = ErrBrowserClosed
			}
			switch {
			case err == nil || settleErr != nil:
			case c.answered && c.closeSettle > 0:
				settleErr = err
				settle.Reset(c.closeSettle)
				c.log.Debug("browser leg closed; the call waits to be detached", "reason", err, "for", c.closeSettle)
			default:
				c.end(err)
			}
		case <-settle.C:
			if settleErr != nil && !c.detached {
				c.end(settleErr)
			}
			settleErr = nil
		case <-c.liteDone:
			c.liteDone = nil // seen; a closed channel is always ready
			c.end(ErrBrowserClosed)
		case <-tickC:
			c.checkTimeout()
		}
	}
}

// mediaWatch is the RTP timeout's baseline: since when media is expected,
// and whether from the PBX too (final answer).
type mediaWatch struct {
	from  int64
	final bool
}

// publishWatch makes the timeout baseline readable by the timeout check
// (run only; it stores only when something changed).
func (c *Call) publishWatch() {
	var w *mediaWatch
	if c.answered && !c.held && !c.detached && !c.transferring {
		w = &mediaWatch{from: c.mediaFrom, final: c.final}
	}
	if old := c.watch.Load(); (old == nil) != (w == nil) || (w != nil && *old != *w) {
		c.watch.Store(w)
	}
}

// checkTimeout ends the call when one side sent nothing for the timeout:
// the browser once its answer exists, the PBX once the call is answered
// (a 183 may legitimately carry no RTP). Hold pauses both. Safe on any
// goroutine (run's ticker or the PBX poller).
func (c *Call) checkTimeout() {
	w := c.watch.Load()
	if w == nil {
		return
	}
	now := c.clock()
	var lastB, lastP int64
	for _, l := range c.legs {
		lastB = max(lastB, l.s.fromBrowser.last.Load())
		lastP = max(lastP, l.s.fromPBX.last.Load())
	}
	limit := int64(c.timeout)
	switch {
	case now-max(lastB, w.from) > limit:
		c.end(fmt.Errorf("no RTP from the browser for %s: %w", c.timeout, ErrRTPTimeout))
	case w.final && now-max(lastP, w.from) > limit:
		c.end(fmt.Errorf("no RTP from the PBX for %s: %w", c.timeout, ErrRTPTimeout))
	}
}

// Close stops the relay, closes the PeerConnection and the sockets and
// returns the ports to quarantine. It is idempotent. The PeerConnection goes
// first so the browser sees DTLS close before the RTP side disappears.
func (c *Call) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	c.cancel()
	<-c.loopDone
	c.spawnMu.Lock()
	c.closing = true
	c.spawnMu.Unlock()
	var errs []error
	if c.pc != nil {
		if err := c.pc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close call %s PeerConnection: %w", c.id, err))
		}
	}
	if c.lite != nil {
		if err := c.lite.sess.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close call %s browser session: %w", c.id, err))
		}
	}
	if c.polled != nil {
		c.e.poller.remove(c.polled) // before the socket closes
	}
	for _, l := range c.legs {
		if err := c.e.ports.put(l.s.pp); err != nil {
			errs = append(errs, fmt.Errorf("close call %s: %w", c.id, err))
		}
	}
	c.wg.Wait()
	c.doneOnce.Do(func() { close(c.done) })
	return errors.Join(errs...)
}

// Flow is one direction's traffic.
type Flow struct {
	Packets uint64
	Bytes   uint64
	Last    time.Time // zero when nothing was seen
}

// Stats are a call's counters, summed over audio and video.
type Stats struct {
	BrowserToPBX Flow   // relayed to the PBX (incl. generated DTMF)
	PBXToBrowser Flow   // relayed to the browser
	FromBrowser  Flow   // received from the browser
	FromPBX      Flow   // received from the PBX
	Dropped      uint64 // not relayed: unknown PT, wrong source, on hold...
	Rejected     uint64 // of Dropped, refused by the source, SRTP or header checks
	LostFromPBX  int64  // sequence gaps in the PBX's stream
}

// Stats reads the counters; safe at any time.
func (c *Call) Stats() Stats {
	var st Stats
	for _, l := range c.legs {
		s := l.s
		c.addFlow(&st.BrowserToPBX, &s.toPBX)
		c.addFlow(&st.PBXToBrowser, &s.toBrowser)
		c.addFlow(&st.FromBrowser, &s.fromBrowser)
		c.addFlow(&st.FromPBX, &s.fromPBX)
		st.Dropped += s.dropped.Load()
		st.Rejected += s.rejected.Load()
		if s.recv.ssrc.Load() != 0 || s.recv.received.Load() != 0 {
			exp := int64(s.recv.highest.Load()) - int64(s.recv.base.Load()) + 1
			st.LostFromPBX += max(exp-int64(s.recv.received.Load()), 0)
		}
	}
	return st
}

func (c *Call) addFlow(f *Flow, ct *counters) {
	f.Packets += ct.packets.Load()
	f.Bytes += ct.bytes.Load()
	if l := ct.last.Load(); l != 0 {
		if t := c.epoch.Add(time.Duration(l)); t.After(f.Last) {
			f.Last = t
		}
	}
}

// randomSSRC picks an SSRC/sequence/timestamp start (RFC 3550 wants them
// random); math/rand is enough, they are not secrets.
func randomStart() (uint32, uint16, uint32) {
	return rand.Uint32() | 1, uint16(rand.Uint32()), rand.Uint32()
}
