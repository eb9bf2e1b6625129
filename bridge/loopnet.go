package bridge

import (
	"net"

	"github.com/pion/transport/v5"
)

// loopbackNet is the network of a WebRTC leg that serves only this host
// (calls.webrtc_ips lists only loopback addresses, as tests do): it
// exchanges packets with loopback peers only. Whatever candidates a browser
// offers, nothing is sent to another address, and nothing from one is
// answered.
type loopbackNet struct{ transport.Net }

func (n loopbackNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return loopbackConn{c}, nil
}

func (n loopbackNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	return loopbackPacketConn{c}, nil
}

func isLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.IP.IsLoopback()
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	}
	return false
}

// loopbackConn drops packets from and to anything but loopback.
type loopbackConn struct{ transport.UDPConn }

func (c loopbackConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(p)
		if err != nil || isLoopback(addr) {
			return n, addr, err
		}
	}
}

func (c loopbackConn) ReadFromUDP(p []byte) (int, *net.UDPAddr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFromUDP(p)
		if err != nil || addr.IP.IsLoopback() {
			return n, addr, err
		}
	}
}

func (c loopbackConn) ReadMsgUDP(p, oob []byte) (int, int, int, *net.UDPAddr, error) {
	for {
		n, oobn, flags, addr, err := c.UDPConn.ReadMsgUDP(p, oob)
		if err != nil || addr.IP.IsLoopback() {
			return n, oobn, flags, addr, err
		}
	}
}

func (c loopbackConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !isLoopback(addr) {
		return len(p), nil
	}
	return c.UDPConn.WriteTo(p, addr)
}

func (c loopbackConn) WriteToUDP(p []byte, addr *net.UDPAddr) (int, error) {
	if !addr.IP.IsLoopback() {
		return len(p), nil
	}
	return c.UDPConn.WriteToUDP(p, addr)
}

func (c loopbackConn) WriteMsgUDP(p, oob []byte, addr *net.UDPAddr) (int, int, error) {
	if !addr.IP.IsLoopback() {
		return len(p), len(oob), nil
	}
	return c.UDPConn.WriteMsgUDP(p, oob, addr)
}

// loopbackPacketConn is loopbackConn for a plain PacketConn.
type loopbackPacketConn struct{ net.PacketConn }

func (c loopbackPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || isLoopback(addr) {
			return n, addr, err
		}
	}
}

func (c loopbackPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !isLoopback(addr) {
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, addr)
}
