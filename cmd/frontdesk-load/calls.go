package main

// runCalls: concurrent visitor calls through the real gateway to an echo far
// end, ramped up in steps, each step measured while its calls are held.

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

const (
	callsWidgetID = "ca11ca11c0de4c1a9d0a10ad5e55104d"
	// Gateway port ranges; they must not overlap each other or the
	// visitors' range (visitorPortLo-visitorPortHi).
	callsRTPPorts    = "30000-31999" // 1000 RTP/RTCP pairs
	callsWebRTCPorts = "40000-43999"
	maxCallsStep     = 900 // below the RTP pairs, with room for quarantined ones
	maxCallsInFlight = 32  // calls being set up at once
	drainWait        = time.Second
	minSentPercent   = 95 // of 50 packets per call-second; below it the senders fall behind
	maxStepErrors    = 5  // setup errors kept per step
)

// CallsOptions configure runCalls.
type CallsOptions struct {
	Frontdesk string        // gateway binary; "" builds ./cmd/frontdesk
	Steps     []int         // concurrent calls per step, increasing
	Hold      time.Duration // measuring time per step, all calls up
	Rate      int           // calls set up per second during a ramp
	Settle    time.Duration // after a ramp, before measuring
	MaxLoss   float64       // percent; a step at or above it ends the ramp
	MaxRTT    time.Duration // a step whose round-trip p99 exceeds it ends the ramp
	Timeout   time.Duration // bound on the whole run
	Dir       string        // working directory; "" uses a temporary one
	System    string        // systemFrontdesk or systemJanus
	Pin       bool          // the system on a core of its own, the tool and far end on the others
	// WebRTCStack is frontdesk's calls.webrtc_stack: lite or pion.
	WebRTCStack string
	pin         pinning // what Pin did; set by runCalls, or by runCompare for both runs
	Log         *slog.Logger
}

func defaultCallsOptions() CallsOptions {
	return CallsOptions{
		Steps:       []int{10, 50, 100, 200},
		Hold:        20 * time.Second,
		Rate:        20,
		Settle:      3 * time.Second,
		MaxLoss:     1,
		MaxRTT:      50 * time.Millisecond,
		Timeout:     20 * time.Minute,
		System:      systemFrontdesk,
		WebRTCStack: "lite",
		pin:         noPinning,
	}
}

func (o CallsOptions) validate() error {
	switch {
	case len(o.Steps) == 0 || len(o.Steps) > 50:
		return fmt.Errorf("--steps: want 1..50 steps")
	case o.Hold < time.Second || o.Hold > 10*time.Minute:
		return fmt.Errorf("--hold %v: want 1s..10m", o.Hold)
	case o.Rate < 1 || o.Rate > 500:
		return fmt.Errorf("--rate %d: want 1..500", o.Rate)
	case o.Settle < 0 || o.Settle > time.Minute:
		return fmt.Errorf("--settle %v: want 0..1m", o.Settle)
	case o.MaxLoss <= 0 || o.MaxLoss > 100:
		return fmt.Errorf("--max-loss %v: want more than 0 and at most 100", o.MaxLoss)
	case o.MaxRTT <= 0 || o.MaxRTT > time.Minute:
		return fmt.Errorf("--max-rtt %v: want more than 0 and at most 1m", o.MaxRTT)
	case o.Timeout <= 0 || o.Timeout > 2*time.Hour:
		return fmt.Errorf("--timeout %v: want more than 0 and at most 2h", o.Timeout)
	}
	if err := validSystem(o.System); err != nil {
		return err
	}
	if o.WebRTCStack != "lite" && o.WebRTCStack != "pion" {
		return fmt.Errorf("--webrtc-stack %q: want lite or pion", o.WebRTCStack)
	}
	prev := 0
	for _, n := range o.Steps {
		if n <= prev || n > maxCallsStep {
			return fmt.Errorf("--steps %v: want increasing counts of 1..%d", o.Steps, maxCallsStep)
		}
		prev = n
	}
	return nil
}

