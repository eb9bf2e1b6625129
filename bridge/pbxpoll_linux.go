package bridge

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/webrtclite"
	"golang.org/x/sys/unix"
)

// pbxPoller is the lite stack's one media loop: once per pollPace it reads
// the shared browser-facing sockets (webrtclite transports it drives:
// browser -> PBX) and polls every lite call's PBX socket (epoll, without
// waiting: PBX -> browser), handing each packet to the call's pbxRelay,
// which it then owns. So the process wakes once per pace for both
// directions, and a call has no goroutine parked on its RTP socket. The
// same loop runs the calls' timers — the RTP timeout check and the RTCP
// reports to the PBX — in a sweep every timerSweep, so an idle call wakes
// nothing of its own. Without calls it sleeps: the shared sockets serve
// calls only, and their datagrams wait in the kernel until one exists.
type pbxPoller struct {
	epfd int

	mu            sync.Mutex
	adds          []*polledPBX
	removes       []*polledPBX
	sharedAdds    []*webrtclite.Transport
	sharedRemoves []*polledShared
	changed       atomic.Bool
	wake          chan struct{} // one slot: registrations while idle
	stop          chan struct{}
	done          chan struct{}

	// Owned by run.
	shared    []*polledShared
	byFD      map[int32]*polledPBX
	events    [256]unix.EpollEvent
	batch     *webrtclite.FDBatch
	nextSweep time.Time
	rtcpBuf   [maxPacket]byte
}

// timerSweep is how often the poller looks for calls whose timers are due;
// a timer fires at most this late (the shortest RTP timeout check interval
// is 10 ms).
const timerSweep = 10 * time.Millisecond

// sharedBatches bounds the batches a round takes from one shared socket,
// so that a flood there leaves the PBX side its turn.
const sharedBatches = 16

// polledShared is a shared browser-facing socket the poller reads.
type polledShared struct {
	t       *webrtclite.Transport
	removed chan struct{} // closed once the poller let go of it
}

// polledPBX is one call's RTP socket in the poller.
type polledPBX struct {
	fd      int
	relay   *pbxRelay
	call    *Call
	removed chan struct{} // closed once the poller let go of fd

	// Owned by run: the call's timers.
	nextCheck, nextReport time.Time
	report                reportState
}

func newPBXPoller() (*pbxPoller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("PBX poller: %w", err)
	}
	p := &pbxPoller{epfd: epfd, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		byFD: map[int32]*polledPBX{}, batch: webrtclite.NewFDBatch()}
	go p.run()
	return p, nil
}

// add starts polling pp's RTP socket for r, and running c's timers. The
// socket leaves Go's netpoller first (pp.raw replaces pp.rtp): nobody
// waits on it there, yet each datagram from the PBX would wake the
// runtime's sleeping thread. The socket must stay open until remove
// returned: the poller reads its descriptor without the socket's lock.
func (p *pbxPoller) add(pp *portPair, r *pbxRelay, c *Call) (*polledPBX, error) {
	raw, err := webrtclite.DetachUDP(pp.rtp)
	if err != nil {
		return nil, fmt.Errorf("PBX poller: %w", err)
	}
	pp.rtp, pp.raw = nil, raw
	pl := &polledPBX{fd: raw.FD(), relay: r, call: c, removed: make(chan struct{})}
	p.mu.Lock()
	p.adds = append(p.adds, pl)
	p.mu.Unlock()
	p.changed.Store(true)
	p.kick()
	return pl, nil
}

// Add makes the poller read t's socket (webrtclite.Driver).
func (p *pbxPoller) Add(t *webrtclite.Transport) error {
	p.mu.Lock()
	p.sharedAdds = append(p.sharedAdds, t)
	p.mu.Unlock()
	p.changed.Store(true)
	p.kick()
	return nil
}

// Remove returns once the poller no longer reads t (webrtclite.Driver).
func (p *pbxPoller) Remove(t *webrtclite.Transport) {
	ps := &polledShared{t: t, removed: make(chan struct{})}
	p.mu.Lock()
	p.sharedRemoves = append(p.sharedRemoves, ps)
	p.mu.Unlock()
	p.changed.Store(true)
	p.kick()
	select {
	case <-ps.removed:
	case <-p.done:
	}
}

