//go:build integration

package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// sippProc is a running sipp scenario.
type sippProc struct {
	cmd  *exec.Cmd
	port int
	done chan struct{}
	err  error
}

// freeUDPPort finds a port sipp can bind on 127.0.0.1 (sipp cannot report a
// port it picked itself).
func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	return port
}

// startSipp runs scenario (a file in testdata/sipp) as a UAS on 127.0.0.1
// for one call, with extra arguments. It is stopped by its PID at cleanup.
func startSipp(t *testing.T, scenario string, extra ...string) *sippProc {
	t.Helper()
	return startSippRun(t, scenario, sippRun{calls: 1, timeout: 60 * time.Second}, extra...)
}

// sippRun is how many calls a scenario serves before sipp exits, and how
// long it may run in all.
type sippRun struct {
	calls   int
	timeout time.Duration
}

func startSippRun(t *testing.T, scenario string, run sippRun, extra ...string) *sippProc {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp not installed (run testbed/install.sh): %v", err)
	}
	port := freeUDPPort(t)
	dir := t.TempDir()
	sf, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"-sf", sf,
		"-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-m", strconv.Itoa(run.calls), "-nostdin", "-timeout", strconv.Itoa(int(run.timeout.Seconds())) + "s", "-timeout_error",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
	}, extra...)
	cmd := exec.Command("sipp", args...)
	cmd.Dir = dir
	log, err := os.Create(filepath.Join(dir, "sipp.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	p := &sippProc{cmd: cmd, port: port, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			data, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
			t.Logf("sipp %s errors:\n%s", scenario, data)
		}
	})
	// sipp binds at once; give it a moment before anything is sent to it.
	time.Sleep(300 * time.Millisecond)
	return p
}

// addr is where the scenario listens.
func (p *sippProc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// wait waits (bounded) for sipp to finish its one call and reports whether
// the scenario succeeded.
func (p *sippProc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("sipp did not finish within %v", timeout)
	}
	return nil
}
