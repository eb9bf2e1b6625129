//go:build !linux

package webrtclite

import (
	"errors"
	"net"
	"net/netip"
)

// rawSocket is Linux's socket outside Go's netpoller; never made here.
type rawSocket struct{}

func detachSocket(*net.UDPConn, bool) (*rawSocket, error) {
	return nil, errors.New("no driven sockets on this system")
}

func (*rawSocket) sendto([]byte, netip.AddrPort) error {
	return errors.New("no driven sockets on this system")
}
func (*rawSocket) close() error { return nil }

func (*rawSocket) Control(func(uintptr)) error { return errors.New("no driven sockets on this system") }
func (*rawSocket) Read(func(uintptr) bool) error {
	return errors.New("no driven sockets on this system")
}
func (*rawSocket) Write(func(uintptr) bool) error {
	return errors.New("no driven sockets on this system")
}
