package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Network is a set of network namespaces a test made, joined by veth links
// (iproute2's ip netns and ip link, iptables inside them). Nothing is
// changed outside them: no address, route, rule or interface is added to
// the namespace the test runs in, so packets between them never leave the
// namespaces. Close deletes them, ending whatever still runs inside.
type Network struct {
	prefix string

	mu     sync.Mutex
	spaces []string
}

// networkSeq tells apart the networks of one process.
var networkSeq atomic.Uint64

// CheckNetns reports why network namespaces cannot be made here (not
// root, or iproute2 or iptables missing), or nil. Tests skip on it.
func CheckNetns() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root")
	}
	for _, bin := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found: install iproute2 and iptables (testbed/install.sh)", bin)
		}
	}
	return nil
}

// NewNetwork starts an empty set of namespaces; their names begin with a
// prefix unique to this process and network.
func NewNetwork() (*Network, error) {
	if err := CheckNetns(); err != nil {
		return nil, err
	}
	return &Network{prefix: fmt.Sprintf("fd%d-%d-", os.Getpid(), networkSeq.Add(1))}, nil
}

// Namespace makes a namespace with its loopback up and returns its full
// name (for ip netns exec).
func (n *Network) Namespace(ctx context.Context, name string) (string, error) {
	full := n.prefix + name
	if err := run(ctx, "ip", "netns", "add", full); err != nil {
		return "", err
	}
	n.mu.Lock()
	n.spaces = append(n.spaces, full)
	n.mu.Unlock()
	if err := n.Exec(ctx, full, "ip", "link", "set", "lo", "up"); err != nil {
		return "", err
	}
	return full, nil
}

// End is one end of a veth link: its namespace, interface name and
// address with prefix length ("10.99.0.1/24").
type End struct {
	Netns, Dev, Addr string
}

// Link joins two namespaces with a veth pair, each end with its address
// and up. Both ends are made inside their namespaces, so the interface
// names need only be unique there.
func (n *Network) Link(ctx context.Context, a, b End) error {
	if err := run(ctx, "ip", "link", "add", a.Dev, "netns", a.Netns, "type", "veth", "peer", "name", b.Dev, "netns", b.Netns); err != nil {
		return err
	}
	for _, e := range []End{a, b} {
		if err := n.Exec(ctx, e.Netns, "ip", "addr", "add", e.Addr, "dev", e.Dev); err != nil {
			return err
		}
		if err := n.Exec(ctx, e.Netns, "ip", "link", "set", e.Dev, "up"); err != nil {
			return err
		}
	}
	return nil
}

// Exec runs a command (ip, iptables, sysctl) inside namespace ns and
// returns its error with its output.
func (n *Network) Exec(ctx context.Context, ns string, args ...string) error {
	return run(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

// Output runs a command inside namespace ns and returns its standard
// output.
func (n *Network) Output(ctx context.Context, ns string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("testbed: %s in %s: %w: %s", strings.Join(args, " "), ns, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return string(out), nil
}

// Command is bin with args to run inside namespace ns (ip netns exec runs
// it in place, so the PID is the program's).
func Command(ns, bin string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
}

// Close ends what still runs in the namespaces (by PID: only processes
// inside them, which the test started) and deletes them; the veth links
// go with them.
func (n *Network) Close() error {
	n.mu.Lock()
	spaces := n.spaces
	n.spaces = nil
	n.mu.Unlock()
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := len(spaces) - 1; i >= 0; i-- {
		ns := spaces[i]
		if err := killInside(ctx, ns); err != nil {
			errs = append(errs, err)
		}
		if err := run(ctx, "ip", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killInside sends SIGKILL to every process left in namespace ns and
// waits (bounded) until none is.
func killInside(ctx context.Context, ns string) error {
	for attempt := 0; ; attempt++ {
		out, err := exec.CommandContext(ctx, "ip", "netns", "pids", ns).Output()
		if err != nil {
			return fmt.Errorf("testbed: list processes in %s: %w", ns, err)
		}
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return nil
		}
		if attempt == 50 {
			return fmt.Errorf("testbed: processes %v in %s do not end", pids, ns)
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// run runs a command, bounded, returning its output with the error.
func run(ctx context.Context, bin string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("testbed: %s %s: %w: %s", bin, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
