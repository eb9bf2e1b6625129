package testbed

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNetwork: namespaces get their links and addresses, and Close ends
// what runs inside and deletes them, leaving nothing behind.
func TestNetwork(t *testing.T) {
	if err := CheckNetns(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := NewNetwork()
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = n.Close()
		}
	})
	a, err := n.Namespace(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.Namespace(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Link(ctx, End{Netns: a, Dev: "eth0", Addr: "10.99.0.1/24"}, End{Netns: b, Dev: "eth0", Addr: "10.99.0.2/24"}); err != nil {
		t.Fatal(err)
	}
	out, err := n.Output(ctx, b, "ip", "-o", "-4", "addr", "show", "dev", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "10.99.0.2/24") {
		t.Errorf("b's eth0: %q", out)
	}
	// A process left running inside is ended by Close.
	sleeper := Command(a, "sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- sleeper.Wait() }()

	closed = true
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("the process inside was not ended")
	}
	list, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{a, b} {
		if strings.Contains(string(list), ns) {
			t.Errorf("namespace %s left behind: %s", ns, list)
		}
	}
}

// TestTURNServer: coturn starts with use-auth-secret and answers STUN.
func TestTURNServer(t *testing.T) {
	if _, err := exec.LookPath("turnserver"); err != nil {
		t.Skip("skipping: turnserver not found: install coturn (testbed/install.sh)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	port, err := freePort("127.0.0.1", false)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, err := StartTURN(ctx, TURNOptions{Dir: dir, IP: "127.0.0.1", Port: port, Secret: "s3cret", RelayMin: 49300, RelayMax: 49310})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := stunBinding(s.opts.IP+":"+strconv.Itoa(port), time.Second); err != nil {
		t.Errorf("STUN binding: %v", err)
	}
	if got, want := s.URL(), "turn:127.0.0.1:"+strconv.Itoa(port)+"?transport=udp"; got != want {
		t.Errorf("URL %q, want %q", got, want)
	}
	if n, err := s.Allocations(":"); err != nil || n != 0 {
		t.Errorf("allocations before any client: %d, %v", n, err)
	}
	if s.LogPath() != filepath.Join(dir, "coturn.log") {
		t.Errorf("log at %s", s.LogPath())
	}
}
