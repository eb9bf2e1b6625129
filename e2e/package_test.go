//go:build integration

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What the Debian package installs.
const (
	pkgUnit   = "/lib/systemd/system/frontdesk.service"
	pkgConfig = "/etc/frontdesk/frontdesk.yaml"
	pkgBinary = "/usr/bin/frontdesk"
	pkgState  = "/var/lib/frontdesk"
)

// TestDebianPackage builds the package (deploy/build-deb.sh, as make deb
// does), installs it with dpkg, checks what it made (the frontdesk user,
// file owners and modes, conffiles, a unit systemd-analyze accepts), runs
// `frontdesk check` on the shipped config as the service user, starts the
// binary from the unit's ExecStart line (there is no systemd here: the
// line, its EnvironmentFile, User, Group and WorkingDirectory are applied
// by the test, inside a network namespace of its own so the shipped
// config's fixed ports and PBX name touch nothing) until its admin
// listener answers, stops it with SIGTERM, and purges the package, which
// leaves nothing behind.
func TestDebianPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: installing a package needs root")
	}
	requireNetns(t, "dpkg", "dpkg-deb")
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "frontdesk").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Skip("skipping: a frontdesk package is installed on this machine; the test would replace it")
	}
	if _, err := user.Lookup("frontdesk"); err == nil {
		t.Skip("skipping: a frontdesk user exists on this machine; the package test would remove it")
	}
	ctx := ctxT(t, 8*time.Minute)

	build := exec.CommandContext(ctx, "../deploy/build-deb.sh", t.TempDir())
	build.Stderr = os.Stderr
	out, err := build.Output()
	if err != nil {
		t.Fatalf("build the package: %v", err)
	}
	deb := strings.TrimSpace(string(out))
	t.Logf("built %s", filepath.Base(deb))
	conffiles, err := exec.Command("dpkg-deb", "--ctrl-tarfile", deb).Output()
	if err != nil {
		t.Fatalf("read the package's control files: %v", err)
	}
	if !strings.Contains(string(conffiles), "conffiles") {
		t.Error("the package has no conffiles")
	}

	t.Cleanup(func() {
		// Whatever happened, the machine is left as it was.
		if installed() {
			_ = dpkg(context.Background(), "--purge", "frontdesk")
		}
	})
	if err := dpkg(ctx, "-i", deb); err != nil {
		t.Fatal(err)
	}
	t.Run("installed", func(t *testing.T) { checkInstalled(t, ctx) })
	t.Run("check the shipped config as the service user", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, pkgBinary, "check", "--config", pkgConfig)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: serviceUser(t)}
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "ok") {
			t.Fatalf("frontdesk check: %v\n%s", err, out)
		}
	})
	t.Run("start from ExecStart", func(t *testing.T) {
		_, ns := newNetwork(t, ctx, "pkg")
		// The shipped config names pbx.example.com: inside the namespace it
		// is this host's loopback, where nothing answers.
		etc := filepath.Join("/etc/netns", ns["pkg"])
		if err := os.MkdirAll(etc, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(etc); _ = os.Remove("/etc/netns") })
		for name, content := range map[string]string{"hosts": "127.0.0.1 localhost pbx.example.com\n", "resolv.conf": "nameserver 127.0.0.1\n"} {
			// Readable by the service user.
			if err := os.WriteFile(filepath.Join(etc, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		runInside(t, ns["pkg"], "package-serve", nil, 90*time.Second)
	})

	if err := dpkg(ctx, "--purge", "frontdesk"); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{pkgBinary, pkgUnit, "/etc/frontdesk", "/etc/default/frontdesk", pkgState, "/usr/share/doc/frontdesk"} {
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s is left after purge", path)
		}
	}
	if _, err := user.Lookup("frontdesk"); err == nil {
		t.Error("the frontdesk user is left after purge")
	}
	if _, err := user.LookupGroup("frontdesk"); err == nil {
		t.Error("the frontdesk group is left after purge")
	}
	if installed() {
		t.Error("dpkg still lists the package")
	}
}

// checkInstalled: the user and group, owners and modes, and a unit that
// systemd-analyze verify accepts (where systemd-analyze exists).
func checkInstalled(t *testing.T, ctx context.Context) {
	u, err := user.Lookup("frontdesk")
	if err != nil {
		t.Fatalf("no frontdesk user: %v", err)
	}
	g, err := user.LookupGroup("frontdesk")
	if err != nil {
		t.Fatalf("no frontdesk group: %v", err)
	}
	for _, f := range []struct {
		path       string
		mode       os.FileMode
		uid, group string
	}{
		{pkgBinary, 0o755, "0", "0"},
		{"/etc/frontdesk", os.ModeDir | 0o750, "0", g.Gid},
		{pkgConfig, 0o640, "0", g.Gid},
		{"/etc/frontdesk/sip-password", 0o640, "0", g.Gid},
		{"/etc/default/frontdesk", 0o600, "0", "0"},
		{pkgState, os.ModeDir | 0o750, u.Uid, g.Gid},
		{pkgUnit, 0o644, "0", "0"},
	} {
		st, err := os.Stat(f.path)
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
			continue
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.Mode() != f.mode || strconv.Itoa(int(sys.Uid)) != f.uid || strconv.Itoa(int(sys.Gid)) != f.group {
			t.Errorf("%s: mode %v owner %d:%d, want %v %s:%s", f.path, st.Mode(), sys.Uid, sys.Gid, f.mode, f.uid, f.group)
		}
	}
	if out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Conffiles}", "frontdesk").Output(); err != nil ||
		!strings.Contains(string(out), pkgConfig) || !strings.Contains(string(out), "/etc/default/frontdesk") {
		t.Errorf("conffiles: %q (%v)", out, err)
	}
	if analyze, err := exec.LookPath("systemd-analyze"); err == nil {
		if out, err := exec.CommandContext(ctx, analyze, "verify", pkgUnit).CombinedOutput(); err != nil {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
		if out, err := exec.CommandContext(ctx, analyze, "security", "--offline=true", pkgUnit).CombinedOutput(); err == nil {
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			t.Logf("systemd-analyze security: %s", lines[len(lines)-1])
		}
	}
}

