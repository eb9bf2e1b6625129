package bridge

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/webrtclite"
)

// portPair is an even RTP port and the odd RTCP port above it, bound.
// When the PBX poller reads the RTP socket (lite calls, Linux) it is raw
// instead of rtp: the same socket out of Go's netpoller, which would
// otherwise wake the runtime for every datagram from the PBX.
type portPair struct {
	rtp, rtcp *net.UDPConn
	raw       *webrtclite.RawSocket
	port      int // the RTP port
}

// writeRTP sends one RTP datagram from the pair's RTP port, without
// waiting on a raw socket (a full buffer drops it). No allocation.
func (pp *portPair) writeRTP(b []byte, to netip.AddrPort) error {
	if pp.raw != nil {
		return pp.raw.SendTo(b, to)
	}
	_, err := pp.rtp.WriteToUDPAddrPort(b, to)
	return err
}

// portAllocator hands out RTP/RTCP port pairs from a range. Released pairs
// go to the back of a FIFO with a not-before time, so an old call's stray
// packets (a PBX still sending after BYE) cannot reach the next call.
type portAllocator struct {
	addr       netip.Addr
	quarantine time.Duration
	now        func() time.Time

	mu   sync.Mutex
	free []freePair // FIFO: oldest release first
}

type freePair struct {
	port      int
	notBefore time.Time
}

func newPortAllocator(addr netip.Addr, lo, hi int, quarantine time.Duration) *portAllocator {
	a := &portAllocator{addr: addr, quarantine: quarantine, now: time.Now}
	if lo%2 == 1 {
		lo++
	}
	for p := lo; p+1 <= hi; p += 2 {
		a.free = append(a.free, freePair{port: p})
	}
	return a
}

// get binds the first pair that is out of quarantine and free on the host.
// Pairs another process holds are moved to the back and skipped; the loop
// looks at each pair at most once.
func (a *portAllocator) get() (portPair, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for range len(a.free) {
		fp := a.free[0]
		if fp.notBefore.After(now) {
			break // FIFO: everything behind it was released later.
		}
		a.free = a.free[1:]
		pp, err := a.bind(fp.port)
		if err == nil {
			return pp, nil
		}
		a.free = append(a.free, freePair{port: fp.port, notBefore: now.Add(time.Second)})
	}
	return portPair{}, fmt.Errorf("bind RTP on %s: %w", a.addr, ErrNoPorts)
}

func (a *portAllocator) bind(port int) (portPair, error) {
	rtp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.addr, uint16(port))))
	if err != nil {
		return portPair{}, err
	}
	rtcp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.addr, uint16(port+1))))
	if err != nil {
		_ = rtp.Close()
		return portPair{}, err
	}
	return portPair{rtp: rtp, rtcp: rtcp, port: port}, nil
}

// put closes the pair's sockets and quarantines the port.
func (a *portAllocator) put(pp portPair) error {
	if pp.rtcp == nil {
		return nil
	}
	var err1 error
	if pp.raw != nil {
		err1 = pp.raw.Close() // waits for a send under way
	} else {
		err1 = pp.rtp.Close()
	}
	err2 := pp.rtcp.Close()
	a.mu.Lock()
	a.free = append(a.free, freePair{port: pp.port, notBefore: a.now().Add(a.quarantine)})
	a.mu.Unlock()
	if err1 != nil {
		return fmt.Errorf("close RTP port %d: %w", pp.port, err1)
	}
	if err2 != nil {
		return fmt.Errorf("close RTCP port %d: %w", pp.port+1, err2)
	}
	return nil
}
