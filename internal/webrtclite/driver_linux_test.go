package webrtclite

import (
	"context"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"

	"github.com/frontdesk-gw/frontdesk/internal/epollset"
)

// roundDriver is a Driver for tests: one goroutine calls ReadRound on its
// transport every millisecond until the transport removes itself.
type roundDriver struct {
	mu      sync.Mutex
	t       *Transport
	paused  bool
	stop    chan struct{}
	done    chan struct{}
	removed bool
}

func newRoundDriver() *roundDriver {
	return &roundDriver{stop: make(chan struct{}), done: make(chan struct{})}
}

func (d *roundDriver) Add(t *Transport) error {
	d.t = t
	go d.run()
	return nil
}

func (d *roundDriver) Remove(*Transport) {
	close(d.stop)
	<-d.done
	d.mu.Lock()
	d.removed = true
	d.mu.Unlock()
}

func (d *roundDriver) run() {
	defer close(d.done)
	for {
		select {
		case <-d.stop:
			return
		case <-time.After(time.Millisecond):
		}
		d.mu.Lock()
		if !d.paused {
			for {
				if _, full, err := d.t.ReadRound(); err != nil || !full {
					break
				}
			}
		}
		d.mu.Unlock()
	}
}

// pause stops the rounds, so that the test may call ReadRound itself.
func (d *roundDriver) pause() {
	d.mu.Lock()
	d.paused = true
	d.mu.Unlock()
}

