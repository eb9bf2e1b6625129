package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// defaultQuarantine is how long a released RTP port pair rests before reuse:
// longer than a PBX keeps sending after BYE in practice.
const defaultQuarantine = 30 * time.Second

// Engine is the process-wide media side: one pion API (ports, NAT, codecs set
// once) and the RTP port allocator toward the PBX.
type Engine struct {
	api     *webrtc.API
	ports   *portAllocator
	rtpAddr netip.Addr
	// sdpAddr is the address SDP toward the PBX names: rtpAddr, or the
	// public address behind a NAT (cfg.PBXMediaIP).
	sdpAddr netip.Addr
	sdes    bool
	timeout time.Duration
	// closeSettle is Call.closeSettle: closeSettleTime while calls may be
	// re-attached (calls.reattach_grace), else 0.
	closeSettle time.Duration
	log         *slog.Logger
	closed      atomic.Bool
	policy      sourcePolicy
	// candidates says which browser ICE candidates are probed.
	candidates atomic.Pointer[candidatePolicy]
	// lite carries voice calls when calls.webrtc_stack is lite; nil on pion.
	lite *liteStack
	// poller reads lite calls' RTP from the PBX (Linux); nil otherwise.
	poller *pbxPoller
	// rtcpEvery is the RTCP report interval toward the PBX.
	rtcpEvery time.Duration
	// transfers counts transfers by outcome (transfer.go).
	transfers transferCounters
}

// engineOption adjusts an Engine before use; tests use it to keep ICE on
// loopback and shorten the port quarantine.
type engineOption func(*engineSetup)

type engineSetup struct {
	settings   *webrtc.SettingEngine
	quarantine time.Duration
	learnQuiet time.Duration
	rtcpEvery  time.Duration
}

// closeSettleTime is how long an answered call outlives its browser leg
// while calls may be re-attached: the websocket of a page going away
// reaches the session within this on a loaded host.
const closeSettleTime = 2 * time.Second

// NewEngine builds the Engine from the calls config. rtpHost is the local IP
// used for RTP toward the PBX when cfg.RTPAddress is empty.
func NewEngine(cfg config.Calls, rtpHost string, log *slog.Logger) (*Engine, error) {
	return newEngine(cfg, rtpHost, log)
}

func newEngine(cfg config.Calls, rtpHost string, log *slog.Logger, opts ...engineOption) (*Engine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host := cfg.RTPAddress
	if host == "" {
		host = rtpHost
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("RTP address %q: %w", host, err)
	}
	if addr.IsUnspecified() {
		return nil, fmt.Errorf("RTP address %s: must be a concrete IP, it is announced in SDP", addr)
	}
	sdpAddr := addr
	if cfg.PBXMediaIP != "" {
		if sdpAddr, err = netip.ParseAddr(cfg.PBXMediaIP); err != nil {
			return nil, fmt.Errorf("address announced to the PBX %q: %w", cfg.PBXMediaIP, err)
		}
	}
	rlo, rhi, err := config.PortRange(cfg.RTPPorts)
	if err != nil {
		return nil, fmt.Errorf("calls.rtp_ports: %w", err)
	}
	wlo, whi, err := config.PortRange(cfg.WebRTCPorts)
	if err != nil {
		return nil, fmt.Errorf("calls.webrtc_ports: %w", err)
	}
	setup := engineSetup{settings: &webrtc.SettingEngine{}, quarantine: defaultQuarantine, learnQuiet: defaultLearnQuiet, rtcpEvery: defaultRTCPEvery}
	se := setup.settings
	if err := se.SetEphemeralUDPPortRange(uint16(wlo), uint16(whi)); err != nil {
		return nil, fmt.Errorf("calls.webrtc_ports: %w", err)
	}
	if cfg.PublicIP != "" {
		se.SetNAT1To1IPs([]string{cfg.PublicIP}, webrtc.ICECandidateTypeHost)
	}
	if err := restrictIPs(se, cfg.WebRTCIPs); err != nil {
		return nil, fmt.Errorf("calls.webrtc_ips: %w", err)
	}
	// Browsers hide host addresses behind mDNS names; the gateway does not
	// need to resolve them (their checks arrive as peer-reflexive), so no
	// multicast traffic from the server.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	for _, o := range opts {
		o(&setup)
	}
	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		return nil, fmt.Errorf("register codecs: %w", err)
	}
	ir := &interceptor.Registry{}
	// Sender/receiver reports keep the browser's jitter buffer and bandwidth
	// estimate informed; NACK repairs video loss on the WebRTC leg.
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("configure RTCP reports: %w", err)
	}
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return nil, fmt.Errorf("configure NACK: %w", err)
	}
	timeout := cfg.RTPTimeout
	if timeout <= 0 {
		timeout = config.DefaultRTPTimeout
	}
	e := &Engine{
		api:     webrtc.NewAPI(webrtc.WithSettingEngine(*se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir)),
		ports:   newPortAllocator(addr, rlo, rhi, setup.quarantine),
		rtpAddr: addr,
		sdpAddr: sdpAddr,
		sdes:    cfg.SRTP == "sdes",
		timeout: timeout,
		log:     log,
		closeSettle: func() time.Duration {
			if cfg.Reattach() > 0 {
				return closeSettleTime
			}
			return 0
		}(),
		rtcpEvery: setup.rtcpEvery,
	}
	e.policy.learnQuiet = int64(setup.learnQuiet)
	if err := e.SetCandidateNetworks(cfg.CandidateNetworks); err != nil {
		return nil, err
	}
	if cfg.WebRTCStack == "lite" {
		if e.poller, err = newPBXPoller(); err != nil {
			return nil, err
		}
		if e.lite, err = newLiteStack(cfg, wlo, loopbackOnlyIPs(cfg.WebRTCIPs), e.poller.driver()); err != nil {
			_ = e.poller.close()
			return nil, err
		}
	}
	return e, nil
}

