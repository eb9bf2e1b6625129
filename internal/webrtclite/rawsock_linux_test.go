package webrtclite

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestDetachUDPFamilies: a detached socket sends to a peer of its own
// family, and a wildcard IPv4 socket (Go opens a dual-stack IPv6 one) to an
// IPv4 peer: SendTo writes the address as the socket's kind.
func TestDetachUDPFamilies(t *testing.T) {
	for _, c := range []struct{ local, peer string }{
		{"127.0.0.1:0", "127.0.0.1:0"},
		{"0.0.0.0:0", "127.0.0.1:0"},
		{"[::1]:0", "[::1]:0"},
	} {
		t.Run(c.local, func(t *testing.T) {
			peer, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(c.peer)))
			if err != nil {
				t.Skip("no such loopback here:", err)
			}
			defer peer.Close()
			conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(c.local)))
			if err != nil {
				t.Skip("no such address here:", err)
			}
			port := conn.LocalAddr().(*net.UDPAddr).Port
			raw, err := DetachUDP(conn)
			if err != nil {
				t.Fatal(err)
			}
			if err := raw.SendTo([]byte("ping"), peer.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
				t.Fatalf("SendTo: %v", err)
			}
			_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 16)
			n, from, err := peer.ReadFromUDPAddrPort(buf)
			if err != nil || string(buf[:n]) != "ping" || int(from.Port()) != port {
				t.Fatalf("peer got %q from %v (err %v), want ping from port %d", buf[:n], from, err, port)
			}
			if err := raw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := raw.SendTo([]byte("ping"), from); err == nil {
				t.Error("SendTo after Close: no error")
			}
		})
	}
}
