package webrtclite

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchesSupported: recvmmsg and sendmmsg exist here.
const batchesSupported = true

// readBatch is how many datagrams one recvmmsg takes at most.
const readBatch = 32

// ReadBatch is how many datagrams an FDBatch.Read takes at most: fewer
// means the socket had no more.
const ReadBatch = readBatch

// mmsghdr is struct mmsghdr (<sys/socket.h>): a msghdr and the length
// received into it.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [4]byte
}

// batchReader receives up to readBatch datagrams per system call
// (recvmmsg), through the socket's raw connection so that Go's poller
// still parks the reader while nothing arrives. Its buffers are reused:
// nothing is allocated per packet.
type batchReader struct {
	rc    syscall.RawConn
	msgs  [readBatch]mmsghdr
	iovs  [readBatch]unix.Iovec
	names [readBatch]unix.RawSockaddrAny
	bufs  [readBatch][maxDatagram]byte
	got   int
	errno syscall.Errno
	read  func(fd uintptr) bool // r.recv, bound once
	now   func(fd uintptr)      // r.recv without waiting, bound once
}

func newBatchReader(rc syscall.RawConn) *batchReader {
	r := &batchReader{rc: rc}
	r.init()
	return r
}

// init points the headers at the reader's own buffers.
func (r *batchReader) init() {
	for i := range r.msgs {
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(maxDatagram)
		r.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		r.msgs[i].hdr.Iov = &r.iovs[i]
		r.msgs[i].hdr.SetIovlen(1)
	}
	r.read = r.recv
	r.now = func(fd uintptr) { r.recv(fd) }
}

// recv is one non-blocking recvmmsg; false asks the poller to wait.
func (r *batchReader) recv(fd uintptr) bool {
	for i := range r.msgs {
		r.msgs[i].hdr.Namelen = uint32(unsafe.Sizeof(r.names[i]))
	}
	n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.msgs[0])), readBatch, unix.MSG_DONTWAIT, 0, 0)
	r.got, r.errno = int(n), errno
	if errno != 0 {
		r.got = 0
	}
	return errno != unix.EAGAIN && errno != unix.EINTR
}

// next waits for datagrams and returns how many arrived; packet(i) and
// from(i) read them. An error means the socket is closed or broken.
func (r *batchReader) next() (int, error) {
	if err := r.rc.Read(r.read); err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, r.errno
	}
	return r.got, nil
}

// poll is next without waiting: 0 when nothing is there.
func (r *batchReader) poll() (int, error) {
	if err := r.rc.Control(r.now); err != nil {
		return 0, err
	}
	switch r.errno {
	case 0:
		return r.got, nil
	case unix.EAGAIN, unix.EINTR:
		return 0, nil
	}
	return 0, r.errno
}

func (r *batchReader) packet(i int) []byte { return r.bufs[i][:r.msgs[i].n] }

// from is the sender of datagram i (IPv4-mapped addresses unmapped).
func (r *batchReader) from(i int) netip.AddrPort {
	sa := &r.names[i]
	switch sa.Addr.Family {
	case unix.AF_INET:
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&in.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		in := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&in.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(in.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

// FDBatch receives batches of datagrams from sockets the caller polls
// itself (no Go poller involved): one recvmmsg on a given descriptor,
// without waiting. Its buffers are reused; nothing is allocated per packet.
type FDBatch struct{ r batchReader }

// NewFDBatch returns an FDBatch.
func NewFDBatch() *FDBatch {
	b := &FDBatch{}
	b.r.init()
	return b
}

// Read takes what is waiting on fd, up to a batch: the count, 0 when
// nothing is (EAGAIN), or an error.
func (b *FDBatch) Read(fd int) (int, error) {
	b.r.recv(uintptr(fd))
	if b.r.errno == unix.EAGAIN || b.r.errno == unix.EINTR {
		return 0, nil
	}
	if b.r.errno != 0 {
		return 0, b.r.errno
	}
	return b.r.got, nil
}

// Packet and From read datagram i of the last Read.
func (b *FDBatch) Packet(i int) []byte       { return b.r.packet(i) }
func (b *FDBatch) From(i int) netip.AddrPort { return b.r.from(i) }
