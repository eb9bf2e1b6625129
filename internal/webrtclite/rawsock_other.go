//go:build !linux

package webrtclite

import (
	"errors"
	"net"
	"net/netip"
)

// RawSocket is Linux's socket outside Go's netpoller; never made here.
type RawSocket struct{}

func detachSocket(*net.UDPConn, bool) (*RawSocket, error) {
	return nil, errors.New("no driven sockets on this system")
}

// DetachUDP is Linux's; elsewhere sockets stay in Go's netpoller.
func DetachUDP(*net.UDPConn) (*RawSocket, error) {
	return nil, errors.New("no driven sockets on this system")
}

func (*RawSocket) FD() int { return -1 }

func (*RawSocket) SendTo([]byte, netip.AddrPort) error {
	return errors.New("no driven sockets on this system")
}
func (*RawSocket) Close() error { return nil }

func (*RawSocket) Control(func(uintptr)) error { return errors.New("no driven sockets on this system") }
func (*RawSocket) Read(func(uintptr) bool) error {
	return errors.New("no driven sockets on this system")
}
func (*RawSocket) Write(func(uintptr) bool) error {
	return errors.New("no driven sockets on this system")
}