// parseSteps parses "10,50,100".
func parseSteps(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("--steps %q: %w", s, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// callsGatewayConfig is the gateway's config for the calls measurement: one
// cards widget with one always-available agent, the echo UAS, and limits
// above maxCalls.
func callsGatewayConfig(registrar string, maxCalls int, stack string) string {
	return fmt.Sprintf(`# frontdesk-load calls: gateway config for the loopback test bed
sip:
  registrar: %s
  domain: frontdesk.test
  username: %s
  password_env: %s
  listen: 127.0.0.1:0
  trusted_sources: [127.0.0.1]
http:
  listen: 127.0.0.1:0
  allowed_origins: [%q]
limits:
  max_sessions: 50000
  max_sessions_per_ip: 50000
  calls: {per_session: off, per_ip: off, per_agent: off} # every visitor is 127.0.0.1, calling one agent
calls:
  webrtc_ips: [127.0.0.1] # media with the visitors stays on loopback
  candidate_networks: [127.0.0.0/8] # and visitors' ICE candidates on this host are probed
  webrtc_stack: %s
  rtp_ports: %s
  webrtc_ports: %s
  max_calls: %d
  max_calls_per_agent: %d
widgets:
  - id: %s
    type: cards
    name: Load calls
    agents:
      - {id: %s, sip: %s, name: Echo, department: Load, mode: always, media: [voice]}
`, registrar, gwUser, passwdEnv, origin, stack, callsRTPPorts, callsWebRTCPorts, maxCalls, maxCalls,
		callsWidgetID, echoUser, echoUser)
}

// callFleet is every visitor opened so far.
type callFleet struct {
	vn    *visitorNet
	sut   underTest
	base  time.Time
	calls []*visitor
	ended int // visitors counted as dropped so far
	ids   int
}

// rampResult is what opening calls up to a step's count gave.
type rampResult struct {
	added, failed int
	setups        []time.Duration
	media         []time.Duration
	errs          []string
	took          time.Duration
}

// ramp opens calls until there are target, at rate per second and at most
// maxCallsInFlight at once.
func (f *callFleet) ramp(ctx context.Context, target, rate int) rampResult {
	var (
		rr  rampResult
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, maxCallsInFlight)
	)
	start := time.Now()
	n := target - len(f.calls)
	for i := range n {
		if err := sleep(ctx, time.Until(start.Add(time.Duration(i)*time.Second/time.Duration(rate)))); err != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		f.ids++
		id := f.ids
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			v, err := openCall(ctx, f.vn, f.sut.newSignal(id), id, f.base)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				rr.failed++
				if len(rr.errs) < maxStepErrors {
					rr.errs = append(rr.errs, err.Error())
				}
				return
			}
			rr.added++
			rr.setups = append(rr.setups, v.setup)
			rr.media = append(rr.media, v.mediaReady)
			f.calls = append(f.calls, v)
		}()
	}
	wg.Wait()
	rr.took = time.Since(start)
	return rr
}

// live returns the visitors whose call has not ended.
func (f *callFleet) live() []*visitor {
	var out []*visitor
	for _, v := range f.calls {
		if !v.isEnded() {
			out = append(out, v)
		}
	}
	return out
}

// newlyEnded counts the calls that ended since the last count, with their
// reasons.
func (f *callFleet) newlyEnded() (int, map[string]int) {
	total, reasons := 0, map[string]int{}
	for _, v := range f.calls {
		if v.isEnded() && !v.hangingUp.Load() {
			total++
			reasons[v.reason()]++
		}
	}
	n := total - f.ended
	f.ended = total
	return n, reasons
}

// hangupAll ends every call with ClearCall, then closes the visitors.
func (f *callFleet) hangupAll() (confirmed int) {
	var wg sync.WaitGroup
	var ok atomic.Int64
	sem := make(chan struct{}, 64)
	for _, v := range f.calls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if v.hangup() {
				ok.Add(1)
			}
			v.close()
		}()
	}
	wg.Wait()
	return int(ok.Load())
}

