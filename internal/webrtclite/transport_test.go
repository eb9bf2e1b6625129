package webrtclite

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

// sink collects packets a handler got.
type sink struct {
	mu   sync.Mutex
	pkts [][]byte
}

func (k *sink) add(p []byte) {
	k.mu.Lock()
	k.pkts = append(k.pkts, append([]byte(nil), p...))
	k.mu.Unlock()
}

func (k *sink) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.pkts)
}

func listen(t *testing.T, keepalive time.Duration) *Transport {
	t.Helper()
	tr, err := Listen(Options{Listen: loopback, Keepalive: keepalive})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// pair connects a controlling client (DTLS client) to a lite server on two
// transports and returns both sessions and what each received.
func pair(t *testing.T) (cli, srv *Session, atCli, atSrv *sink) {
	t.Helper()
	atCli, atSrv = &sink{}, &sink{}
	cli, srv = pairWith(t, 100*time.Millisecond, atCli.add, atSrv.add)
	return cli, srv, atCli, atSrv
}

func pairWith(t *testing.T, keepalive time.Duration, onCli, onSrv func([]byte)) (cli, srv *Session) {
	t.Helper()
	ct, st := listen(t, keepalive), listen(t, 0)
	cli, err := ct.NewSession(Config{Role: Controlling, OnRTP: onCli})
	if err != nil {
		t.Fatal(err)
	}
	srv, err = st.NewSession(Config{Role: Lite, OnRTP: onSrv, Peer: Peer{
		DTLSServer: true, Ufrag: cli.LocalUfrag(), Pwd: cli.LocalPwd(), Fingerprint: "sha-256 " + ct.Fingerprint()}})
	if err != nil {
		t.Fatal(err)
	}
	cli.SetPeer(Peer{Ufrag: srv.LocalUfrag(), Pwd: srv.LocalPwd(), Fingerprint: "sha-256 " + st.Fingerprint(),
		Candidates: []netip.AddrPort{st.LocalAddr()}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- srv.Connect(ctx) }()
	go func() { errs <- cli.Connect(ctx) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("connect: %v", err)
		}
	}
	t.Cleanup(func() { _ = cli.Close(); _ = srv.Close() })
	return cli, srv
}

func rtpPacket(t testing.TB, seq uint16) []byte {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 7},
		Payload: make([]byte, 160)}
	p.Payload[0] = byte(seq)
	raw, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSessionsCarrySRTPBothWays: after ICE and DTLS, RTP written on one
// side arrives decrypted and unchanged on the other, both ways.
func TestSessionsCarrySRTPBothWays(t *testing.T) {
	cli, srv, atCli, atSrv := pair(t)
	for i := range 20 {
		if err := cli.WriteRTP(rtpPacket(t, uint16(i))); err != nil {
			t.Fatal(err)
		}
		if err := srv.WriteRTP(rtpPacket(t, uint16(100+i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "20 packets each way", func() bool { return atCli.len() == 20 && atSrv.len() == 20 })
	atSrv.mu.Lock()
	got := atSrv.pkts[3]
	atSrv.mu.Unlock()
	var p rtp.Packet
	if err := p.Unmarshal(got); err != nil || p.SequenceNumber != 3 || p.Payload[0] != 3 || len(p.Payload) != 160 {
		t.Errorf("server got %+v (err %v), want packet 3 as sent", p.Header, err)
	}
	if srv.Remote() != cli.t.LocalAddr() {
		t.Errorf("server sends to %s, want the client's %s", srv.Remote(), cli.t.LocalAddr())
	}
}

// TestStrangerCannotInjectMedia: RTP from an address that passed no check
// reaches no handler, nor does unauthenticated RTP from the peer's own
// address; the peer's real SRTP sent after them does.
func TestStrangerCannotInjectMedia(t *testing.T) {
	cli, srv, _, atSrv := pair(t)
	stranger := listen(t, 0)
	for i := range 10 {
		if err := stranger.writeTo(rtpPacket(t, uint16(i)), srv.t.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		// Plain RTP from the client's address: it fails SRTP.
		if err := cli.t.writeTo(rtpPacket(t, uint16(i)), srv.t.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if err := cli.WriteRTP(rtpPacket(t, 42)); err != nil {
		t.Fatal(err)
	}
	// One socket, read in order: once the real packet is there, the others
	// were seen.
	waitFor(t, "the client's SRTP packet", func() bool { return atSrv.len() >= 1 })
	if n := atSrv.len(); n != 1 {
		t.Errorf("server handler got %d packets, want only the client's SRTP one", n)
	}
	if n := srv.SRTPFailures(); n != 10 {
		t.Errorf("%d SRTP failures counted, want the 10 plain packets from the client's address", n)
	}
}

// TestReceiveDoesNotAllocate: demultiplexing, SRTP decryption and the hand
// to the session's handler allocate nothing per packet.
func TestReceiveDoesNotAllocate(t *testing.T) {
	const runs = 200
	var got int
	cli, srv := pairWith(t, 0, nil, func([]byte) { got++ })
	enc := cli.keys.Load().localRTP
	pkts := make([][]byte, runs+1)
	for i := range pkts {
		raw, err := enc.EncryptRTP(nil, rtpPacket(t, uint16(1000+i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		pkts[i] = raw
	}
	// The test calls the reader's handler itself, with the server's socket
	// closed so that its reader has ended.
	if err := srv.t.Close(); err != nil {
		t.Fatal(err)
	}
	from := cli.t.LocalAddr()
	buf := make([]byte, maxDatagram)
	i := 0
	allocs := testing.AllocsPerRun(runs, func() {
		n := copy(buf, pkts[i])
		i++
		srv.t.handle(buf[:n], from)
	})
	if got != runs+1 {
		t.Fatalf("handler got %d of %d packets", got, runs+1)
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet", allocs)
	}
}

// TestSendDoesNotAllocate: encrypting and sending a packet allocates
// nothing.
func TestSendDoesNotAllocate(t *testing.T) {
	cli, _ := pairWith(t, 0, nil, func([]byte) {})
	pkts := make([][]byte, 201)
	for i := range pkts {
		pkts[i] = rtpPacket(t, uint16(2000+i))
	}
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		if err := cli.WriteRTP(pkts[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet", allocs)
	}
}

// TestCloseWhileConnecting: closing a session that waits for its peer ends
// Connect at once with ErrClosed and leaves no goroutine behind (TestMain
// checks).
func TestCloseWhileConnecting(t *testing.T) {
	st := listen(t, 0)
	s, err := st.NewSession(Config{Role: Lite, Peer: Peer{DTLSServer: true, Ufrag: "abcd", Pwd: "0123456789abcdefghijklmn",
		Fingerprint: "sha-256 00"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Connect(ctx) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Connect after Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Connect still waiting after Close")
	}
}
