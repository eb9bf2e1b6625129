package main

// runSessions: the whole measurement, from starting the test bed to stopping
// the gateway.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

const (
	readyTimeout = 30 * time.Second // gateway registered with its subscriptions
	roundTimeout = 30 * time.Second // one flip reaching every session
	roundGap     = 300 * time.Millisecond
	metricsGap   = 2 * time.Second
)

// runSessions runs the test bed and the gateway, opens o.Sessions sessions,
// measures memory, times o.Rounds presence flips, and tears everything down.
func runSessions(ctx context.Context, o Options) (res *Result, err error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	log := logger(o.Log)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	dir, finish, err := workDir(o.Dir, "frontdesk-load-")
	if err != nil {
		return nil, err
	}
	defer finish(&err)

	res = &Result{Sessions: o.Sessions, Rounds: o.Rounds, Ramp: o.Ramp}
	if res.ClientNoFile, err = raiseNoFile(uint64(o.Sessions) + 512); err != nil {
		return nil, err
	}

	bin := o.Frontdesk
	if bin == "" {
		log.Info("building the gateway")
		if bin, err = buildGateway(ctx, dir); err != nil {
			return nil, err
		}
	}

	users := []testbed.User{{Name: gwUser, Password: gwPassword}}
	for _, a := range presenceAgents {
		users = append(users, testbed.User{Name: a.name, Password: a.password})
	}
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir:   filepath.Join(dir, "testbed"),
		Users: users,
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
	for _, a := range presenceAgents {
		if a.status == "" {
			continue
		}
		if err := tb.PublishPresence(ctx, a.name, a.password, a.status); err != nil {
			return nil, fmt.Errorf("initial presence of %s: %w", a.name, err)
		}
	}

	gws, stopNATS, err := startGateways(ctx, o, bin, dir, tb)
	defer stopNATS() // after the gateways (deferred below, so run first)
	for _, g := range gws {
		defer func() { _ = g.stop(15 * time.Second) }() // no-op once stopped below
	}
	if err != nil {
		return nil, err
	}
	gw := gws[0] // memory, CPU and open files are node 1's
	res.GatewayPID, res.Nodes = gw.pid, o.Nodes
	if o.Nodes > 1 {
		err = waitClusterReady(ctx, gws, wantSubscriptions(), readyTimeout)
	} else {
		err = gw.waitReady(ctx, wantSubscriptions(), readyTimeout)
	}
	if err != nil {
		return nil, err
	}
	var urls []string
	for _, g := range gws {
		if err := probe(ctx, g.wsURL(), "online", 15*time.Second); err != nil {
			return nil, err
		}
		urls = append(urls, g.wsURL())
	}
	if res.PBXSubscriptions, err = pbxSubscriptions(tb); err != nil {
		return nil, err
	}
	soft, hard, err := openFileLimit(gw.pid)
	if err != nil {
		return nil, err
	}
	res.GatewayNoFile = soft + "/" + hard
	log.Info("gateway ready", "pid", gw.pid, "url", gw.baseURL, "nofile", res.GatewayNoFile)

	if res.Before, err = gw.settledSample(ctx, metricsGap); err != nil {
		return nil, err
	}
	fl := newFleet(urls, o.Rounds, o.Sessions)
	defer func() { _ = fl.closeAll(30 * time.Second) }() // no-op once closed below
	log.Info("opening sessions", "n", o.Sessions, "per_second", o.Ramp)
	began := time.Now()
	if err := fl.openAll(ctx, o.Sessions, o.Ramp); err != nil {
		return nil, err
	}
	res.OpenSeconds = time.Since(began).Seconds()
	res.InitialPresence = fl.initialPresences()
	log.Info("sessions open", "n", o.Sessions, "took", time.Since(began).Round(time.Millisecond))

	if res.Settled, err = gw.settledSample(ctx, metricsGap); err != nil {
		return nil, err
	}
	share := (o.Sessions + o.Nodes - 1) / o.Nodes // node 1's sessions (round robin)
	res.PerSession = perSession(res.Before, res.Settled, share)
	res.GatewayCPUOpen = res.Settled.CPU - res.Before.CPU
	if o.GCWait > 0 {
		log.Info("waiting for the gateway's next garbage collection", "at_most", o.GCWait)
		ok, err := gw.waitGC(ctx, res.Settled.GCs, o.GCWait)
		if err != nil {
			return nil, err
		}
		if ok {
			s, err := gw.settledSample(ctx, metricsGap)
			if err != nil {
				return nil, err
			}
			m := perSession(res.Before, s, share)
			res.AfterGC, res.PerSessionGC = &s, &m
		} else {
			log.Warn("no garbage collection within the wait", "waited", o.GCWait)
		}
	}

	startRounds, err := gw.scrape(ctx)
	if err != nil {
		return nil, err
	}
	res.RoundsDetail = make([]roundResult, 0, o.Rounds)
	for r := 0; r < o.Rounds; r++ {
		rr, err := flip(ctx, tb, gw, fl, r)
		if err != nil {
			return nil, err
		}
		res.RoundsDetail = append(res.RoundsDetail, rr)
		log.Debug("round", "n", r, "presence", rr.Presence, "all", rr.All, "reached", rr.Reached)
	}
	if res.Final, err = gw.scrape(ctx); err != nil {
		return nil, err
	}
	res.GatewayCPURounds = res.Final.CPU - startRounds.CPU
	if o.Rounds > 0 {
		res.NotifiesPerRound = (res.Final.Notifies - startRounds.Notifies) / float64(o.Rounds)
	}
	res.Stray, res.Duplicates, res.Lost = fl.stray.Load(), fl.dups.Load(), fl.lost.Load()
	summariseRounds(res, fl)

	if err := fl.closeAll(30 * time.Second); err != nil {
		return nil, err
	}
	if s, err := waitMetric(ctx, gw, "sessions", func(s sample) float64 { return s.Sessions }, 0, 30*time.Second); err != nil {
		log.Warn("gateway did not release every session", "err", err)
	} else {
		res.Closed = &s
	}
	res.GatewayCPU = res.Final.CPU
	if res.Closed != nil {
		res.GatewayCPU = res.Closed.CPU
	}
	res.GatewayExit = "exit 0"
	if err := gw.stop(15 * time.Second); err != nil {
		res.GatewayExit = err.Error()
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		res.ClientCPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}

	mem := res.PerSession
	if res.PerSessionGC != nil {
		mem = *res.PerSessionGC
	}
	res.MemoryTargetMet = mem.RSS <= targetBytesPerSession
	lat := res.FromPublish
	if res.FromNotify != nil {
		lat = *res.FromNotify
	}
	res.LatencyTargetMet = res.Missing == 0 && lat.AllP99 <= targetP99
	return res, nil
}

