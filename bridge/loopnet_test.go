package bridge

import (
	"net"
	"testing"

	"github.com/pion/transport/v5"
)

// recordingConn stands in for a socket: it records writes and serves reads
// from a list, so nothing reaches the network.
type recordingConn struct {
	transport.UDPConn
	wrote []net.Addr
	reads []net.Addr
}

func (c *recordingConn) WriteTo(p []byte, a net.Addr) (int, error) {
	c.wrote = append(c.wrote, a)
	return len(p), nil
}

func (c *recordingConn) WriteToUDP(p []byte, a *net.UDPAddr) (int, error) { return c.WriteTo(p, a) }

func (c *recordingConn) ReadFrom(p []byte) (int, net.Addr, error) {
	a := c.reads[0]
	c.reads = c.reads[1:]
	return 1, a, nil
}

func TestLoopbackConnTalksToLoopbackOnly(t *testing.T) {
	loop := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
	other := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4000} // documentation range
	rc := &recordingConn{reads: []net.Addr{other, other, loop}}
	c := loopbackConn{rc}

	if n, err := c.WriteTo([]byte("x"), other); n != 1 || err != nil {
		t.Fatalf("a dropped write must look sent: %d, %v", n, err)
	}
	if _, err := c.WriteToUDP([]byte("x"), other); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteTo([]byte("x"), loop); err != nil {
		t.Fatal(err)
	}
	if len(rc.wrote) != 1 || rc.wrote[0].String() != loop.String() {
		t.Fatalf("writes that reached the socket: %v; want only %v", rc.wrote, loop)
	}
	_, from, err := c.ReadFrom(make([]byte, 10))
	if err != nil || from.String() != loop.String() {
		t.Fatalf("read from %v, %v; want packets from %v skipped until %v", from, err, other, loop)
	}
}