// runCalls runs the test bed, the far end and the system under test, then
// ramps the calls through o.Steps and measures each step.
func runCalls(ctx context.Context, o CallsOptions) (res *CallsResult, err error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	log := logger(o.Log).With("system", o.System)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	dir, finish, err := workDir(o.Dir, "frontdesk-load-calls-")
	if err != nil {
		return nil, err
	}
	defer finish(&err)

	top := o.Steps[len(o.Steps)-1]
	res = &CallsResult{System: o.System, WebRTCStack: o.WebRTCStack, Hold: o.Hold.Seconds(), Rate: o.Rate, MaxLoss: o.MaxLoss, MaxRTT: msOf(o.MaxRTT), Steps: []stepResult{}}
	if _, err = raiseNoFile(uint64(top)*16 + 512); err != nil {
		return nil, err
	}
	if o.Pin && o.pin.system < 0 {
		if o.pin, err = pinSystemApart(); err != nil {
			return nil, err
		}
	}
	pin := o.pin
	if o.Pin {
		res.Pinning = fmt.Sprintf("%s on CPU %d; visitors, far end and Kamailio on CPUs %v", o.System, pin.system, pin.tool)
	}
	bin := o.Frontdesk
	if bin == "" && o.System == systemFrontdesk {
		log.Info("building the gateway")
		if bin, err = buildGateway(ctx, dir); err != nil {
			return nil, err
		}
	}
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir:   filepath.Join(dir, "testbed"),
		Users: []testbed.User{{Name: gwUser, Password: gwPassword}, {Name: echoUser, Password: echoPassword}},
		Log:   log.With("component", "testbed"),
	})
	if err != nil {
		return nil, fmt.Errorf("start test bed: %w", err)
	}
	defer func() {
		if cerr := tb.Close(); cerr != nil {
			log.Warn("closing the test bed", "err", cerr)
		}
	}()
	echo, err := startEcho(filepath.Join(dir, "echo"))
	if err != nil {
		return nil, err
	}
	defer echo.close()
	if res.EchoBaseline, err = echo.calibrate(ctx); err != nil {
		return nil, err
	}
	if err := tb.Register(ctx, echoUser, echoPassword, echo.Addr(), 3600); err != nil {
		return nil, fmt.Errorf("register the echo far end: %w", err)
	}

	sut, err := startSystem(ctx, o, dir, bin, tb.Addr(), top, pin.system)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			sut.stop()
		}
	}()
	res.SystemPID = sut.pid()
	log.Info("system ready", "pid", sut.pid(), "echo", echo.Addr())

	base := time.Now()
	vn, err := newVisitorNet(base)
	if err != nil {
		return nil, err
	}
	defer vn.close()
	fleet := &callFleet{vn: vn, sut: sut, base: base}
	defer func() {
		if fleet != nil {
			fleet.hangupAll()
		}
	}()
	if res.Baseline, err = settled(ctx, sut, metricsGap); err != nil {
		return nil, err
	}
	ruStart := toolCPU()

	for _, n := range o.Steps {
		log.Info("ramping", "to", n, "rate", o.Rate)
		st, err := measureStep(ctx, o, sut, fleet, n, res.Baseline)
		if err != nil {
			return res, err
		}
		res.Steps = append(res.Steps, st)
		log.Info("step", "calls", st.Calls, "setup_p50_ms", st.SetupP50, "setup_p99_ms", st.SetupP99, "cpu_per_call_s", fmt.Sprintf("%.4f", st.CPUPerCallSecond),
			"loss_pct", fmt.Sprintf("%.3f", st.LossPercent), "rtt_p50_ms", st.RTTP50, "rtt_p99_ms", st.RTTP99, "healthy", st.Healthy)
		if st.Healthy {
			res.LargestHealthy = st.Calls
		} else {
			res.Stopped = fmt.Sprintf("step %d unhealthy: %s", n, st.Problem)
			break
		}
	}

	log.Info("hanging up", "calls", len(fleet.calls))
	res.Opened = len(fleet.calls)
	for _, v := range fleet.calls {
		res.BadPackets += v.recvBad.Load()
	}
	res.HungUp = fleet.hangupAll()
	fleet = nil
	res.SystemCallsAfter = -1
	if o.System == systemFrontdesk {
		s, err := waitMetric(ctx, sut.(frontdeskUnderTest).gw, "calls", func(s sample) float64 { return s.Calls }, 0, 30*time.Second)
		if err != nil {
			log.Warn("gateway did not end every call", "err", err)
		}
		res.SystemCallsAfter = s.Calls
	}
	es, err := echo.waitStats(ctx, 30*time.Second, func(s echoStats) bool { return s.Current == 0 && s.Incoming == int64(res.Opened) })
	if err != nil {
		log.Warn("far end statistics", "err", err)
	}
	res.Echo = es
	res.SystemExit = sut.stop()
	stopped = true
	res.ToolCPU = toolCPU() - ruStart
	return res, nil
}

// startSystem starts the system under test, configured for top calls, and
// waits until it is ready to take them.
func startSystem(ctx context.Context, o CallsOptions, dir, bin, registrar string, top, cpu int) (underTest, error) {
	if o.System == systemJanus {
		j, err := startJanus(ctx, filepath.Join(dir, "janus"), cpu)
		if err != nil {
			return nil, err
		}
		return janusUnderTest{j: j, proxy: "sip:" + registrar}, nil
	}
	cfgDir := filepath.Join(dir, "config")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		return nil, fmt.Errorf("config directory: %w", err)
	}
	cfgPath := filepath.Join(cfgDir, "frontdesk.yaml")
	if err := os.WriteFile(cfgPath, []byte(callsGatewayConfig(registrar, top+10, o.WebRTCStack)), 0o600); err != nil {
		return nil, fmt.Errorf("write gateway config: %w", err)
	}
	gw, err := startGateway(ctx, bin, cfgPath, filepath.Join(dir, "frontdesk.log"), "info", cpu)
	if err != nil {
		return nil, err
	}
	sut := frontdeskUnderTest{gw: gw}
	if err := gw.waitReady(ctx, 0, readyTimeout); err != nil {
		sut.stop()
		return nil, err
	}
	if _, h, err := gw.health(ctx); err != nil || !h.CallsEnabled {
		sut.stop()
		return nil, fmt.Errorf("gateway has calls disabled (health %+v, err %v); see %s", h, err, gw.logPath)
	}
	return sut, nil
}

