package bridge

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/pion/sdp/v3"
)

func TestCandidatePolicy(t *testing.T) {
	def, err := newCandidatePolicy(nil)
	if err != nil {
		t.Fatal(err)
	}
	lan, err := newCandidatePolicy([]string{"10.20.0.0/16", "127.0.0.1", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr         string
		byDefault    bool
		withNetworks bool
	}{
		{"8.8.8.8", true, true},
		{"2a00:1450:4001::200e", true, true},
		{"127.0.0.1", false, true},
		{"127.0.0.2", false, false},
		{"::1", false, false},
		{"10.20.1.1", false, true},
		{"10.21.1.1", false, false},
		{"172.16.0.1", false, false},
		{"192.168.1.10", false, false},
		{"fd12:3456::1", false, true},
		{"fc00::1", false, false},
		{"169.254.169.254", false, false}, // cloud metadata
		{"fe80::1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.251", false, false},
		{"ff02::fb", false, false},
		{"255.255.255.255", false, false},
		{"100.64.0.1", false, false},
		{"192.0.2.1", false, false},
		{"198.18.0.1", false, false},
		{"240.0.0.1", false, false},
		{"2001:db8::1", false, false},
		{"::ffff:127.0.0.1", false, true},
		{"::ffff:8.8.8.8", true, true},
		{"64:ff9b::a14:101", false, true},  // NAT64 of 10.20.1.1
		{"64:ff9b::808:808", true, true},   // NAT64 of 8.8.8.8
		{"2002:c0a8:101::1", false, false}, // 6to4 of 192.168.1.1
		{"2002:808:808::1", true, true},    // 6to4 of 8.8.8.8
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.addr)
		if got := def.allows(a); got != tt.byDefault {
			t.Errorf("default policy allows %s = %v, want %v", tt.addr, got, tt.byDefault)
		}
		if got := lan.allows(a); got != tt.withNetworks {
			t.Errorf("with networks, allows %s = %v, want %v", tt.addr, got, tt.withNetworks)
		}
	}
	if _, err := newCandidatePolicy([]string{"lan"}); err == nil {
		t.Error("a network named lan accepted")
	}
}

// withCandidates adds lines to every m-line of an offer.
func withCandidates(offer string, lines []string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(offer, "\n") {
		b.WriteString(l)
		if strings.HasPrefix(l, "a=mid:") {
			for _, c := range lines {
				b.WriteString("a=" + c + "\r\n")
			}
		}
	}
	return b.String()
}

func hostCandidate(i int, addr string, port int) string {
	return fmt.Sprintf("candidate:%d 1 udp %d %s %d typ host", 1000+i, 2122260223-i, addr, port)
}

// hostileCandidates are 80 loopback candidates on the given ports, with
// private, link-local, mDNS and host-name candidates between them.
func hostileCandidates(ports []int) []string {
	var out []string
	for i, p := range ports {
		out = append(out, hostCandidate(i, "127.0.0.1", p))
		switch i % 8 {
		case 1:
			out = append(out, hostCandidate(100+i, "10.0.0.1", p))
		case 3:
			out = append(out, hostCandidate(100+i, "192.168.1.1", p))
		case 5:
			out = append(out, hostCandidate(100+i, "169.254.169.254", 80))
		case 6:
			out = append(out, hostCandidate(100+i, "0f4a8e3c-0000-4000-8000-000000000000.local", p))
		case 7:
			out = append(out, hostCandidate(100+i, "intranet.example.com", p))
		}
	}
	return out
}

func candidateLines(t *testing.T, offer string) []string {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		t.Fatalf("offer after filtering: %v", err)
	}
	var out []string
	for _, m := range sd.MediaDescriptions {
		for _, a := range m.Attributes {
			if a.IsICECandidate() {
				out = append(out, a.Value)
			}
		}
	}
	return out
}

