package webrtclite

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// RawSocket is a UDP socket kept out of Go's netpoller: a driven
// transport's, or (DetachUDP) a lite call's PBX RTP socket that the
// bridge's PBX poller reads.
// Nobody waits on it there (the driver reads it without waiting), yet Go's
// edge-triggered registration would wake the runtime's sleeping thread on
// every datagram that arrives between two rounds: one wake-up per burst of
// packets instead of one per round. It is the same socket (a duplicate of
// the descriptor, the original closed, which takes it out of the netpoller),
// used with system calls that never wait; the lock keeps the descriptor
// from being closed (and its number reused) under a call.
type RawSocket struct {
	mu     sync.RWMutex
	fd     int
	closed bool
	v6     bool
}

// detachSocket moves conn's socket out of Go's netpoller; conn is closed.
func detachSocket(conn *net.UDPConn, v6 bool) (*RawSocket, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(s uintptr) { fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, fmt.Errorf("dup: %w", dupErr)
	}
	if err := conn.Close(); err != nil { // deregisters the original from the netpoller
		_ = unix.Close(fd)
		return nil, err
	}
	return &RawSocket{fd: fd, v6: v6}, nil
}

// DetachUDP moves conn's socket out of Go's netpoller for a caller that
// reads it from an epoll loop of its own (FD); conn is closed, also on
// most errors. Sends are SendTo.
func DetachUDP(conn *net.UDPConn) (*RawSocket, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	var domain int
	var domErr error
	if err := rc.Control(func(s uintptr) { domain, domErr = unix.GetsockoptInt(int(s), unix.SOL_SOCKET, unix.SO_DOMAIN) }); err != nil {
		return nil, err
	}
	if domErr != nil {
		return nil, fmt.Errorf("socket family: %w", domErr)
	}
	return detachSocket(conn, domain == unix.AF_INET6)
}

// FD is the descriptor, for reads that never wait (recvmmsg with
// MSG_DONTWAIT) from an epoll loop. It is valid until Close: the caller
// must not call Close while it uses it.
func (s *RawSocket) FD() int { return s.fd }

// Control, Read and Write make a RawSocket a syscall.RawConn for the batch
// reader and writer. Read and Write never wait: f's false (EAGAIN) is an
// error.
func (s *RawSocket) Control(f func(fd uintptr)) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return net.ErrClosed
	}
	f(uintptr(s.fd))
	return nil
}

func (s *RawSocket) Read(f func(fd uintptr) bool) error { return s.do(f) }

func (s *RawSocket) Write(f func(fd uintptr) bool) error { return s.do(f) }

func (s *RawSocket) do(f func(fd uintptr) bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return net.ErrClosed
	}
	if !f(uintptr(s.fd)) {
		return unix.EAGAIN
	}
	return nil
}

var _ syscall.RawConn = (*RawSocket)(nil)

// sendto sends one datagram without waiting (a full socket buffer drops
// it). No allocation.
func (s *RawSocket) SendTo(b []byte, to netip.AddrPort) error {
	if len(b) == 0 {
		return nil
	}
	var sa unix.RawSockaddrInet6
	n, err := putSockaddr(&sa, to, s.v6)
	if err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return net.ErrClosed
	}
	_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa)), uintptr(n))
	if errno != 0 {
		return errno
	}
	return nil
}

func (s *RawSocket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return unix.Close(s.fd)
}

// putSockaddr writes to as the socket's kind of address and returns its
// length.
func putSockaddr(sa *unix.RawSockaddrInet6, to netip.AddrPort, v6 bool) (uint32, error) {
	a := to.Addr()
	port := [2]byte{byte(to.Port() >> 8), byte(to.Port())}
	if v6 {
		*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()}
		*(*[2]byte)(unsafe.Pointer(&sa.Port)) = port
		return unix.SizeofSockaddrInet6, nil
	}
	a = a.Unmap()
	if !a.Is4() {
		return 0, fmt.Errorf("webrtclite: IPv6 destination %s on an IPv4 socket", to)
	}
	in := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
	*in = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
	*(*[2]byte)(unsafe.Pointer(&in.Port)) = port
	return unix.SizeofSockaddrInet4, nil
}
