package bridge

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var loopback = netip.MustParseAddr("127.0.0.1")

// loopbackOnly keeps a pion API on 127.0.0.1: tests send nothing else.
func loopbackOnly(se *webrtc.SettingEngine) {
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
}

type engineCfg struct {
	rtpPorts   string
	sdes       bool
	quarantine time.Duration
	learnQuiet time.Duration // 0: defaultLearnQuiet
	// candidateNetworks is calls.candidate_networks; nil means 127.0.0.0/8,
	// which the tests' loopback setup needs; publicOnly leaves it empty.
	candidateNetworks []string
	publicOnly        bool
	pbxMediaIP        string // config.Calls.PBXMediaIP
	// lite runs voice calls on calls.webrtc_stack lite; so do all engines
	// when FRONTDESK_TEST_WEBRTC_STACK=lite (a sweep of every test).
	lite bool
	// publicIP is calls.public_ip.
	publicIP string
	// rtcpEvery, when set, is the RTCP report interval toward the PBX.
	rtcpEvery time.Duration
}

func testEngine(t testing.TB, ec engineCfg) *Engine {
	t.Helper()
	if ec.rtpPorts == "" {
		ec.rtpPorts = "31000-31999"
	}
	cfg := config.Calls{WebRTCPorts: "41000-41999", RTPPorts: ec.rtpPorts, SRTP: "off", RTPTimeout: 5 * time.Second}
	if ec.sdes {
		cfg.SRTP = "sdes"
	}
	if ec.lite || os.Getenv("FRONTDESK_TEST_WEBRTC_STACK") == "lite" {
		cfg.WebRTCStack, cfg.WebRTCIPs = "lite", []string{"127.0.0.1"}
	}
	cfg.PublicIP = ec.publicIP
	cfg.CandidateNetworks = ec.candidateNetworks
	if cfg.CandidateNetworks == nil && !ec.publicOnly {
		cfg.CandidateNetworks = []string{"127.0.0.0/8"}
	}
	cfg.PBXMediaIP = ec.pbxMediaIP
	e, err := newEngine(cfg, "127.0.0.1", testLog(t), func(s *engineSetup) {
		loopbackOnly(s.settings)
		if ec.quarantine != 0 {
			s.quarantine = ec.quarantine
		}
		if ec.learnQuiet != 0 {
			s.learnQuiet = ec.learnQuiet
		}
		if ec.rtcpEvery != 0 {
			s.rtcpEvery = ec.rtcpEvery
		}
	})
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func testLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// browser is a pion PeerConnection standing in for the visitor's browser.
type browser struct {
	t     testing.TB
	pc    *webrtc.PeerConnection
	track *relayTrack // raw writer: lets the test choose PTs (DTMF)
	mu    sync.Mutex
	got   []*rtp.Packet
	wg    sync.WaitGroup
}

func newBrowser(t testing.TB, video bool) *browser {
	t.Helper()
	me := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, Channels: 1, SDPFmtpLine: "0-15"}, PayloadType: 126},
	} {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	if video {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	loopbackOnly(&se)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, pc: pc, track: newRelayTrack(webrtc.RTPCodecTypeAudio, webrtc.MimeTypePCMU, "browser")}
	if _, err := pc.AddTrack(b.track); err != nil {
		t.Fatal(err)
	}
	if video {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				b.mu.Lock()
				b.got = append(b.got, p)
				b.mu.Unlock()
			}
		}()
	})
	t.Cleanup(func() { _ = pc.Close(); b.wg.Wait() })
	return b
}

// offer returns a complete offer (gathering done), like a browser's.
func (b *browser) offer() string {
	b.t.Helper()
	o, err := b.pc.CreateOffer(nil)
	if err != nil {
		b.t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(o); err != nil {
		b.t.Fatal(err)
	}
	<-g
	return b.pc.LocalDescription().SDP
}

func (b *browser) accept(answer string) {
	b.t.Helper()
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		b.t.Fatalf("browser: set answer: %v\n%s", err, answer)
	}
}