// measureStep ramps to n calls, lets them settle, and measures for o.Hold.
func measureStep(ctx context.Context, o CallsOptions, sut underTest, f *callFleet, n int, baseline sample) (stepResult, error) {
	st := stepResult{Target: n}
	rr := f.ramp(ctx, n, o.Rate)
	if ctx.Err() != nil {
		return st, fmt.Errorf("ramp to %d calls: %w", n, ctx.Err())
	}
	st.Added, st.SetupFailed, st.SetupErrors = rr.added, rr.failed, rr.errs
	st.RampSeconds = rr.took.Seconds()
	slices.Sort(rr.setups)
	slices.Sort(rr.media)
	st.SetupP50, st.SetupP99, st.SetupMax = msOf(percentile(rr.setups, 50)), msOf(percentile(rr.setups, 99)), msOf(percentile(rr.setups, 100))
	st.MediaP50, st.MediaP99 = msOf(percentile(rr.media, 50)), msOf(percentile(rr.media, 99))
	if err := sleep(ctx, o.Settle); err != nil {
		return st, err
	}
	// A shared host's other work on the system's core disturbs the step
	// (its latency and the CPU it can get): measure the hold again, with
	// the same calls up, a bounded number of times.
	dropped := 0
	for attempt := 1; ; attempt++ {
		h, err := hold(ctx, o, sut, f, n, baseline, st, dropped)
		if err != nil {
			return h, err
		}
		h.Attempts = attempt
		h.Disturbance = max(0, h.SystemCoreBusy-h.GatewayCores)
		if o.pin.system < 0 || h.Disturbance <= maxDisturbance || attempt > maxRetries {
			return h, nil
		}
		dropped = h.Dropped
		logger(o.Log).Info("step disturbed by other work on the system's core; measuring again",
			"calls", n, "other_on_core", fmt.Sprintf("%.2f", h.Disturbance), "attempt", attempt)
	}
}

// Re-measuring a disturbed step.
const (
	maxDisturbance = 0.25 // of the system's core used by other processes
	maxRetries     = 2
)

