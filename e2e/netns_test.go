//go:build integration

package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// Tests of real networks (TURN, NAT) build network namespaces joined by
// veth links, with iptables inside them, and run the parts of the test
// that live on another host inside those namespaces: the test binary again
// (runInside), running only TestInsideNamespace, which dispatches on
// FD_E2E_INSIDE. Nothing is changed in the namespace the test runs in, and
// every packet stays inside the namespaces or on loopback.
const (
	// insideEnv names the part of a test to run inside a namespace.
	insideEnv = "FD_E2E_INSIDE"
	// insideFrontdeskEnv is the gateway binary the parent built.
	insideFrontdeskEnv = "FD_E2E_FRONTDESK"
)

// insideParts are the parts of tests that run inside a namespace, by the
// name runInside passes.
var insideParts = map[string]func(t *testing.T){
	"turn-gateway": turnGatewaySide,
	"turn-visitor": turnVisitorSide,
	"nat-public":   natPublicSide,
	// TestFirefoxCalls
	"firefox-calls": firefoxCallsSide,
	// TestDebianPackage
	"package-serve": packageServeSide,
}

// TestInsideNamespace runs a part of another test inside a network
// namespace (see runInside); run by itself it has nothing to do.
func TestInsideNamespace(t *testing.T) {
	part := os.Getenv(insideEnv)
	if part == "" {
		t.Skip("runs parts of the TURN and NAT tests inside their network namespaces")
	}
	run, ok := insideParts[part]
	if !ok {
		t.Fatalf("%s=%q: no such part", insideEnv, part)
	}
	run(t)
}

// requireNetns skips the test when namespaces cannot be made here (not
// root, iproute2 or iptables missing) or a program it runs is missing.
func requireNetns(t *testing.T, programs ...string) {
	t.Helper()
	if err := testbed.CheckNetns(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("skipping: %s not found (testbed/install.sh installs it)", p)
		}
	}
}

// newNetwork makes namespaces (named suffix each, with loopback up) that
// are deleted when the test ends.
func newNetwork(t *testing.T, ctx context.Context, names ...string) (*testbed.Network, map[string]string) {
	t.Helper()
	n, err := testbed.NewNetwork()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("remove network namespaces: %v", err)
		}
	})
	spaces := map[string]string{}
	for _, name := range names {
		full, err := n.Namespace(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		spaces[name] = full
	}
	return n, spaces
}

// netExec runs commands (ip, iptables, sysctl) inside ns, each a line of
// words, failing the test on the first error.
func netExec(t *testing.T, ctx context.Context, n *testbed.Network, ns string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := n.Exec(ctx, ns, strings.Fields(l)...); err != nil {
			t.Fatal(err)
		}
	}
}

// runInside runs part (see insideParts) inside namespace ns: this test
// binary, with env added, bounded by timeout. Its output is logged as it
// comes; its failure fails t.
func runInside(t *testing.T, ns, part string, env map[string]string, timeout time.Duration) {
	t.Helper()
	cmd := testbed.Command(ns, os.Args[0], "-test.run", "^TestInsideNamespace$", "-test.v", "-test.count=1",
		"-test.timeout", timeout.String())
	cmd.Env = append(os.Environ(), insideEnv+"="+part, insideFrontdeskEnv+"="+frontdeskBin)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// Its own process group, so that an overrun ends it with what it runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s inside %s: %v", part, ns, err)
	}
	var logged sync.WaitGroup
	logged.Add(1)
	go func() {
		defer logged.Done()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			t.Logf("[%s] %s", part, sc.Text())
		}
	}()
	done := make(chan error, 1)
	go func() {
		logged.Wait() // Wait closes the pipe: read it all first
		done <- cmd.Wait()
	}()
	select {
	case err = <-done:
	case <-time.After(timeout + 30*time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
	}
	if err != nil {
		t.Fatalf("%s inside %s: %v", part, ns, err)
	}
}

// insideParam is a value the parent passed to a part run inside a
// namespace.
func insideParam(t *testing.T, key string) string {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		t.Fatalf("%s not set by the parent test", key)
	}
	return v
}
