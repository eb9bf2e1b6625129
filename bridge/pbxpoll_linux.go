package bridge

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/webrtclite"
	"golang.org/x/sys/unix"
)

// pbxPoller reads the PBX side (RTP) of every lite call on one goroutine:
// it polls the calls' sockets (epoll, without waiting) once per pollPace
// and hands each packet to the call's pbxRelay, which it then owns. A call
// has no goroutine parked on its RTP socket. The same loop runs the calls'
// timers — the RTP timeout check and the RTCP reports to the PBX — in a
// sweep every timerSweep, so an idle call wakes nothing of its own.
type pbxPoller struct {
	epfd int

	mu      sync.Mutex
	adds    []*polledPBX
	removes []*polledPBX
	changed atomic.Bool
	wake    chan struct{} // one slot: registrations while idle
	stop    chan struct{}
	done    chan struct{}

	// Owned by run.
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

// add starts polling conn for r, and running c's timers. The socket must
// stay open until remove returned.
func (p *pbxPoller) add(conn *net.UDPConn, r *pbxRelay, c *Call) (*polledPBX, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("PBX poller: %w", err)
	}
	pl := &polledPBX{relay: r, call: c, removed: make(chan struct{})}
	if err := rc.Control(func(fd uintptr) { pl.fd = int(fd) }); err != nil {
		return nil, fmt.Errorf("PBX poller: %w", err)
	}
	p.mu.Lock()
	p.adds = append(p.adds, pl)
	p.mu.Unlock()
	p.changed.Store(true)
	p.kick()
	return pl, nil
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
	p.adds, p.removes = nil, nil
	p.changed.Store(false)
	p.mu.Unlock()
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

// poll reads every socket that has packets, until it has none.
func (p *pbxPoller) poll() {
	n, err := unix.EpollWait(p.epfd, p.events[:], 0)
	if err != nil {
		if errors.Is(err, unix.EINTR) {
			return
		}
		return
	}
	for _, ev := range p.events[:n] {
		pl := p.byFD[ev.Fd]
		if pl == nil {
			continue
		}
		for {
			got, err := p.batch.Read(pl.fd)
			if err != nil || got == 0 {
				break // drained, or an ICMP-induced error: next round
			}
			for i := range got {
				pl.relay.handle(p.batch.Packet(i), p.batch.From(i))
			}
		}
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