// restrictIPs limits ICE candidates to the listed local addresses. When all
// of them are loopback, the leg also talks to loopback peers only.
func restrictIPs(se *webrtc.SettingEngine, ips []string) error {
	if len(ips) == 0 {
		return nil
	}
	keep := map[string]bool{}
	loopbackOnly := true
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("%q is not an IP address", s)
		}
		keep[a.String()] = true
		if a.IsLoopback() {
			se.SetIncludeLoopbackCandidate(true)
		} else {
			loopbackOnly = false
		}
	}
	se.SetIPFilter(func(ip net.IP) bool {
		a, ok := netip.AddrFromSlice(ip)
		return ok && keep[a.Unmap().String()]
	})
	if loopbackOnly {
		n, err := stdnet.NewNet()
		if err != nil {
			return fmt.Errorf("network: %w", err)
		}
		se.SetNet(loopbackNet{n})
	}
	return nil
}

// registerCodecs lists what can be passed through. PTs follow Chrome so
// answers usually keep the browser's numbers anyway.
func registerCodecs(me *webrtc.MediaEngine) error {
	audio := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeG722, ClockRate: 8000, Channels: 1}, PayloadType: 9},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000, Channels: 1}, PayloadType: 8},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 48000, Channels: 1, SDPFmtpLine: "0-16"}, PayloadType: 110},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, Channels: 1, SDPFmtpLine: "0-16"}, PayloadType: 126},
	}
	for _, c := range audio {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return fmt.Errorf("%s: %w", c.MimeType, err)
		}
	}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	video := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}, PayloadType: 96},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: fb,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, PayloadType: 102},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: fb,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"}, PayloadType: 104},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: fb,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"}, PayloadType: 106},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: fb,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f"}, PayloadType: 112},
	}
	for _, c := range video {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("%s: %w", c.MimeType, err)
		}
	}
	return nil
}

// Close stops new calls. Calls already made are closed by their owners;
// the lite stack's sockets close now (at shutdown, after the calls).
func (e *Engine) Close() error {
	if !e.closed.CompareAndSwap(false, true) || e.lite == nil {
		return nil
	}
	err := e.lite.close()
	if e.poller != nil {
		err = errors.Join(err, e.poller.close())
	}
	return err
}

// loopbackOnlyIPs reports whether every listed address is loopback.
func loopbackOnlyIPs(ips []string) bool {
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err != nil || !a.IsLoopback() {
			return false
		}
	}
	return len(ips) > 0
}
