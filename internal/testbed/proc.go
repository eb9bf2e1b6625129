package testbed

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process with its output in a log file.
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

func startProc(name, logPath, dir string, bin string, args ...string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testbed: %s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdin = nil
	cmd.Stdout = f
	cmd.Stderr = f
	// own process group: SIGKILL reaches Kamailio's worker processes too
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("testbed: start %s: %w", name, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process, then SIGKILL to its process group after
// timeout, and waits for it.
func (p *proc) stop(timeout time.Duration) error {
	if p == nil {
		return nil
	}
	p.stopOnce.Do(func() {
		pid := p.pid()
		if !p.exited() {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
		select {
		case <-p.done:
		case <-time.After(timeout):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(timeout):
				p.stopErr = fmt.Errorf("testbed: %s (pid %d) did not exit after SIGKILL", p.name, pid)
				return
			}
			p.stopErr = fmt.Errorf("testbed: %s (pid %d) ignored SIGTERM for %v, killed", p.name, pid, timeout)
		}
		// Kamailio's workers may outlive the main process for a moment.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	})
	return p.stopErr
}

// tail returns the last lines of the process log, for error messages.
func (p *proc) tail(lines int) string {
	return logTail(p.logPath, lines)
}

func logTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	b = bytes.TrimRight(b, "\n")
	parts := strings.Split(string(b), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// errWithLog wraps err with the tail of the process log.
func (p *proc) errWithLog(err error) error {
	return fmt.Errorf("%w\n--- last lines of %s ---\n%s", err, p.logPath, p.tail(30))
}

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// freePort returns a port on host that is free for UDP and TCP (and, with
// withNext, whose successor is free for TCP too: baresip takes port+1 for TLS).
// Ports handed out once in this process are not handed out again.
func freePort(host string, withNext bool) (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	// Refused candidates stay bound until we return: the kernel would
	// otherwise offer the same just-closed port again and again.
	var held []func() error
	defer func() {
		for _, c := range held {
			_ = c()
		}
	}()
	for attempt := 0; attempt < 200; attempt++ {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, fmt.Errorf("testbed: pick port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		ok := !portsUsed[port] && !(withNext && (portsUsed[port+1] || port+1 > 65535))
		var closers []func() error
		closers = append(closers, l.Close)
		if ok {
			u, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				ok = false
			} else {
				closers = append(closers, u.Close)
			}
		}
		if ok && withNext {
			l2, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port+1)))
			if err != nil {
				ok = false
			} else {
				closers = append(closers, l2.Close)
			}
		}
		if !ok {
			held = append(held, closers...)
			continue
		}
		for _, c := range closers {
			_ = c()
		}
		portsUsed[port] = true
		if withNext {
			portsUsed[port+1] = true
		}
		return port, nil
	}
	return 0, fmt.Errorf("testbed: no free port found on %s", host)
}
