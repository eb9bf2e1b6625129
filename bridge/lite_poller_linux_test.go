package bridge

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/frontdesk-gw/frontdesk/internal/epollset"
)

// TestLiteSharedSocketInPoller: the engine's PBX poller also reads the
// shared browser-facing socket, so the lite stack wakes once per pace for
// both directions: no transport reader goroutine runs, media crosses both
// ways, and a call made after the poller went idle (no calls) connects too.
func TestLiteSharedSocketInPoller(t *testing.T) {
	e := testEngine(t, engineCfg{lite: true})
	if e.poller == nil {
		t.Skip("no PBX poller on this system")
	}
	for round := range 2 {
		es := establish(t, e, CallOptions{ID: fmt.Sprintf("merged-%d", round)}, nil)
		stack := make([]byte, 1<<20)
		stack = stack[:runtime.Stack(stack, true)]
		if strings.Contains(string(stack), "webrtclite.(*Transport).read(") {
			t.Fatal("the shared socket has a reader goroutine of its own; the poller should read it")
		}
		gw := gwAddr(t, es.gw)
		for i := range 10 {
			es.b.send(0, uint16(i), uint32(i)*160, make([]byte, 160))
			es.p.sendTo(gw, 0, 42, uint16(i), uint32(i)*160, make([]byte, 160))
		}
		eventually(t, "browser packets at the PBX", func() bool { return len(es.p.received()) >= 10 })
		eventually(t, "PBX packets at the browser", func() bool { return len(es.b.received()) >= 10 })
		if err := es.call.Close(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the poller without calls", func() bool {
			e.poller.mu.Lock()
			defer e.poller.mu.Unlock()
			return len(e.poller.removes) == 0 && !e.poller.changed.Load()
		})
	}
}

// TestLitePBXSocketLeavesNetpoller: a polled lite call's PBX RTP socket is
// in the poller's epoll set and in no other of the process (Go's netpoller
// would wake the runtime for each datagram from the PBX), while its RTCP
// socket, which a goroutine reads, stays in the netpoller; media crosses
// both ways on it, and Close closes it.
func TestLitePBXSocketLeavesNetpoller(t *testing.T) {
	e := testEngine(t, engineCfg{lite: true})
	if e.poller == nil {
		t.Skip("no PBX poller on this system")
	}
	es := establish(t, e, CallOptions{ID: "raw-pbx"}, nil)
	pp := es.call.audio.pp
	if pp.raw == nil || pp.rtp != nil {
		t.Fatal("the polled call's RTP socket is still a net.UDPConn")
	}
	rtpIno := fdInode(t, pp.raw.FD())
	rc, err := pp.rtcp.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var rtcpIno uint64
	if err := rc.Control(func(fd uintptr) { rtcpIno = fdInode(t, int(fd)) }); err != nil {
		t.Fatal(err)
	}
	gw := gwAddr(t, es.gw)
	for i := range 10 {
		es.b.send(0, uint16(i), uint32(i)*160, make([]byte, 160))
		es.p.sendTo(gw, 0, 42, uint16(i), uint32(i)*160, make([]byte, 160))
	}
	eventually(t, "browser packets at the PBX", func() bool { return len(es.p.received()) >= 10 })
	eventually(t, "PBX packets at the browser", func() bool { return len(es.b.received()) >= 10 })

	inPoller, elsewhere := epollInodes(t, e.poller.epfd)
	if !inPoller[rtpIno] {
		t.Fatalf("the check is blind: the RTP socket (inode %x) is not in the poller's epoll set", rtpIno)
	}
	if !elsewhere[rtcpIno] {
		t.Fatalf("the check is blind: the RTCP socket (inode %x) is in no other epoll set", rtcpIno)
	}
	if elsewhere[rtpIno] {
		t.Errorf("the RTP socket (inode %x) is still in another epoll set (Go's netpoller)", rtpIno)
	}
	if err := es.call.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pp.raw.SendTo([]byte{0}, gw); err == nil {
		t.Error("the raw RTP socket still sends after Close")
	}
}

func fdInode(t *testing.T, fd int) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// epollInodes is epollset.Inodes; without /proc the test is skipped.
func epollInodes(t *testing.T, epfd int) (in, others map[uint64]bool) {
	t.Helper()
	in, others, err := epollset.Inodes(epfd)
	if err != nil {
		t.Skip("no /proc:", err)
	}
	return in, others
}
