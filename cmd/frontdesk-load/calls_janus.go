package main

// Janus (Debian's janus package) with its SIP plugin as the system under
// test, for the side-by-side comparison: its config, a small LD_PRELOAD
// shim that lets it gather candidates on loopback, and readings of its CPU
// and memory from /proc.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// janusShimC: Janus 1.1.2 (libnice) leaves every interface flagged
// IFF_LOOPBACK out when it gathers ICE host candidates, so on a
// loopback-only test it offers none. The shim clears the flag on "lo" in
// what getifaddrs and SIOCGIFFLAGS report to the Janus process only; with
// ice_enforce_list = "lo" Janus then offers exactly 127.0.0.1.
const janusShimC = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>

int getifaddrs(struct ifaddrs **ifap) {
	static int (*real)(struct ifaddrs **);
	if (!real) real = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
	int r = real(ifap);
	if (r == 0)
		for (struct ifaddrs *i = *ifap; i; i = i->ifa_next)
			if (i->ifa_name && strcmp(i->ifa_name, "lo") == 0) i->ifa_flags &= ~IFF_LOOPBACK;
	return r;
}

int ioctl(int fd, unsigned long req, ...) {
	static int (*real)(int, unsigned long, ...);
	if (!real) real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	int r = real(fd, req, arg);
	if (r == 0 && req == SIOCGIFFLAGS) {
		struct ifreq *ifr = arg;
		if (strcmp(ifr->ifr_name, "lo") == 0) ifr->ifr_flags &= ~IFF_LOOPBACK;
	}
	return r;
}
`

// Janus's port ranges: WebRTC and the SIP plugin's RTP. They must not
// overlap the gateway's, the visitors' or each other.
const (
	janusWebRTCPorts = "20000-24999"
	janusRTPPorts    = "25000-29999"
)

// janusConfig writes Janus's config folder: only the SIP plugin and the
// websocket transport are loaded (private plugin and transport folders with
// links to those two), everything binds to 127.0.0.1, sessions never time
// out (the visitors send no keepalives), and Janus's other defaults stay.
func janusConfig(dir string, wsPort int) (string, error) {
	libs, err := janusLibDir()
	if err != nil {
		return "", err
	}
	cfg := filepath.Join(dir, "conf")
	for _, d := range []string{cfg, filepath.Join(dir, "plugins"), filepath.Join(dir, "transports"), filepath.Join(dir, "empty")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", fmt.Errorf("janus config: %w", err)
		}
	}
	links := map[string]string{
		filepath.Join(dir, "plugins", "libjanus_sip.so"):           filepath.Join(libs, "plugins", "libjanus_sip.so"),
		filepath.Join(dir, "transports", "libjanus_websockets.so"): filepath.Join(libs, "transports", "libjanus_websockets.so"),
	}
	for link, target := range links {
		if err := os.Symlink(target, link); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("janus config: %w", err)
		}
	}
	files := map[string]string{
		"janus.jcfg": fmt.Sprintf(`general: {
	configs_folder = "%s"
	plugins_folder = "%s"
	transports_folder = "%s"
	events_folder = "%s"
	loggers_folder = "%s"
	debug_level = 3
	session_timeout = 0
	server_name = "frontdesk-load"
}
media: {
	rtp_port_range = "%s"
}
nat: {
	nice_debug = false
	ice_enforce_list = "lo"
}
plugins: {
}
transports: {
}
events: {
	broadcast = false
}
`, cfg, filepath.Join(dir, "plugins"), filepath.Join(dir, "transports"), filepath.Join(dir, "empty"), filepath.Join(dir, "empty"), janusWebRTCPorts),
		"janus.plugin.sip.jcfg": fmt.Sprintf(`general: {
	local_ip = "127.0.0.1"
	keepalive_interval = 0
	behind_nat = false
	register_ttl = 3600
	rtp_port_range = "%s"
	events = false
}
`, janusRTPPorts),
		"janus.transport.websockets.jcfg": fmt.Sprintf(`general: {
	json = "plain"
	ws = true
	ws_port = %d
	ws_ip = "127.0.0.1"
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
`, wsPort),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(cfg, name), []byte(text), 0o600); err != nil {
			return "", fmt.Errorf("janus config: %w", err)
		}
	}
	return cfg, nil
}

// janusLibDir finds Debian's Janus library folder (plugins, transports).
func janusLibDir() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/*/janus/plugins/libjanus_sip.so")
	if len(matches) == 0 {
		return "", errors.New("janus SIP plugin not found under /usr/lib/*/janus (run testbed/install.sh)")
	}
	return filepath.Dir(filepath.Dir(matches[0])), nil
}

// buildJanusShim compiles the shim with gcc into dir.
func buildJanusShim(ctx context.Context, dir string) (string, error) {
	src, lib := filepath.Join(dir, "loopback-shim.c"), filepath.Join(dir, "loopback-shim.so")
	if err := os.WriteFile(src, []byte(janusShimC), 0o600); err != nil {
		return "", fmt.Errorf("janus shim: %w", err)
	}
	out, err := exec.CommandContext(ctx, "gcc", "-O2", "-shared", "-fPIC", "-o", lib, src, "-ldl").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("compile the janus shim (gcc): %w\n%s", err, out)
	}
	return lib, nil
}

// janusProc is a running Janus.
type janusProc struct {
	cmd     *exec.Cmd
	wsURL   string
	logPath string
	done    chan struct{}
	err     error
}

// startJanus configures and starts Janus in dir, pinned to cpu when cpu >= 0,
// and waits until its websocket transport listens.
func startJanus(ctx context.Context, dir string, cpu int) (*janusProc, error) {
	if _, err := exec.LookPath("janus"); err != nil {
		return nil, fmt.Errorf("janus not installed (run testbed/install.sh): %w", err)
	}
	port, err := freeTCPPort()
	if err != nil {
		return nil, err
	}
	cfg, err := janusConfig(dir, port)
	if err != nil {
		return nil, err
	}
	shim, err := buildJanusShim(ctx, dir)
	if err != nil {
		return nil, err
	}
	j := &janusProc{wsURL: "ws://127.0.0.1:" + strconv.Itoa(port), logPath: filepath.Join(dir, "janus.log"), done: make(chan struct{})}
	logFile, err := os.Create(j.logPath)
	if err != nil {
		return nil, fmt.Errorf("janus log: %w", err)
	}
	args := []string{"--configs-folder", cfg, "--config", filepath.Join(cfg, "janus.jcfg"), "--disable-colors", "--debug-timestamps"}
	j.cmd = pinnedCommand(cpu, "janus", args...)
	j.cmd.Dir = dir
	j.cmd.Env = append(os.Environ(), "LD_PRELOAD="+shim)
	j.cmd.Stdout, j.cmd.Stderr = logFile, logFile
	if err := j.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start janus: %w", err)
	}
	go func() {
		j.err = j.cmd.Wait()
		logFile.Close()
		close(j.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return j, nil
		}
		select {
		case <-j.done:
			return nil, fmt.Errorf("janus exited during start-up: %v; see %s", j.err, j.logPath)
		default:
		}
		if time.Now().After(deadline) {
			_ = j.stop(5 * time.Second)
			return nil, fmt.Errorf("janus websocket transport not listening within 30s; see %s", j.logPath)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			_ = j.stop(5 * time.Second)
			return nil, err
		}
	}
}

func (j *janusProc) pid() int { return j.cmd.Process.Pid }

// stop sends SIGTERM (SIGKILL after timeout) and waits.
func (j *janusProc) stop(timeout time.Duration) error {
	select {
	case <-j.done:
		return j.err
	default:
	}
	_ = j.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-j.done:
		return j.err
	case <-time.After(timeout):
	}
	_ = j.cmd.Process.Kill()
	<-j.done
	return fmt.Errorf("janus (pid %d) ignored SIGTERM for %v and was killed", j.pid(), timeout)
}

// procSample reads CPU seconds and RSS of pid from /proc.
func procSample(pid int) (sample, error) {
	s := sample{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("read /proc/%d/stat: %w", pid, err)
	}
	// Fields after the command name (which may contain spaces) in parentheses.
	rest := string(stat)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 22 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, _ := strconv.ParseFloat(f[11], 64) // field 14 of stat
	stime, _ := strconv.ParseFloat(f[12], 64)
	rssPages, _ := strconv.ParseFloat(f[21], 64) // field 24
	s.CPU = (utime + stime) / clockTicks
	s.RSS = rssPages * float64(os.Getpagesize())
	return s, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

// freeTCPPort finds a free TCP port on 127.0.0.1.
func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free TCP port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