// startGateways starts the one gateway, or with o.Nodes > 1 a nats-server
// and the nodes of a cluster; stopNATS ends the nats-server (a no-op
// without one).
func startGateways(ctx context.Context, o Options, bin, dir string, tb *testbed.Testbed) (gws []*gateway, stopNATS func(), err error) {
	stopNATS = func() {}
	if o.Nodes > 1 {
		gws, ns, err := startCluster(ctx, bin, dir, tb.Addr(), o.Nodes)
		if ns != nil {
			stopNATS = func() { _ = ns.Stop() }
		}
		return gws, stopNATS, err
	}
	// The config gets a directory of its own: the gateway watches the
	// config's directory and logs every event there at debug level, so a log
	// file next to it would feed itself.
	cfgDir := filepath.Join(dir, "config")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		return nil, stopNATS, fmt.Errorf("config directory: %w", err)
	}
	cfgPath := filepath.Join(cfgDir, "frontdesk.yaml")
	if err := os.WriteFile(cfgPath, []byte(gatewayConfig(tb.Addr())), 0o600); err != nil {
		return nil, stopNATS, fmt.Errorf("write gateway config: %w", err)
	}
	// Debug level for the "presence changed" line, which times the NOTIFY.
	gw, err := startGateway(ctx, bin, cfgPath, filepath.Join(dir, "frontdesk.log"), "debug", -1)
	if err != nil {
		return nil, stopNATS, err
	}
	return []*gateway{gw}, stopNATS, nil
}

