package testbed

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// TURNOptions configure StartTURN.
type TURNOptions struct {
	// Dir holds coturn's log, pid file and database.
	Dir string
	// IP is the address coturn listens and relays on; Port its UDP and
	// TCP port (default 3478).
	IP   string
	Port int
	// Secret is the shared secret of use-auth-secret (the TURN REST
	// scheme): the gateway mints credentials with it.
	Secret string
	// Realm defaults to Domain.
	Realm string
	// RelayMin and RelayMax bound the relay ports (default 49160-49200).
	RelayMin, RelayMax int
	// StartTimeout bounds the wait for coturn to answer (default 10 s).
	StartTimeout time.Duration
}

// TURNServer is a running coturn (Debian's coturn package).
type TURNServer struct {
	opts TURNOptions
	proc *proc
}

// StartTURN runs coturn with use-auth-secret and the static secret, UDP
// and TCP only, and returns once it answers a STUN binding request. It
// runs in the caller's network namespace.
func StartTURN(ctx context.Context, opts TURNOptions) (*TURNServer, error) {
	if _, err := exec.LookPath("turnserver"); err != nil {
		return nil, errors.New("turnserver not found: install coturn (testbed/install.sh)")
	}
	if opts.Dir == "" || opts.IP == "" || opts.Secret == "" {
		return nil, errors.New("testbed: TURNOptions need Dir, IP and Secret")
	}
	if opts.Port == 0 {
		opts.Port = 3478
	}
	if opts.Realm == "" {
		opts.Realm = Domain
	}
	if opts.RelayMin == 0 {
		opts.RelayMin, opts.RelayMax = 49160, 49200
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("testbed: coturn dir: %w", err)
	}
	p, err := startProc("coturn", filepath.Join(opts.Dir, "coturn.log"), opts.Dir, "turnserver",
		"-n", // no config file: everything is on this command line
		"--listening-ip="+opts.IP, "--relay-ip="+opts.IP,
		"--listening-port="+strconv.Itoa(opts.Port),
		"--min-port="+strconv.Itoa(opts.RelayMin), "--max-port="+strconv.Itoa(opts.RelayMax),
		"--use-auth-secret", "--static-auth-secret="+opts.Secret, "--realm="+opts.Realm,
		"--no-tls", "--no-dtls", "--no-cli", "--no-software-attribute", "--fingerprint",
		"--log-file=stdout", "--simple-log", "--verbose",
		"--pidfile="+filepath.Join(opts.Dir, "turnserver.pid"),
		"--userdb="+filepath.Join(opts.Dir, "turndb"),
	)
	if err != nil {
		return nil, err
	}
	s := &TURNServer{opts: opts, proc: p}
	if err := s.waitReady(ctx); err != nil {
		_ = p.stop(5 * time.Second)
		return nil, err
	}
	return s, nil
}

// URL is the turn: URI for UDP.
func (s *TURNServer) URL() string {
	return "turn:" + net.JoinHostPort(s.opts.IP, strconv.Itoa(s.opts.Port)) + "?transport=udp"
}

// LogPath is coturn's log file.
func (s *TURNServer) LogPath() string { return s.proc.logPath }

// Allocations counts the successful allocations coturn logged for users
// whose name contains user (credentials minted by the gateway are
// "<expiry>:<label>").
func (s *TURNServer) Allocations(user string) (int, error) {
	data, err := os.ReadFile(s.proc.logPath)
	if err != nil {
		return 0, fmt.Errorf("testbed: coturn log: %w", err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "ALLOCATE processed, success") && strings.Contains(line, user) {
			n++
		}
	}
	return n, nil
}

// Close stops coturn.
func (s *TURNServer) Close() error { return s.proc.stop(5 * time.Second) }

// waitReady sends STUN binding requests until coturn answers one.
func (s *TURNServer) waitReady(ctx context.Context) error {
	addr := net.JoinHostPort(s.opts.IP, strconv.Itoa(s.opts.Port))
	deadline := time.Now().Add(s.opts.StartTimeout)
	var last error
	for {
		if s.proc.exited() {
			return s.proc.errWithLog(fmt.Errorf("testbed: coturn exited at start-up (%v)", s.proc.waitErr))
		}
		if last = stunBinding(addr, 300*time.Millisecond); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return s.proc.errWithLog(fmt.Errorf("testbed: coturn does not answer STUN on %s within %v: %w", addr, s.opts.StartTimeout, last))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testbed: waiting for coturn: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stunBinding sends one STUN binding request (RFC 5389) to addr and waits
// for the success response with the same transaction id.
func stunBinding(addr string, timeout time.Duration) error {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	req := make([]byte, 20)
	binary.BigEndian.PutUint16(req[0:], 0x0001) // binding request, no attributes
	binary.BigEndian.PutUint32(req[4:], 0x2112A442)
	if _, err := rand.Read(req[8:20]); err != nil {
		return err
	}
	if _, err := conn.Write(req); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	if n < 20 || binary.BigEndian.Uint16(buf[0:]) != 0x0101 || !bytes.Equal(buf[8:20], req[8:20]) {
		return errors.New("not a STUN binding success response")
	}
	return nil
}
