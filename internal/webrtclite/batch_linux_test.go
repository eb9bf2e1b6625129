package webrtclite

import (
	"net"
	"testing"
)

// TestBatchReaderTakesSeveralAndDoesNotAllocate: one recvmmsg returns every
// datagram waiting, each with its sender, and reading allocates nothing.
func TestBatchReaderTakesSeveralAndDoesNotAllocate(t *testing.T) {
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(loopback))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	peer, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(loopback))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	br := newBatchReader(rc)
	to := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	for i := range 5 {
		if _, err := peer.WriteToUDPAddrPort([]byte{byte(i), 1, 2}, to); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	for got < 5 {
		n, err := br.next()
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if p := br.packet(i); len(p) != 3 || p[0] != byte(got) {
				t.Fatalf("datagram %d: %v", got, p)
			}
			if br.from(i) != peer.LocalAddr().(*net.UDPAddr).AddrPort() {
				t.Fatalf("datagram %d from %s, want %s", got, br.from(i), peer.LocalAddr())
			}
			got++
		}
	}
	pkt := []byte{9, 9, 9}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := peer.WriteToUDPAddrPort(pkt, to); err != nil {
			t.Fatal(err)
		}
		if n, err := br.next(); err != nil || n < 1 {
			t.Fatalf("next: %d, %v", n, err)
		}
		_ = br.from(0)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per read", allocs)
	}
}
