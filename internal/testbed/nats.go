package testbed

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// NATS is a nats-server with JetStream on 127.0.0.1, its store in a
// directory of the test, for cluster tests. Stop and Start keep the port and
// the store, as a server restart would.
type NATS struct {
	dir  string
	port int
	p    *proc
}

// StartNATS runs Debian's nats-server with JetStream (file store under dir)
// on a free loopback port and returns once it accepts connections.
func StartNATS(ctx context.Context, dir string) (*NATS, error) {
	port, err := freePort("127.0.0.1", false)
	if err != nil {
		return nil, err
	}
	n := &NATS{dir: dir, port: port}
	if err := os.MkdirAll(filepath.Join(dir, "jetstream"), 0o755); err != nil {
		return nil, fmt.Errorf("testbed: nats dir: %w", err)
	}
	return n, n.Start(ctx)
}

// URL is the server's client URL.
func (n *NATS) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(n.port) }

// Start runs the server (again); it waits until the port accepts.
func (n *NATS) Start(ctx context.Context) error {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		return fmt.Errorf("testbed: nats-server not installed (run testbed/install.sh): %w", err)
	}
	p, err := startProc("nats-server", filepath.Join(n.dir, "nats.log"), n.dir, bin,
		"-a", "127.0.0.1", "-p", strconv.Itoa(n.port), "-js", "-sd", filepath.Join(n.dir, "jetstream"))
	if err != nil {
		return err
	}
	n.p = p
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(n.port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			_ = p.stop(time.Second)
			return p.errWithLog(fmt.Errorf("testbed: nats-server not accepting on %d: %w", n.port, err))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the server (SIGTERM, then SIGKILL) and waits for it.
func (n *NATS) Stop() error {
	if n.p == nil {
		return nil
	}
	err := n.p.stop(5 * time.Second)
	n.p = nil
	return err
}

// Kill ends the server at once (SIGKILL), as a crash would.
func (n *NATS) Kill() {
	if n.p == nil {
		return
	}
	_ = syscall.Kill(n.p.pid(), syscall.SIGKILL)
	<-n.p.done
	n.p = nil
}

// LogTail is the end of the server's log, for failure messages.
func (n *NATS) LogTail(lines int) string { return logTail(filepath.Join(n.dir, "nats.log"), lines) }
