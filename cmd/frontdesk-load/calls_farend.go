package main

// The far end of the calls measurement, the same for every system under
// test: sipp as the agent's phone behind Kamailio, answering every INVITE
// with PCMU and sending every RTP packet on its media port straight back to
// where it came from (-rtp_echo: one socket for all calls, symmetric RTP,
// so the system's latching is exercised), until BYE.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	echoUser     = "echo"
	echoPassword = "echo-load"
)

// echoScenario is the agent's phone. Kamailio record-routes the INVITE, so
// the 200 copies Record-Route: without it the caller would send ACK and BYE
// straight to sipp, which then answers them to the wrong address.
const echoScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="frontdesk-load echo">
  <recv request="INVITE"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]LoadEcho[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:echo@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=echo 1 1 IN IP4 [local_ip]
s=echo
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=ptime:20
a=sendrecv
]]>
  </send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]>
  </send>
</scenario>
`

// sippEcho is a running sipp UAS with its RTP echo.
type sippEcho struct {
	cmd       *exec.Cmd
	sipPort   int
	mediaPort int
	statPath  string
	logPath   string
	done      chan struct{}
	err       error
}

// startEcho starts sipp in dir on free loopback ports. Its statistics are
// written every second, so counts can be read while it runs.
func startEcho(dir string) (*sippEcho, error) {
	if _, err := exec.LookPath("sipp"); err != nil {
		return nil, fmt.Errorf("sipp not installed (run testbed/install.sh): %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("echo directory: %w", err)
	}
	scen := filepath.Join(dir, "echo.xml")
	if err := os.WriteFile(scen, []byte(echoScenario), 0o600); err != nil {
		return nil, fmt.Errorf("echo scenario: %w", err)
	}
	sipPort, err := freeUDPPort(false)
	if err != nil {
		return nil, err
	}
	mediaPort, err := freeUDPPort(true)
	if err != nil {
		return nil, err
	}
	e := &sippEcho{sipPort: sipPort, mediaPort: mediaPort, statPath: filepath.Join(dir, "stat.csv"),
		logPath: filepath.Join(dir, "sipp.log"), done: make(chan struct{})}
	logFile, err := os.Create(e.logPath)
	if err != nil {
		return nil, fmt.Errorf("echo log: %w", err)
	}
	e.cmd = exec.Command("sipp", "-sf", scen, "-i", "127.0.0.1", "-p", strconv.Itoa(sipPort),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(mediaPort), "-rtp_echo", "-nostdin",
		"-trace_stat", "-stf", e.statPath, "-fd", "1",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"))
	e.cmd.Dir = dir
	e.cmd.Stdout, e.cmd.Stderr = logFile, logFile
	if err := e.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start sipp: %w", err)
	}
	go func() {
		e.err = e.cmd.Wait()
		logFile.Close()
		close(e.done)
	}()
	return e, nil
}

// Addr is where sipp takes SIP, for REGISTER's Contact.
func (e *sippEcho) Addr() string { return "127.0.0.1:" + strconv.Itoa(e.sipPort) }

// mediaAddr is the RTP echo socket.
func (e *sippEcho) mediaAddr() *net.UDPAddr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: e.mediaPort}
}

// echoStats are sipp's cumulative counters.
type echoStats struct {
	Incoming   int64 `json:"invites"`     // calls received
	Successful int64 `json:"completed"`   // ended by BYE, as the scenario expects
	Failed     int64 `json:"failed"`      // anything else (timeouts, unexpected messages)
	Current    int64 `json:"in_progress"` // calls not yet ended
}

// stats reads the latest line of sipp's statistics file.
func (e *sippEcho) stats() (echoStats, error) {
	var s echoStats
	f, err := os.Open(e.statPath)
	if err != nil {
		return s, fmt.Errorf("sipp statistics: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var header, last []string
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ";")
		if header == nil {
			header = fields
			continue
		}
		last = fields
	}
	if last == nil {
		return s, errors.New("sipp statistics: no data line yet")
	}
	col := func(name string) int64 {
		if i := slices.Index(header, name); i >= 0 && i < len(last) {
			v, _ := strconv.ParseInt(strings.TrimSpace(last[i]), 10, 64)
			return v
		}
		return -1
	}
	s = echoStats{Incoming: col("IncomingCall(C)"), Successful: col("SuccessfulCall(C)"), Failed: col("FailedCall(C)"), Current: col("CurrentCall")}
	if s.Incoming < 0 || s.Successful < 0 || s.Failed < 0 || s.Current < 0 {
		return s, fmt.Errorf("sipp statistics: columns missing in %s", e.statPath)
	}
	return s, nil
}

// waitStats polls the statistics until ok or timeout and returns the last.
func (e *sippEcho) waitStats(ctx context.Context, timeout time.Duration, ok func(echoStats) bool) (echoStats, error) {
	deadline := time.Now().Add(timeout)
	for {
		s, err := e.stats()
		if err == nil && ok(s) {
			return s, nil
		}
		if time.Now().After(deadline) {
			return s, err
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return s, err
		}
	}
}

// close stops sipp (SIGTERM, then SIGKILL) and waits for it.
func (e *sippEcho) close() {
	select {
	case <-e.done:
		return
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
}

// rttBaseline is the echo's round trip without the system under test.
type rttBaseline struct {
	Pings int     `json:"pings"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
}