// TestDrivenTransport: a transport given a Driver has no reader goroutine
// of its own; the driver's ReadRound calls carry ICE, DTLS and SRTP, a
// round allocates nothing per packet, and Close removes the transport from
// its driver before the socket closes.
func TestDrivenTransport(t *testing.T) {
	d := newRoundDriver()
	st, err := Listen(Options{Listen: loopback, Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.driver == nil {
		t.Fatal("the transport did not take its driver")
	}
	ct := listen(t, 100*time.Millisecond)
	atCli, atSrv := &sink{}, &sink{}
	var got int
	var counting sync.Mutex
	var cliKeep atomic.Bool // the client's handler copies packets only while set: the allocation checks count every goroutine
	cliKeep.Store(true)
	cli, err := ct.NewSession(Config{Role: Controlling, OnRTP: func(p []byte) {
		if cliKeep.Load() {
			atCli.add(p)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := st.NewSession(Config{Role: Lite, OnRTP: func(p []byte) {
		counting.Lock()
		got++
		first := got <= 20
		counting.Unlock()
		if first { // the allocation-free part below only counts
			atSrv.add(p)
		}
	}, Peer: Peer{DTLSServer: true, Ufrag: cli.LocalUfrag(), Pwd: cli.LocalPwd(), Fingerprint: "sha-256 " + ct.Fingerprint()}})
	if err != nil {
		t.Fatal(err)
	}
	cli.SetPeer(Peer{Ufrag: srv.LocalUfrag(), Pwd: srv.LocalPwd(), Fingerprint: "sha-256 " + st.Fingerprint(),
		Candidates: []netip.AddrPort{st.LocalAddr()}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- srv.Connect(ctx) }()
	go func() { errs <- cli.Connect(ctx) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("connect: %v", err)
		}
	}
	defer func() { _ = cli.Close(); _ = srv.Close() }()

	stack := make([]byte, 1<<20)
	stack = stack[:runtime.Stack(stack, true)]
	if n := strings.Count(string(stack), "webrtclite.(*Transport).read("); n != 1 {
		t.Errorf("%d transport reader goroutines, want 1 (the client's; the driven server has none)", n)
	}
	for i := range 20 {
		if err := cli.WriteRTP(rtpPacket(t, uint16(i))); err != nil {
			t.Fatal(err)
		}
		if err := srv.WriteRTP(rtpPacket(t, uint16(100+i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "20 packets each way", func() bool { return atCli.len() == 20 && atSrv.len() == 20 })

	d.pause()
	counting.Lock()
	before := got
	counting.Unlock()
	pkts := make([][]byte, 201)
	for i := range pkts {
		pkts[i] = rtpPacket(t, uint16(1000+i))
	}
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		if err := cli.WriteRTP(pkts[i]); err != nil {
			t.Fatal(err)
		}
		i++
		for n := 0; n == 0; { // loopback delivers at once; bounded by the test's timeout otherwise
			if n, _, err = st.ReadRound(); err != nil {
				t.Fatal(err)
			}
		}
	})
	counting.Lock()
	handled := got - before
	counting.Unlock()
	if handled != 201 {
		t.Errorf("ReadRound handed %d of 201 packets to the session", handled)
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet through ReadRound", allocs)
	}

	// The test is the driver now: queued packets go out with Flush (and
	// when the batch fills), in order, without allocating.
	atCliBefore := atCli.len()
	for i := range writeBatch + 6 {
		if err := srv.QueueRTP(rtpPacket(t, uint16(3000+i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queued packets at the client", func() bool { return atCli.len() == atCliBefore+writeBatch+6 })
	atCli.mu.Lock()
	for i, raw := range atCli.pkts[atCliBefore:] {
		var p rtp.Packet
		if err := p.Unmarshal(raw); err != nil || p.SequenceNumber != uint16(3000+i) {
			t.Errorf("queued packet %d arrived as %+v (err %v)", i, p.Header, err)
			break
		}
	}
	atCli.mu.Unlock()
	cliKeep.Store(false)
	out := make([][]byte, 201)
	for i := range out {
		out[i] = rtpPacket(t, uint16(4000+i))
	}
	i = 0
	allocs = testing.AllocsPerRun(200, func() {
		if err := srv.QueueRTP(out[i]); err != nil {
			t.Fatal(err)
		}
		i++
		if i%5 == 0 {
			if err := st.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet through QueueRTP and Flush", allocs)
	}
	// New sequence numbers: a replay of the packets above would be refused
	// by the client's SRTP, whose error costs an allocation in its reader.
	for i := range out {
		out[i] = rtpPacket(t, uint16(5000+i))
	}
	i = 0
	allocs = testing.AllocsPerRun(200, func() {
		if err := srv.WriteRTP(out[i]); err != nil { // the driven socket's own sendto
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet through WriteRTP on the driven socket", allocs)
	}

	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	removed := d.removed
	d.mu.Unlock()
	if !removed {
		t.Error("Close did not remove the transport from its driver")
	}
	if _, _, err := st.ReadRound(); err == nil {
		t.Error("ReadRound after Close: no error")
	}
}

// TestDrivenSocketLeavesNetpoller: a driven transport's socket is in no
// epoll set of the process (Go's netpoller would wake the runtime on each
// datagram that arrives between the driver's rounds), while an ordinary
// transport's socket is.
func TestDrivenSocketLeavesNetpoller(t *testing.T) {
	d := newRoundDriver()
	driven, err := Listen(Options{Listen: loopback, Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	defer driven.Close()
	plain := listen(t, 0)
	rc, err := plain.conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var plainIno uint64
	if err := rc.Control(func(fd uintptr) { plainIno = socketInode(t, int(fd)) }); err != nil {
		t.Fatal(err)
	}
	polled := polledInodes(t)
	if !polled[plainIno] {
		t.Fatalf("the check is blind: the ordinary transport's socket (inode %x) is in no epoll set", plainIno)
	}
	if ino := socketInode(t, driven.raw.fd); polled[ino] {
		t.Errorf("the driven transport's socket (inode %x) is still in an epoll set (Go's netpoller)", ino)
	}
}

func socketInode(t *testing.T, fd int) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// polledInodes lists the inodes of every file in an epoll set of this
// process (epollset.Inodes); without /proc the test is skipped.
func polledInodes(t *testing.T) map[uint64]bool {
	t.Helper()
	_, all, err := epollset.Inodes(-1)
	if err != nil {
		t.Skip("no /proc:", err)
	}
	return all
}