func installed() bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "frontdesk").Output()
	return err == nil && strings.Contains(string(out), "install ok installed")
}

// dpkg runs dpkg with args; while another dpkg or apt holds the lock it
// tries again (bounded).
func dpkg(ctx context.Context, args ...string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := exec.CommandContext(ctx, "dpkg", args...).CombinedOutput()
		if err == nil {
			return nil
		}
		if !strings.Contains(string(out), "lock") || time.Now().After(deadline) {
			return fmt.Errorf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// serviceUser is the frontdesk user's credential.
func serviceUser(t *testing.T) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup("frontdesk")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// unitService reads the [Service] section of a unit file: each key's
// values in order.
func unitService(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "["):
			section = l
		case section == "[Service]":
			k, v, _ := strings.Cut(l, "=")
			keys[k] = append(keys[k], v)
		}
	}
	return keys
}

// environmentFile reads KEY=value lines (EnvironmentFile=-path: a missing
// file is no error).
func environmentFile(t *testing.T, spec string) []string {
	t.Helper()
	path, optional := strings.CutPrefix(spec, "-")
	data, err := os.ReadFile(path)
	if err != nil {
		if optional && os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	var env []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") && strings.Contains(l, "=") {
			env = append(env, l)
		}
	}
	return env
}

// commandLine splits an Exec line into words, $VAR expanding to its words
// and ${VAR} to one word, as systemd does.
func commandLine(line string, env []string) []string {
	get := func(name string) string {
		for _, kv := range env {
			if k, v, _ := strings.Cut(kv, "="); k == name {
				return v
			}
		}
		return ""
	}
	var words []string
	for _, w := range strings.Fields(line) {
		switch {
		case strings.HasPrefix(w, "${") && strings.HasSuffix(w, "}"):
			words = append(words, get(w[2:len(w)-1]))
		case strings.HasPrefix(w, "$"):
			words = append(words, strings.Fields(get(w[1:]))...)
		default:
			words = append(words, w)
		}
	}
	return words
}

// packageServeSide runs inside the package test's namespace: the unit's
// ExecStartPre and ExecStart as its User, until the admin listener
// answers /livez, /readyz (not ready: no PBX) and /metrics with the
// packaged version; then SIGTERM, and the gateway must stop cleanly.
func packageServeSide(t *testing.T) {
	unit := unitService(t, pkgUnit)
	if unit["User"][0] != "frontdesk" || unit["Group"][0] != "frontdesk" {
		t.Fatalf("the unit runs as %v:%v", unit["User"], unit["Group"])
	}
	var env []string
	for _, spec := range unit["EnvironmentFile"] {
		env = append(env, environmentFile(t, spec)...)
	}
	cred := serviceUser(t)
	command := func(line string) *exec.Cmd {
		argv := commandLine(line, env)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
		cmd.Dir = unit["WorkingDirectory"][0]
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
		return cmd
	}
	for _, pre := range unit["ExecStartPre"] {
		if out, err := command(pre).CombinedOutput(); err != nil {
			t.Fatalf("ExecStartPre %s: %v\n%s", pre, err, out)
		}
	}
	cmd := command(unit["ExecStart"][0])
	t.Logf("ExecStart: %s", strings.Join(cmd.Args, " "))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan struct{}, 1)
	// exited gets the log and the exit once the gateway has ended (its
	// stderr read to the end first, as Wait wants).
	type exit struct {
		lines []string
		err   error
	}
	exited := make(chan exit, 1)
	go func() {
		var lines []string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), `msg="admin listening"`) {
				select {
				case listening <- struct{}{}:
				default:
				}
			}
		}
		exited <- exit{lines, cmd.Wait()}
	}()
	var end *exit
	defer func() {
		if end == nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			e := <-exited
			end = &e
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", strings.Join(end.lines, "\n"))
		}
	}()
	select {
	case <-listening:
	case <-time.After(20 * time.Second):
		t.Fatal("the gateway did not start listening within 20s")
	}
	admin := "http://127.0.0.1:9480" // the shipped admin.listen
	get := func(path string) (int, string) {
		resp, err := http.Get(admin + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(body)
	}
	if code, body := get("/livez"); code != 200 || body != "ok\n" {
		t.Errorf("/livez: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "not registered to the PBX") {
		t.Errorf("/readyz without a PBX: %d %q", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, `frontdesk_build_info{goversion="go`) || strings.Contains(body, `version="dev"`) {
		t.Errorf("/metrics does not name the packaged build:\n%s", grepLines(body, "frontdesk_build_info"))
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-exited:
		end = &e
		if e.err != nil {
			t.Errorf("after SIGTERM the gateway exited with %v", e.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not stop within 30s of SIGTERM")
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
