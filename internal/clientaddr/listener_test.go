package clientaddr

import (
	"bufio"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// serveRemoteAddrs serves HTTP on ln and answers each request with its
// RemoteAddr.
func serveRemoteAddrs(t *testing.T, ln net.Listener) string {
	t.Helper()
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(r.RemoteAddr)) }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// roundTrip sends header (a PROXY header, or nothing) and a GET, and
// returns the status line and body.
func roundTrip(t *testing.T, addr string, header *proxyproto.Header) (string, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if header != nil {
		if _, err := header.WriteTo(conn); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.Status, b.String()
}

func proxyHeader(version byte, client string) *proxyproto.Header {
	ap := netip.MustParseAddrPort(client)
	return &proxyproto.Header{
		Version:           version,
		Command:           proxyproto.PROXY,
		TransportProtocol: proxyproto.TCPv4,
		SourceAddr:        net.TCPAddrFromAddrPort(ap),
		DestinationAddr:   &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80},
	}
}

// TestProxyProtocolOnlyFromTrustedPeers: a trusted balancer's v1 and v2
// headers name the client; a connection from anyone else keeps its own
// address and its PROXY header is no HTTP request.
func TestProxyProtocolOnlyFromTrustedPeers(t *testing.T) {
	trusting, err := New([]string{"127.0.0.1"}, HeaderXForwardedFor)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := serveRemoteAddrs(t, trusting.Listener(ln))
	for _, v := range []byte{1, 2} {
		if status, body := roundTrip(t, addr, proxyHeader(v, "203.0.113.9:5555")); !strings.HasPrefix(status, "200") || body != "203.0.113.9:5555" {
			t.Errorf("v%d from a trusted peer: %s %q, want the client from the header", v, status, body)
		}
	}
	if status, body := roundTrip(t, addr, nil); !strings.HasPrefix(status, "200") || !strings.HasPrefix(body, "127.0.0.1:") {
		t.Errorf("no header from a trusted peer: %s %q, want the peer", status, body)
	}

	distrusting, err := New([]string{"192.0.2.1"}, HeaderXForwardedFor)
	if err != nil {
		t.Fatal(err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr2 := serveRemoteAddrs(t, distrusting.Listener(ln2))
	if status, body := roundTrip(t, addr2, proxyHeader(1, "203.0.113.9:5555")); strings.HasPrefix(status, "200") {
		t.Errorf("v1 header from an untrusted peer was served: %s %q", status, body)
	}
	if status, body := roundTrip(t, addr2, nil); !strings.HasPrefix(status, "200") || !strings.HasPrefix(body, "127.0.0.1:") {
		t.Errorf("plain request from an untrusted peer: %s %q", status, body)
	}
}
