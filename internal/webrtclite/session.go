package webrtclite

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v5/packetio"
)

// Role is a session's ICE role.
type Role int

const (
	// Lite answers checks only (RFC 8445 ICE-lite, the gateway's role); the
	// peer nominates.
	Lite Role = iota
	// Controlling sends nominating checks to the peer's candidates (the
	// load tool's visitors).
	Controlling
)

// checkEvery is how often a controlling session repeats its checks while
// connecting.
const checkEvery = 50 * time.Millisecond

// ErrClosed is returned once the session was closed.
var ErrClosed = errors.New("webrtclite: session closed")

// Config is one session: its role, its peer, and where its media goes.
type Config struct {
	Role Role
	Peer Peer
	// OnRTP and OnRTCP get each decrypted packet on the transport's reader
	// goroutine. They must not block, and must not keep pkt.
	OnRTP, OnRTCP func(pkt []byte)
}

// Peer is what the other side's SDP says.
type Peer struct {
	// DTLSServer: we take DTLS's server role (we answered a=setup:passive,
	// or the peer's answer said a=setup:active).
	DTLSServer bool
	// The peer's ICE credentials and certificate fingerprint
	// ("sha-256 AB:CD:…").
	Ufrag, Pwd, Fingerprint string
	// Candidates are where a controlling session sends its checks.
	Candidates []netip.AddrPort
}

// Session is one peer on a Transport.
type Session struct {
	t          *Transport
	cfg        Config
	ufrag, pwd string
	tieBreaker uint64

	remote     atomic.Pointer[netip.AddrPort] // where media goes
	keys       atomic.Pointer[srtpKeys]       // set once DTLS is done
	closed     atomic.Bool
	srtpFailed atomic.Uint64
	iceUp      chan struct{}
	iceOnce    sync.Once
	dtlsIn     func([]byte) // feeds the DTLS endpoint; set before any address binds
	dtlsBuf    *packetio.Buffer
	dtlsConn   atomic.Pointer[dtls.Conn] // set by Connect, closed by Close
	done       chan struct{}
	closeOnce  sync.Once

	addrs []netip.AddrPort // bound addresses; owned by the reader

	rtpOut  writer // owned by the one goroutine that sends RTP
	rtcpOut writer // owned by the one goroutine that sends RTCP
}

// srtpKeys are the session's SRTP contexts, one per direction and kind:
// each is used by one goroutine only.
type srtpKeys struct {
	remoteRTP, remoteRTCP *srtp.Context // reader goroutine
	localRTP, localRTCP   *srtp.Context // the RTP and the RTCP sender
}

// writer is one sending direction's scratch space.
type writer struct {
	buf  [maxDatagram + 64]byte
	hdr  rtp.Header
	rhdr rtcp.Header
}

// NewSession registers a session with fresh ICE credentials.
func (t *Transport) NewSession(cfg Config) (*Session, error) {
	ufrag, err := randomString(8)
	if err != nil {
		return nil, err
	}
	pwd, err := randomString(24)
	if err != nil {
		return nil, err
	}
	var tie [8]byte
	if _, err := rand.Read(tie[:]); err != nil {
		return nil, fmt.Errorf("ICE tie-breaker: %w", err)
	}
	s := &Session{t: t, cfg: cfg, ufrag: ufrag, pwd: pwd, tieBreaker: binary.BigEndian.Uint64(tie[:]),
		iceUp: make(chan struct{}), dtlsBuf: packetio.NewBuffer(), done: make(chan struct{})}
	s.dtlsBuf.SetLimitSize(64 << 10)
	s.dtlsIn = func(p []byte) { _, _ = s.dtlsBuf.Write(p, nil) }
	if err := t.register(s); err != nil {
		return nil, err
	}
	return s, nil
}

// LocalUfrag and LocalPwd are our ICE credentials for the SDP.
func (s *Session) LocalUfrag() string { return s.ufrag }
func (s *Session) LocalPwd() string   { return s.pwd }

// Done is closed when the session ended: Close, or the peer closed DTLS.
func (s *Session) Done() <-chan struct{} { return s.done }

// SRTPFailures counts packets that failed SRTP authentication.
func (s *Session) SRTPFailures() uint64 { return s.srtpFailed.Load() }