// hold measures one hold window of a step whose ramp st describes;
// droppedBefore are calls already counted as dropped in earlier windows.
func hold(ctx context.Context, o CallsOptions, sut underTest, f *callFleet, n int, baseline sample, st stepResult, droppedBefore int) (stepResult, error) {
	live := f.live()
	starts := make([]uint32, len(live))
	s0, err := sut.sample(ctx)
	if err != nil {
		return st, err
	}
	m0, c0, t0 := machineCPU(), cpuCPU(o.pin.system), toolCPU()
	o0 := cpusCPU(o.pin.tool)
	for i, v := range live {
		starts[i] = v.next.Load()
	}
	began := time.Now()
	if err := sleep(ctx, o.Hold); err != nil {
		return st, err
	}
	ends := make([]uint32, len(live))
	for i, v := range live {
		ends[i] = v.next.Load()
	}
	window := time.Since(began)
	s1, err := sut.sample(ctx)
	if err != nil {
		return st, err
	}
	m1, c1, t1 := machineCPU(), cpuCPU(o.pin.system), toolCPU()
	o1 := cpusCPU(o.pin.tool)
	if err := sleep(ctx, drainWait); err != nil {
		return st, err
	}

	var rtts []time.Duration
	for i, v := range live {
		sent := int64(ends[i] - starts[i])
		var got int64
		got, rtts = v.window(starts[i], ends[i], rtts)
		st.Sent += sent
		st.Received += got
		if sent > 0 && got == 0 {
			st.CallsWithoutEcho++
		}
		st.SendErrors += v.sendErrs.Load()
	}
	slices.Sort(rtts)
	st.RTTP50, st.RTTP99, st.RTTMax = msOf(percentile(rtts, 50)), msOf(percentile(rtts, 99)), msOf(percentile(rtts, 100))
	if exp := float64(len(live)) * window.Seconds() / packetInterval.Seconds(); exp > 0 {
		st.SentPercent = 100 * float64(st.Sent) / exp
	}
	if st.Sent > 0 {
		st.LossPercent = 100 * float64(st.Sent-st.Received) / float64(st.Sent)
	}
	st.Calls = len(live)
	held := s1.At.Sub(s0.At).Seconds()
	st.HoldSeconds = held
	st.GatewayCPUSeconds = s1.CPU - s0.CPU
	if st.Calls > 0 && held > 0 {
		st.CPUPerCallSecond = st.GatewayCPUSeconds / (float64(st.Calls) * held)
	}
	st.GatewayCores = st.GatewayCPUSeconds / held
	st.ToolCores = (t1 - t0) / held
	st.MachineBusy = m1.busyFraction(m0)
	st.SystemCoreBusy = c1.busyFraction(c0)
	st.ToolCoresBusy = o1.busyFraction(o0)
	st.OtherCores = max(0, st.MachineBusy*float64(runtime.NumCPU())-st.GatewayCores-st.ToolCores)
	st.GatewayCalls = s1.Calls
	st.RSS = s1.RSS
	st.RSSPerCall = (s1.RSS - baseline.RSS) / float64(max(st.Calls, 1))
	st.HeapInuse, st.StackInuse, st.Goroutines = s1.HeapInuse, s1.StackInuse, s1.Goroutines
	if st.Calls > 0 && s1.Goroutines >= 0 {
		st.GoroutinesPerCall = (s1.Goroutines - baseline.Goroutines) / float64(st.Calls)
	}
	st.Dropped, st.DropReasons = f.newlyEnded()
	st.Dropped += droppedBefore

	var problems []string
	if st.SetupFailed > 0 {
		problems = append(problems, fmt.Sprintf("%d calls not set up", st.SetupFailed))
	}
	if st.Dropped > 0 {
		problems = append(problems, fmt.Sprintf("%d calls dropped", st.Dropped))
	}
	if st.CallsWithoutEcho > 0 {
		problems = append(problems, fmt.Sprintf("%d calls got no echo", st.CallsWithoutEcho))
	}
	if st.Calls != n {
		problems = append(problems, fmt.Sprintf("%d of %d calls up", st.Calls, n))
	}
	if st.LossPercent >= o.MaxLoss {
		problems = append(problems, fmt.Sprintf("loss %.2f %% ≥ %.2f %%", st.LossPercent, o.MaxLoss))
	}
	if st.RTTP99 > msOf(o.MaxRTT) {
		problems = append(problems, fmt.Sprintf("round-trip p99 %.1f ms > %v", st.RTTP99, o.MaxRTT))
	}
	if st.SentPercent < minSentPercent {
		problems = append(problems, fmt.Sprintf("visitors sent only %.1f %% of their packets: the load tool is short of CPU", st.SentPercent))
	}
	st.Healthy = len(problems) == 0
	st.Problem = strings.Join(problems, "; ")
	return st, nil
}

// toolCPU is this process's user+system CPU seconds.
func toolCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// cpuTimes is a line of /proc/stat, in clock ticks: "cpu" (all cores) or
// "cpuN" (one core).
type cpuTimes struct{ busy, total uint64 }

// machineCPU reads all cores, cpuCPU one (cpu < 0: none).
func machineCPU() cpuTimes { return procStatCPU("cpu") }

func cpuCPU(cpu int) cpuTimes {
	if cpu < 0 {
		return cpuTimes{}
	}
	return procStatCPU("cpu" + strconv.Itoa(cpu))
}

// cpusCPU sums the given cores.
func cpusCPU(cpus []int) cpuTimes {
	var t cpuTimes
	for _, c := range cpus {
		ct := cpuCPU(c)
		t.busy += ct.busy
		t.total += ct.total
	}
	return t
}

func procStatCPU(name string) cpuTimes {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || fields[0] != name {
			continue
		}
		var t cpuTimes
		for i, s := range fields[1:] {
			v, _ := strconv.ParseUint(s, 10, 64)
			if i >= 8 { // guest time is already in user
				break
			}
			t.total += v
			if i != 3 && i != 4 && i != 7 { // idle, iowait, steal
				t.busy += v
			}
		}
		return t
	}
	return cpuTimes{}
}

// busyFraction is the share of all cores busy between before and t.
func (t cpuTimes) busyFraction(before cpuTimes) float64 {
	if t.total <= before.total {
		return 0
	}
	return float64(t.busy-before.busy) / float64(t.total-before.total)
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