// driver is what the lite stack's transports are driven by.
func (p *pbxPoller) driver() webrtclite.Driver {
	if p == nil {
		return nil
	}
	return p
}

// remove stops polling and waits until the poller no longer uses the
// socket (at most a pace and one round of packets).
func (p *pbxPoller) remove(pl *polledPBX) {
	p.mu.Lock()
	p.removes = append(p.removes, pl)
	p.mu.Unlock()
	p.changed.Store(true)
	p.kick()
	select {
	case <-pl.removed:
	case <-p.done:
	}
}

func (p *pbxPoller) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// close stops the poller (after every call was removed).
func (p *pbxPoller) close() error {
	close(p.stop)
	<-p.done
	return unix.Close(p.epfd)
}

func (p *pbxPoller) run() {
	defer close(p.done)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		if p.changed.Load() {
			p.apply()
		}
		if len(p.byFD) == 0 {
			select {
			case <-p.wake:
				continue
			case <-p.stop:
				return
			}
		}
		start := time.Now()
		p.poll()
		if !start.Before(p.nextSweep) {
			p.sweep(start)
			p.nextSweep = start.Add(timerSweep)
		}
		t.Reset(pollPace - time.Since(start))
		select {
		case <-t.C:
		case <-p.wake:
			if !t.Stop() {
				<-t.C
			}
		case <-p.stop:
			return
		}
	}
}

// apply takes the registrations and removals made since the last round.
func (p *pbxPoller) apply() {
	p.mu.Lock()
	adds, removes := p.adds, p.removes
	sharedAdds, sharedRemoves := p.sharedAdds, p.sharedRemoves
	p.adds, p.removes, p.sharedAdds, p.sharedRemoves = nil, nil, nil, nil
	p.changed.Store(false)
	p.mu.Unlock()
	for _, t := range sharedAdds {
		p.shared = append(p.shared, &polledShared{t: t})
	}
	for _, r := range sharedRemoves {
		for i, ps := range p.shared {
			if ps.t == r.t {
				p.shared = append(p.shared[:i], p.shared[i+1:]...)
				break
			}
		}
		close(r.removed)
	}
	now := time.Now()
	for _, pl := range adds {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(pl.fd)}
		if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, pl.fd, &ev); err == nil {
			p.byFD[int32(pl.fd)] = pl
			pl.nextCheck = now.Add(pl.call.checkEvery())
			pl.nextReport = now.Add(pl.call.rtcpEvery)
		}
	}
	for _, pl := range removes {
		if p.byFD[int32(pl.fd)] == pl {
			_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, pl.fd, nil)
			delete(p.byFD, int32(pl.fd))
		}
		close(pl.removed)
	}
}

// poll reads what waits on the shared sockets and on every PBX socket
// that has packets.
func (p *pbxPoller) poll() {
	for _, ps := range p.shared {
		for range sharedBatches {
			if _, full, err := ps.t.ReadRound(); err != nil || !full {
				break // drained, or closed (its Remove is on the way)
			}
		}
	}
	n, err := unix.EpollWait(p.epfd, p.events[:], 0)
	if err != nil {
		return // EINTR: next round
	}
	for _, ev := range p.events[:n] {
		pl := p.byFD[ev.Fd]
		if pl == nil {
			continue
		}
		for {
			got, err := p.batch.Read(pl.fd)
			if err != nil {
				break // an ICMP-induced error: next round
			}
			for i := range got {
				pl.relay.handle(p.batch.Packet(i), p.batch.From(i))
			}
			if got < webrtclite.ReadBatch {
				break // drained: epoll reports the socket again when more came
			}
		}
	}
	for _, ps := range p.shared {
		_ = ps.t.Flush() // what the relays queued toward browsers; a refused datagram is a lost packet
	}
}

// sweep runs the timers that are due: each call's RTP timeout check and
// its RTCP report to the PBX.
func (p *pbxPoller) sweep(now time.Time) {
	for _, pl := range p.byFD {
		c := pl.call
		if !now.Before(pl.nextCheck) {
			c.checkTimeout()
			pl.nextCheck = now.Add(c.checkEvery())
		}
		if !now.Before(pl.nextReport) {
			c.sendReport(pl.relay.s, &pl.report, p.rtcpBuf[:0], false)
			pl.nextReport = now.Add(c.rtcpEvery)
		}
	}
}