func (s *Session) setRemote(a netip.AddrPort) {
	s.remote.Store(&a)
	s.iceOnce.Do(func() { close(s.iceUp) })
}

// SetPeer fills in the peer for a session created before its SDP was
// known (an offerer learns it from the answer). Call it before Connect.
func (s *Session) SetPeer(p Peer) {
	s.t.mu.Lock() // the reader reads the peer on the STUN path under mu
	s.cfg.Peer = p
	s.t.mu.Unlock()
}

// Remote is the peer's selected address (invalid before ICE).
func (s *Session) Remote() netip.AddrPort {
	if a := s.remote.Load(); a != nil {
		return *a
	}
	return netip.AddrPort{}
}

// Connect runs ICE (a controlling session sends its checks) and the DTLS
// handshake, and returns once SRTP keys are in place.
func (s *Session) Connect(ctx context.Context) error {
	if s.cfg.Role == Controlling {
		if len(s.cfg.Peer.Candidates) == 0 {
			return errors.New("ICE: the peer offers no candidate")
		}
		tick := time.NewTicker(checkEvery)
		defer tick.Stop()
	checks:
		for {
			for _, c := range s.cfg.Peer.Candidates {
				if err := s.t.sendCheck(s, c); err != nil {
					return fmt.Errorf("ICE check to %s: %w", c, err)
				}
			}
			select {
			case <-s.iceUp:
				break checks
			case <-s.done:
				return ErrClosed
			case <-ctx.Done():
				return fmt.Errorf("ICE: no answer to our checks: %w", ctx.Err())
			case <-tick.C:
			}
		}
	}
	select {
	case <-s.iceUp:
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("ICE: no check from the peer: %w", ctx.Err())
	}
	return s.handshake(ctx)
}

// handshake runs DTLS over the shared socket and keys SRTP from it.
func (s *Session) handshake(ctx context.Context) error {
	pc := &dtlsEndpoint{s: s}
	remote := net.UDPAddrFromAddrPort(s.Remote())
	common := []dtls.Option{
		dtls.WithCertificates(s.t.cert.tls),
		dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		dtls.WithInsecureSkipVerify(true), // self-signed: the SDP fingerprint is the check
		dtls.WithVerifyPeerCertificate(verifyFingerprint(s.cfg.Peer.Fingerprint)),
	}
	var (
		conn *dtls.Conn
		err  error
	)
	if s.cfg.Peer.DTLSServer {
		opts := make([]dtls.ServerOption, 0, len(common)+1)
		for _, o := range common {
			opts = append(opts, o)
		}
		opts = append(opts, dtls.WithClientAuth(dtls.RequireAnyClientCert))
		conn, err = dtls.ServerWithOptions(pc, remote, opts...)
	} else {
		opts := make([]dtls.ClientOption, 0, len(common))
		for _, o := range common {
			opts = append(opts, o)
		}
		conn, err = dtls.ClientWithOptions(pc, remote, opts...)
	}
	if err != nil {
		return fmt.Errorf("DTLS: %w", err)
	}
	s.dtlsConn.Store(conn)
	if s.closed.Load() {
		// Close ran before the connection existed: it is ours to close.
		_ = conn.Close()
		return ErrClosed
	}
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return fmt.Errorf("DTLS handshake: %w", err)
	}
	keys, err := srtpKeysFrom(conn, !s.cfg.Peer.DTLSServer)
	if err != nil {
		return err
	}
	s.keys.Store(keys)
	go s.watchDTLS(conn)
	return nil
}

// watchDTLS reads the DTLS connection (alerts, close_notify) until it ends,
// which ends the session.
func (s *Session) watchDTLS(conn *dtls.Conn) {
	buf := make([]byte, 1500)
	for {
		if _, err := conn.Read(buf); err != nil {
			s.closeOnce.Do(func() { close(s.done) })
			return
		}
	}
}