// calibrate pings sipp's echo socket directly from 127.0.0.1 (200 packets
// of the visitors' size, 5 ms apart) and measures the round trip. It waits
// (bounded) for sipp to be up first.
func (e *sippEcho) calibrate(ctx context.Context) (rttBaseline, error) {
	const pings, gap = 200, 5 * time.Millisecond
	var b rttBaseline
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return b, fmt.Errorf("echo calibration: %w", err)
	}
	defer conn.Close()
	to := e.mediaAddr()
	pkt := make([]byte, 12+pcmuPayload)
	in := make([]byte, 2048)
	var rtts []time.Duration
	for i := 0; i < 50 && len(rtts) == 0; i++ { // sipp starting up
		if _, err := conn.WriteToUDP(pkt, to); err != nil {
			return b, fmt.Errorf("echo calibration: %w", err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, _, err := conn.ReadFromUDP(in); err == nil {
			rtts = append(rtts, 0)
		}
		if ctx.Err() != nil {
			return b, ctx.Err()
		}
	}
	if len(rtts) == 0 {
		return b, fmt.Errorf("echo calibration: sipp's RTP echo on %s did not answer within 5 s; see %s", to, e.logPath)
	}
	rtts = rtts[:0]
	for i := 0; i < pings && ctx.Err() == nil; i++ {
		t0 := time.Now()
		if _, err := conn.WriteToUDP(pkt, to); err != nil {
			return b, fmt.Errorf("echo calibration: %w", err)
		}
		_ = conn.SetReadDeadline(t0.Add(time.Second))
		if _, _, err := conn.ReadFromUDP(in); err == nil {
			rtts = append(rtts, time.Since(t0))
		}
		time.Sleep(gap)
	}
	if len(rtts) == 0 {
		return b, errors.New("echo calibration: no packet came back")
	}
	slices.Sort(rtts)
	return rttBaseline{Pings: len(rtts), P50: msOf(percentile(rtts, 50)), P99: msOf(percentile(rtts, 99))}, nil
}

// freeUDPPort finds a free UDP port on 127.0.0.1; even with the three ports
// above it free too when media (sipp also binds the echo port + 2 for video).
func freeUDPPort(media bool) (int, error) {
	for range 100 {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free UDP port: %w", err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if !media {
			return port, nil
		}
		if port%2 == 1 || port > 65000 {
			continue
		}
		free := true
		for _, p := range []int{port + 1, port + 2, port + 3} {
			pc, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				free = false
				break
			}
			pc.Close()
		}
		if free {
			return port, nil
		}
	}
	return 0, errors.New("no free UDP port for sipp's echo")
}