// TestOfferCandidatesFiltered: what pion gets of a browser offer keeps only
// allowed candidates, at most maxCandidates distinct ones over all m-lines.
func TestOfferCandidatesFiltered(t *testing.T) {
	ports := make([]int, 80)
	for i := range ports {
		ports[i] = 20000 + i
	}
	lines := hostileCandidates(ports)
	offer := withCandidates(readTestdata(t, "offer-chrome-audio.sdp"), lines)
	for _, tt := range []struct {
		name string
		ec   engineCfg
		want int // candidate lines kept
	}{
		{name: "default: public only", ec: engineCfg{publicOnly: true}, want: 0},
		{name: "loopback allowed", ec: engineCfg{candidateNetworks: []string{"127.0.0.0/8"}}, want: maxCandidates},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := testEngine(t, tt.ec)
			c, err := e.NewCall(offer, CallOptions{ID: "cands"})
			if err != nil {
				t.Fatalf("NewCall: %v", err)
			}
			defer c.Close()
			kept := candidateLines(t, c.offer)
			if len(kept) != tt.want {
				t.Errorf("kept %d candidates, want %d:\n%s", len(kept), tt.want, strings.Join(kept, "\n"))
			}
			for _, k := range kept {
				if !strings.Contains(k, " 127.0.0.1 ") {
					t.Errorf("kept %q", k)
				}
			}
		})
	}
	// Repeated in bundled m-lines, a candidate counts once.
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		t.Fatal(err)
	}
	sd.MediaDescriptions = append(sd.MediaDescriptions, sd.MediaDescriptions[0], sd.MediaDescriptions[0])
	p, err := newCandidatePolicy([]string{"127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	p.filter(&sd)
	for i, m := range sd.MediaDescriptions {
		n := 0
		for _, a := range m.Attributes {
			if a.IsICECandidate() {
				n++
			}
		}
		if n != maxCandidates {
			t.Errorf("m-line %d keeps %d candidates, want the same %d", i, n, maxCandidates)
		}
	}
}

// stunListeners are loopback UDP sockets that record whether a STUN
// message reached them.
type stunListeners struct {
	conns []*net.UDPConn
	hit   []atomic.Bool
	wg    sync.WaitGroup
}

func newSTUNListeners(t *testing.T, n int) *stunListeners {
	t.Helper()
	l := &stunListeners{hit: make([]atomic.Bool, n)}
	for i := range n {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
		if err != nil {
			t.Fatal(err)
		}
		l.conns = append(l.conns, c)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			buf := make([]byte, 1500)
			for {
				n, _, err := c.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				// A STUN message: two zero bits, then the magic cookie.
				if n >= 20 && buf[0]&0xc0 == 0 && binary.BigEndian.Uint32(buf[4:]) == 0x2112a442 {
					l.hit[i].Store(true)
				}
			}
		}()
	}
	t.Cleanup(func() {
		for _, c := range l.conns {
			_ = c.Close()
		}
		l.wg.Wait()
	})
	return l
}

func (l *stunListeners) ports() []int {
	out := make([]int, len(l.conns))
	for i, c := range l.conns {
		out[i] = c.LocalAddr().(*net.UDPAddr).Port
	}
	return out
}

func (l *stunListeners) reached() int {
	n := 0
	for i := range l.hit {
		if l.hit[i].Load() {
			n++
		}
	}
	return n
}

// TestConnectivityChecksBounded: an offer naming 80 loopback ports (and
// private addresses) makes the gateway send STUN checks to none of them by
// default, and to at most maxCandidates when loopback is allowed. The
// engine is the loopback-only one of the tests' configs, so nothing can
// leave this host whatever the offer names.
func TestConnectivityChecksBounded(t *testing.T) {
	// observe is how long pion gets to send checks to more addresses; its
	// check interval is 200 ms.
	const observe = 1500 * time.Millisecond
	for _, tt := range []struct {
		name     string
		networks []string
		want     int
	}{
		{name: "default: public only", want: 0},
		{name: "loopback allowed", networks: []string{"127.0.0.0/8"}, want: maxCandidates},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Calls{WebRTCPorts: "41000-41999", RTPPorts: "31000-31999", SRTP: "off", RTPTimeout: 5 * time.Second,
				WebRTCIPs: []string{"127.0.0.1"}, CandidateNetworks: tt.networks}
			e, err := newEngine(cfg, "127.0.0.1", testLog(t))
			if err != nil {
				t.Fatal(err)
			}
			l := newSTUNListeners(t, 80)
			offer := withCandidates(readTestdata(t, "offer-chrome-audio.sdp"), hostileCandidates(l.ports()))
			c, err := e.NewCall(offer, CallOptions{ID: "probe"})
			if err != nil {
				t.Fatalf("NewCall: %v", err)
			}
			defer c.Close()
			p := newPBX(t)
			if _, err := c.SIPAnswer(pbxAnswer(p.port(), "sendrecv", "0 PCMU/8000"), true); err != nil {
				t.Fatalf("SIPAnswer: %v", err)
			}
			if tt.want > 0 {
				eventually(t, "checks to the allowed candidates", func() bool { return l.reached() == tt.want })
			}
			deadline := time.Now().Add(observe)
			for time.Now().Before(deadline) {
				if n := l.reached(); n > tt.want {
					t.Fatalf("STUN checks reached %d of the offer's 80 ports, want at most %d", n, tt.want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
