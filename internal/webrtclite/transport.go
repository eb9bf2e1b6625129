package webrtclite

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// maxDatagram bounds what the reader takes in one packet.
const maxDatagram = 1500

// socketBuffer is the shared socket's kernel buffer size asked for.
const socketBuffer = 4 << 20

// Transport is one UDP socket and the sessions that share it.
type Transport struct {
	conn  *net.UDPConn
	pace  time.Duration
	local netip.AddrPort
	cert  *certificate
	log   *slog.Logger
	// allow, when set, says which peer addresses the socket talks to at all
	// (a loopback-only deployment); packets from others are dropped.
	allow func(netip.Addr) bool

	mu        sync.Mutex
	byUfrag   map[string]*Session   // local ufrag → session (STUN requests)
	byTxn     map[[12]byte]*Session // our outstanding checks (controlling role)
	gone      []*Session            // closed, for the reader to forget
	goneN     atomic.Int32          // len(gone), read per packet without the lock
	clients   map[*Session]struct{} // controlling sessions, for consent checks
	done      chan struct{}         // the reader ended
	closing   chan struct{}         // Close began
	kaDone    chan struct{}         // the keepalive loop ended
	closeOnce sync.Once

	// driver, when set, reads the socket through driven instead of a
	// reader goroutine.
	driver Driver
	driven *batchReader
	out    *batchWriter // the driver's outgoing batch (QueueRTP, Flush)
	raw    *RawSocket   // the socket, out of Go's netpoller, when driven

	// Owned by the reader goroutine (or the driver's).
	byAddr map[netip.AddrPort]*Session
	buf    [maxDatagram]byte
	dec    [maxDatagram]byte
	hdr    rtp.Header
	rhdr   rtcp.Header
}

// Options configure a Transport.
type Options struct {
	// Listen is the local address (a concrete IP; port 0 picks one).
	Listen netip.AddrPort
	// Allow, when set, limits the peers the socket talks to.
	Allow func(netip.Addr) bool
	// Keepalive, when positive, is how often controlling sessions repeat a
	// check to their selected pair (consent freshness, RFC 7675), from one
	// loop for all of them.
	Keepalive time.Duration
	// Pace, when positive, makes the reader wait this long between batches
	// it did not fill (Linux): one wake-up then serves several packets, for
	// at most Pace of added delay.
	Pace time.Duration
	// Driver, when set, reads the socket in its own rounds (Linux; elsewhere,
	// or when it declines, the transport keeps its reader goroutine).
	Driver Driver
	Log    *slog.Logger
}

// Listen opens the shared socket and starts its reader.
func Listen(o Options) (*Transport, error) {
	if !o.Listen.Addr().IsValid() || o.Listen.Addr().IsUnspecified() {
		return nil, fmt.Errorf("listen %s: need a concrete IP address, it is the ICE candidate", o.Listen)
	}
	cert, err := newCertificate()
	if err != nil {
		return nil, err
	}
	network := "udp4"
	if o.Listen.Addr().Is6() && !o.Listen.Addr().Is4In6() {
		network = "udp6"
	}
	conn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(o.Listen))
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", o.Listen, err)
	}
	// One socket carries every session: give it room for a scheduling
	// hiccup's worth of packets (the kernel caps this at rmem_max/wmem_max).
	_ = conn.SetReadBuffer(socketBuffer)
	_ = conn.SetWriteBuffer(socketBuffer)
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Transport{
		conn: conn, pace: o.Pace, local: conn.LocalAddr().(*net.UDPAddr).AddrPort(), cert: cert, log: log, allow: o.Allow,
		byUfrag: map[string]*Session{}, byTxn: map[[12]byte]*Session{}, clients: map[*Session]struct{}{},
		byAddr: map[netip.AddrPort]*Session{}, done: make(chan struct{}), closing: make(chan struct{}), kaDone: make(chan struct{}),
	}
	driven, err := t.drive(o.Driver)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("listen %s: %w", o.Listen, err)
	}
	if !driven {
		go t.read()
	}
	if o.Keepalive > 0 {
		go t.keepalive(o.Keepalive)
	} else {
		close(t.kaDone)
	}
	return t, nil
}

// LocalAddr is the socket's address: the one ICE candidate.
func (t *Transport) LocalAddr() netip.AddrPort { return t.local }

// Fingerprint is the DTLS certificate's SHA-256 fingerprint for SDP.
func (t *Transport) Fingerprint() string { return t.cert.fingerprint }

// Close closes the socket and waits for the reader. Sessions must be closed
// by their owners.
// It is idempotent.
func (t *Transport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		close(t.closing)
		<-t.kaDone
		if t.driver != nil {
			t.driver.Remove(t) // before the socket closes
			close(t.done)
			err = t.raw.Close()
			return
		}
		err = t.conn.Close()
		<-t.done
	})
	return err
}

// drive hands the socket to d, when there is one and the system reads in
// batches (Linux); false leaves it to the reader goroutine. A driven socket
// leaves Go's netpoller (RawSocket).
func (t *Transport) drive(d Driver) (bool, error) {
	if d == nil || !batchesSupported {
		return false, nil
	}
	v6 := !t.local.Addr().Unmap().Is4()
	raw, err := detachSocket(t.conn, v6)
	if err != nil {
		return false, fmt.Errorf("driven socket: %w", err)
	}
	t.raw, t.driven, t.out = raw, newBatchReader(raw), newBatchWriter(raw, v6)
	if err := d.Add(t); err != nil {
		_ = raw.Close()
		return false, fmt.Errorf("driven socket: %w", err)
	}
	t.driver = d
	return true, nil
}