// flip times round r: publish the round's presence and wait until every
// session has the Info, then find when the gateway applied the NOTIFY.
func flip(ctx context.Context, tb *testbed.Testbed, gw *gateway, fl *fleet, r int) (roundResult, error) {
	rr := roundResult{Presence: wantPresence(r)}
	pw := presenceAgents[0].password
	fl.cur.Store(int32(r))
	t0 := time.Now()
	fl.t0[r] = t0.Sub(fl.base)
	if err := tb.PublishPresence(ctx, flipAgent, pw, rr.Presence); err != nil {
		return rr, fmt.Errorf("round %d: publish %s: %w", r, rr.Presence, err)
	}
	rr.Publish = time.Since(t0)
	timer := time.NewTimer(roundTimeout)
	defer timer.Stop()
	select {
	case <-fl.done[r]:
	case <-timer.C:
	case <-ctx.Done():
		return rr, fmt.Errorf("round %d: %w", r, ctx.Err())
	}
	rr.Reached = int(fl.count[r].Load())

	// The gateway logs the change when it applies the NOTIFY; its log line
	// may trail the Infos a little.
	wait := time.NewTimer(2 * time.Second)
	defer wait.Stop()
	for rr.Notify == 0 {
		select {
		case at := <-gw.changes:
			if d := at.Sub(t0); d > -50*time.Millisecond {
				rr.Notify = max(d, 1)
			}
			continue
		case <-wait.C:
		case <-ctx.Done():
			return rr, fmt.Errorf("round %d: %w", r, ctx.Err())
		}
		break
	}
	return rr, sleep(ctx, roundGap)
}

// summariseRounds turns the receive times into per-round and per-session
// latencies, measured from the PUBLISH and from the gateway applying the
// NOTIFY.
func summariseRounds(res *Result, fl *fleet) {
	n := int(fl.n.Load())
	res.ExpectedInfos = int64(n * len(res.RoundsDetail))
	var fromPub, fromNote, allPub, allNote, firstPub []time.Duration
	haveNotify := len(res.RoundsDetail) > 0
	for i := range res.RoundsDetail {
		if res.RoundsDetail[i].Notify == 0 {
			haveNotify = false
		}
	}
	for r := range res.RoundsDetail {
		rr := &res.RoundsDetail[r]
		t0 := fl.t0[r]
		first, last := time.Duration(-1), time.Duration(0)
		for _, c := range fl.clients {
			at := time.Duration(c.got[r].Load())
			if at == 0 {
				continue
			}
			res.ReceivedInfos++
			d := at - t0
			fromPub = append(fromPub, d)
			if haveNotify {
				fromNote = append(fromNote, d-rr.Notify)
			}
			if first < 0 || d < first {
				first = d
			}
			last = max(last, d)
		}
		res.Missing += n - rr.Reached
		rr.First, rr.All = max(first, 0), last
		if rr.Reached == n {
			allPub = append(allPub, last)
			firstPub = append(firstPub, rr.First)
			if haveNotify {
				rr.AllFromNote = last - rr.Notify
				allNote = append(allNote, rr.AllFromNote)
			}
		}
	}
	res.FromPublish = summarise(fromPub, allPub, firstPub)
	if haveNotify {
		var firstNote []time.Duration
		for _, rr := range res.RoundsDetail {
			firstNote = append(firstNote, rr.First-rr.Notify)
		}
		l := summarise(fromNote, allNote, firstNote)
		res.FromNotify = &l
	}
}

// waitMetric waits until the gateway reports want for the metric that get
// reads from a scrape (what names it in the error).
func waitMetric(ctx context.Context, gw *gateway, what string, get func(sample) float64, want float64, timeout time.Duration) (sample, error) {
	deadline := time.Now().Add(timeout)
	for {
		s, err := gw.scrape(ctx)
		if err != nil {
			return s, err
		}
		if get(s) == want {
			return s, nil
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("gateway still has %v %s after %v", get(s), what, timeout)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return s, err
		}
	}
}

// raiseNoFile raises this process's open-file soft limit to the hard limit
// and checks that need descriptors fit. It returns "soft/hard".
func raiseNoFile(need uint64) (string, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return "", fmt.Errorf("get RLIMIT_NOFILE: %w", err)
	}
	if lim.Max < need && os.Geteuid() == 0 {
		// Root (with CAP_SYS_RESOURCE) may raise the hard limit too; the
		// gateway started from here inherits it.
		raised := syscall.Rlimit{Cur: need, Max: need}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			lim = raised
		}
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return "", fmt.Errorf("raise RLIMIT_NOFILE to %d: %w", lim.Max, err)
		}
	}
	if lim.Cur < need {
		return "", fmt.Errorf("open-file limit %d is below the %d needed; raise the hard limit (ulimit -Hn) or open fewer sessions",
			lim.Cur, need)
	}
	return fmt.Sprintf("%d/%d", lim.Cur, lim.Max), nil
}