// srtpKeysFrom exports the SRTP master keys of a finished handshake.
func srtpKeysFrom(conn *dtls.Conn, isClient bool) (*srtpKeys, error) {
	prof, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return nil, errors.New("DTLS: no SRTP protection profile agreed")
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return nil, errors.New("DTLS: no connection state")
	}
	cfg := srtp.Config{Profile: srtp.ProtectionProfile(prof)}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, isClient); err != nil {
		return nil, fmt.Errorf("SRTP keys from DTLS: %w", err)
	}
	k := cfg.Keys
	mk := func(key, salt []byte, opts ...srtp.ContextOption) (*srtp.Context, error) {
		return srtp.CreateContext(key, salt, cfg.Profile, opts...)
	}
	var keys srtpKeys
	var errs [4]error
	keys.remoteRTP, errs[0] = mk(k.RemoteMasterKey, k.RemoteMasterSalt, srtp.SRTPReplayProtection(64))
	keys.remoteRTCP, errs[1] = mk(k.RemoteMasterKey, k.RemoteMasterSalt, srtp.SRTCPReplayProtection(64))
	keys.localRTP, errs[2] = mk(k.LocalMasterKey, k.LocalMasterSalt)
	keys.localRTCP, errs[3] = mk(k.LocalMasterKey, k.LocalMasterSalt)
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("SRTP contexts: %w", err)
	}
	return &keys, nil
}

// WriteRTP encrypts one RTP packet and sends it to the peer. One goroutine
// at a time (the direction's owner); no allocation.
func (s *Session) WriteRTP(pkt []byte) error {
	k, to := s.keys.Load(), s.remote.Load()
	if k == nil || to == nil {
		return errNotConnected
	}
	if s.closed.Load() {
		return ErrClosed
	}
	w := &s.rtpOut
	out, err := k.localRTP.EncryptRTP(w.buf[:0], pkt, &w.hdr)
	if err != nil {
		return fmt.Errorf("SRTP: %w", err)
	}
	return s.t.writeTo(out, *to)
}

// WriteRTCP is WriteRTP for one (compound) RTCP packet.
func (s *Session) WriteRTCP(pkt []byte) error {
	k, to := s.keys.Load(), s.remote.Load()
	if k == nil || to == nil {
		return errNotConnected
	}
	if s.closed.Load() {
		return ErrClosed
	}
	w := &s.rtcpOut
	out, err := k.localRTCP.EncryptRTCP(w.buf[:0], pkt, &w.rhdr)
	if err != nil {
		return fmt.Errorf("SRTCP: %w", err)
	}
	return s.t.writeTo(out, *to)
}

var errNotConnected = errors.New("webrtclite: not connected")

// Close ends the session: DTLS close_notify to the peer, then it leaves the
// transport. It is idempotent.
func (s *Session) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	var err error
	if conn := s.dtlsConn.Load(); conn != nil {
		err = conn.Close()
	}
	_ = s.dtlsBuf.Close()
	s.t.unregister(s)
	s.closeOnce.Do(func() { close(s.done) })
	return err
}

// dtlsEndpoint is the session's DTLS side of the shared socket.
type dtlsEndpoint struct{ s *Session }

func (d *dtlsEndpoint) ReadFrom(p []byte) (int, net.Addr, error) {
	n, _, err := d.s.dtlsBuf.Read(p, nil)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(d.s.Remote()), nil
}

func (d *dtlsEndpoint) WriteTo(p []byte, _ net.Addr) (int, error) {
	to := d.s.remote.Load()
	if to == nil {
		return 0, errNotConnected
	}
	if err := d.s.t.writeTo(p, *to); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (d *dtlsEndpoint) Close() error { return d.s.dtlsBuf.Close() }
func (d *dtlsEndpoint) LocalAddr() net.Addr {
	return net.UDPAddrFromAddrPort(d.s.t.local)
}
func (d *dtlsEndpoint) SetDeadline(t time.Time) error     { return d.s.dtlsBuf.SetReadDeadline(t) }
func (d *dtlsEndpoint) SetReadDeadline(t time.Time) error { return d.s.dtlsBuf.SetReadDeadline(t) }
func (d *dtlsEndpoint) SetWriteDeadline(time.Time) error  { return nil }

const iceChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"

// randomString is n ICE characters (RFC 8839 ice-char) from crypto/rand.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("ICE credentials: %w", err)
	}
	for i := range b {
		b[i] = iceChars[int(b[i])%len(iceChars)]
	}
	return string(b), nil
}

// Connected reports whether ICE and DTLS are done and SRTP is keyed.
func (s *Session) Connected() bool { return s.keys.Load() != nil }