// send writes one packet with the given PT, seq, ts and payload.
func (b *browser) send(pt uint8, seq uint16, ts uint32, payload []byte) {
	h := rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts}
	if _, err := b.track.write(&h, payload); err != nil {
		b.t.Errorf("browser send: %v", err)
	}
}

func (b *browser) received() []*rtp.Packet {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*rtp.Packet(nil), b.got...)
}

// pbx is a UDP socket standing in for the PBX's media endpoint.
type pbx struct {
	t    testing.TB
	conn *net.UDPConn
	mu   sync.Mutex
	got  []*rtp.Packet
	from []netip.AddrPort
	done chan struct{}
	// decrypt, when set, turns SRTP into RTP before recording.
	decrypt func([]byte) ([]byte, error)
}

func newPBX(t testing.TB) *pbx {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	p := &pbx{t: t, conn: c, done: make(chan struct{})}
	go p.read()
	t.Cleanup(func() { _ = c.Close(); <-p.done })
	return p
}

func (p *pbx) read() {
	defer close(p.done)
	buf := make([]byte, 2048)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		raw := append([]byte(nil), buf[:n]...)
		p.mu.Lock()
		decrypt := p.decrypt
		p.mu.Unlock()
		if decrypt != nil {
			if raw, err = decrypt(raw); err != nil {
				continue
			}
		}
		var pk rtp.Packet
		if pk.Unmarshal(raw) != nil {
			continue
		}
		p.mu.Lock()
		p.got = append(p.got, &pk)
		p.from = append(p.from, from)
		p.mu.Unlock()
	}
}

func (p *pbx) port() int { return int(p.conn.LocalAddr().(*net.UDPAddr).Port) }

func (p *pbx) received() []*rtp.Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*rtp.Packet(nil), p.got...)
}

// sendTo sends one RTP packet to the gateway.
func (p *pbx) sendTo(to netip.AddrPort, pt uint8, ssrc uint32, seq uint16, ts uint32, payload []byte) {
	pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}
	raw, err := pk.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.WriteToUDPAddrPort(raw, to); err != nil {
		p.t.Errorf("pbx send: %v", err)
	}
}

// pbxAnswer is SDP like FreeSWITCH's: one codec plus telephone-event.
func pbxAnswer(port int, dir string, formats ...string) []byte {
	var pts []string
	var attrs strings.Builder
	for _, f := range formats {
		pt, enc, _ := strings.Cut(f, " ")
		pts = append(pts, pt)
		fmt.Fprintf(&attrs, "a=rtpmap:%s %s\r\n", pt, enc)
		if strings.HasPrefix(enc, "telephone-event") {
			fmt.Fprintf(&attrs, "a=fmtp:%s 0-16\r\n", pt)
		}
	}
	return []byte(fmt.Sprintf("v=0\r\no=FreeSWITCH 1 2 IN IP4 127.0.0.1\r\ns=FreeSWITCH\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %s\r\n%sa=ptime:20\r\na=rtcp:%d\r\na=%s\r\n", port, strings.Join(pts, " "), attrs.String(), port+1, dir))
}

// gwAddr reads the gateway's audio address from its SDP.
func gwAddr(t testing.TB, sdp []byte) netip.AddrPort {
	t.Helper()
	s, err := parseSDP(sdp)
	if err != nil || len(s.media) == 0 {
		t.Fatalf("gateway SDP: %v\n%s", err, sdp)
	}
	return netip.AddrPortFrom(s.media[0].addr, uint16(s.media[0].port))
}

// eventually polls cond for up to 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// corpusDir finds ../shared/corpus from the module root, or FRONTDESK_CORPUS.
func corpusDir(t testing.TB) string {
	if d := os.Getenv("FRONTDESK_CORPUS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "corpus")
		}
		dir = filepath.Dir(dir)
	}
	return ""
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }

var _ = io.EOF

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
