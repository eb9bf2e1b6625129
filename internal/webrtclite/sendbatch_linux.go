package webrtclite

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// writeBatch is how many datagrams one sendmmsg sends at most.
const writeBatch = 64

// batchWriter collects datagrams for the shared socket and sends them with
// one sendmmsg. It belongs to the transport's driver goroutine; its buffers
// are reused, nothing is allocated per packet.
type batchWriter struct {
	rc    syscall.RawConn
	v6    bool // the socket is IPv6: destinations are sockaddr_in6
	msgs  [writeBatch]mmsghdr
	iovs  [writeBatch]unix.Iovec
	names [writeBatch]unix.RawSockaddrInet6
	bufs  [writeBatch][maxDatagram + 64]byte
	n     int // queued
	sent  int // of those, sent by the flush under way
	errno syscall.Errno
	send  func(fd uintptr) bool // w.sendmmsg, bound once
}

func newBatchWriter(rc syscall.RawConn, v6 bool) *batchWriter {
	w := &batchWriter{rc: rc, v6: v6}
	for i := range w.msgs {
		w.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&w.names[i]))
		w.msgs[i].hdr.Iov = &w.iovs[i]
		w.msgs[i].hdr.SetIovlen(1)
	}
	w.send = w.sendmmsg
	return w
}

// full reports that add needs a flush first.
func (w *batchWriter) full() bool { return w.n == writeBatch }

// slot is the (empty) buffer for the next datagram.
func (w *batchWriter) slot() []byte { return w.bufs[w.n][:0] }

// add queues b, normally written into slot(), for to.
func (w *batchWriter) add(b []byte, to netip.AddrPort) error {
	if len(b) == 0 {
		return nil
	}
	i := w.n
	n, err := putSockaddr(&w.names[i], to, w.v6)
	if err != nil {
		return err
	}
	w.msgs[i].hdr.Namelen = n
	w.iovs[i].Base = &b[0]
	w.iovs[i].SetLen(len(b))
	w.n++
	return nil
}

// flush sends what is queued. A datagram the kernel refuses (ICMP-induced
// errors and the like) is dropped and the rest still go; the first such
// error is returned.
func (w *batchWriter) flush() error {
	var first error
	defer func() { w.n, w.sent = 0, 0 }()
	for w.sent < w.n { // each pass sends at least one datagram or drops one
		if err := w.rc.Write(w.send); err != nil {
			return err // closed
		}
		if w.errno != 0 {
			if first == nil {
				first = w.errno
			}
			w.sent++
		}
	}
	return first
}

// sendmmsg is one non-blocking sendmmsg of the unsent rest; false asks the
// poller to wait for room in the socket buffer.
func (w *batchWriter) sendmmsg(fd uintptr) bool {
	n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&w.msgs[w.sent])), uintptr(w.n-w.sent), unix.MSG_DONTWAIT, 0, 0)
	if errno == unix.EAGAIN || errno == unix.EINTR {
		return false
	}
	w.errno = errno
	if errno == 0 {
		w.sent += int(n)
	}
	return true
}