// keepalive repeats a check on every controlling session's selected pair.
func (t *Transport) keepalive(every time.Duration) {
	defer close(t.kaDone)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-t.closing:
			return
		case <-tick.C:
		}
		t.mu.Lock()
		sessions := make([]*Session, 0, len(t.clients))
		for s := range t.clients {
			sessions = append(sessions, s)
		}
		t.mu.Unlock()
		for _, s := range sessions {
			if to := s.remote.Load(); to != nil && !s.closed.Load() {
				_ = t.sendCheck(s, *to)
			}
		}
	}
}

// read is the socket's one reader: it demultiplexes every datagram by its
// first byte (RFC 7983) and source address. On Linux it takes a batch of
// datagrams per system call.
func (t *Transport) read() {
	defer close(t.done)
	var br *batchReader
	if rc, err := t.conn.SyscallConn(); err == nil {
		br = newBatchReader(rc)
	}
	if br == nil {
		t.readEach()
		return
	}
	var pace *time.Timer
	if t.pace > 0 {
		pace = time.NewTimer(time.Hour)
		defer pace.Stop()
	}
	for {
		n, err := br.next()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP errors and the like
		}
		start := time.Now()
		for i := range n {
			t.receive(br.packet(i), br.from(i))
		}
		if pace != nil && n < readBatch {
			pace.Reset(t.pace - time.Since(start))
			select {
			case <-pace.C:
			case <-t.closing:
				return
			}
		}
	}
}

// readEach is read with one datagram per system call.
func (t *Transport) readEach() {
	for {
		n, from, err := t.conn.ReadFromUDPAddrPort(t.buf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		t.receive(t.buf[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
	}
}

// receive takes one datagram on the reader goroutine.
func (t *Transport) receive(pkt []byte, from netip.AddrPort) {
	if t.allow != nil && !t.allow(from.Addr()) {
		return
	}
	if t.goneN.Load() > 0 {
		t.forgetGone()
	}
	t.handle(pkt, from)
}

// handle is one datagram on the reader goroutine.
func (t *Transport) handle(pkt []byte, from netip.AddrPort) {
	if len(pkt) == 0 {
		return
	}
	switch b := pkt[0]; {
	case b < 4:
		t.handleSTUN(pkt, from)
	case b >= 20 && b <= 63:
		if s := t.byAddr[from]; s != nil {
			s.dtlsIn(pkt)
		}
	case b >= 128 && b <= 191:
		if s := t.byAddr[from]; s != nil {
			t.handleSRTP(s, pkt)
		}
	}
}

// handleSRTP decrypts into the reader's buffer and hands the plain packet
// to the session's handler. Hot path: no allocation, no lock.
func (t *Transport) handleSRTP(s *Session, pkt []byte) {
	k := s.keys.Load()
	if k == nil || len(pkt) < 8 {
		return
	}
	if pt := pkt[1]; pt >= 192 && pt <= 223 { // RTCP (RFC 5761)
		out, err := k.remoteRTCP.DecryptRTCP(t.dec[:0], pkt, &t.rhdr)
		if err != nil {
			s.srtpFailed.Add(1)
			return
		}
		if h := s.cfg.OnRTCP; h != nil {
			h(out)
		}
		return
	}
	out, err := k.remoteRTP.DecryptRTP(t.dec[:0], pkt, &t.hdr)
	if err != nil {
		s.srtpFailed.Add(1)
		return
	}
	if h := s.cfg.OnRTP; h != nil {
		h(out)
	}
}

// bind makes from an address of s (reader goroutine only).
func (t *Transport) bind(s *Session, from netip.AddrPort) {
	if old := t.byAddr[from]; old != nil && old != s && !old.closed.Load() {
		return // the address belongs to a live session: first come, first served
	}
	t.byAddr[from] = s
	s.addrs = append(s.addrs, from)
}

// forgetGone drops closed sessions' addresses (reader goroutine only).
func (t *Transport) forgetGone() {
	t.mu.Lock()
	gone := t.gone
	t.gone = nil
	t.goneN.Store(0)
	t.mu.Unlock()
	for _, s := range gone {
		for _, a := range s.addrs {
			if t.byAddr[a] == s {
				delete(t.byAddr, a)
			}
		}
		s.addrs = nil
	}
}

// register adds a session's credentials.
func (t *Transport) register(s *Session) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.byUfrag[s.ufrag]; dup {
		return errors.New("ICE ufrag collision")
	}
	t.byUfrag[s.ufrag] = s
	if s.cfg.Role == Controlling {
		t.clients[s] = struct{}{}
	}
	return nil
}

// unregister removes a session; the reader forgets its addresses next.
func (t *Transport) unregister(s *Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byUfrag[s.ufrag] == s {
		delete(t.byUfrag, s.ufrag)
	}
	for id, o := range t.byTxn {
		if o == s {
			delete(t.byTxn, id)
		}
	}
	delete(t.clients, s)
	t.gone = append(t.gone, s)
	t.goneN.Store(int32(len(t.gone)))
}

// writeTo sends one datagram on the shared socket.
func (t *Transport) writeTo(b []byte, to netip.AddrPort) error {
	if t.raw != nil {
		return t.raw.SendTo(b, to)
	}
	_, err := t.conn.WriteToUDPAddrPort(b, to)
	return err
}
