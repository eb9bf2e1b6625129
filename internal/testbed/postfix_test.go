package testbed

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testca"
)

// TestPostfixStopEndsMaster: Postfix's master daemon leaves the process
// group of the command that started it; Stop must still end it, or every
// test run leaves a mail server behind.
func TestPostfixStopEndsMaster(t *testing.T) {
	if _, err := exec.LookPath("postfix"); err != nil {
		if _, err := os.Stat("/usr/sbin/postfix"); err != nil {
			t.Skip("postfix not installed: run testbed/install.sh")
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("the test's Postfix runs as root (CI does)")
	}
	ca, err := testca.New("postfix test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(testca.Leaf{Names: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil { // the postfix user reaches its queue
			t.Fatal(err)
		}
	}
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, leaf.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, leaf.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pf, err := StartPostfix(ctx, filepath.Join(dir, "pf"), cert, key, "mail.test")
	if err != nil {
		t.Fatal(err)
	}
	addr := pf.Addr()
	if err := pf.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("Postfix still takes connections on %s after Stop", addr)
	}
}
