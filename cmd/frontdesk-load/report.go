package main

// The result of a run, its statistics, and how it is printed.

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// Targets for idle sessions (100,000 per box: ≤ 16 KiB each, fan-out p99
// ≤ 500 ms).
const (
	targetBytesPerSession = 16 << 10
	targetP99             = 500 * time.Millisecond
)

// Result is what a run measured.
type Result struct {
	Sessions int `json:"sessions"`
	Rounds   int `json:"rounds"`
	Ramp     int `json:"ramp_per_second"`
	// Nodes is the number of gateways (a cluster above 1); memory, CPU and
	// open files are node 1's, which holds its share of the sessions.
	Nodes int `json:"nodes"`
	// PBXSubscriptions counts the SUBSCRIBE dialogs the PBX holds.
	PBXSubscriptions int `json:"pbx_subscriptions"`

	GatewayPID      int            `json:"gateway_pid"`
	GatewayNoFile   string         `json:"gateway_nofile"` // soft/hard "Max open files" of the gateway
	ClientNoFile    string         `json:"client_nofile"`
	OpenSeconds     float64        `json:"open_seconds"` // time to open all sessions
	InitialPresence map[string]int `json:"initial_presence"`

	Before  sample  `json:"before"`             // before opening sessions
	Settled sample  `json:"settled"`            // a few seconds after the ramp
	AfterGC *sample `json:"after_gc,omitempty"` // after the gateway's next GC, if one came
	Final   sample  `json:"final"`              // after the rounds, sessions still open
	Closed  *sample `json:"closed,omitempty"`   // after closing every session

	PerSession    memPerSession  `json:"per_session_settled"`
	PerSessionGC  *memPerSession `json:"per_session_after_gc,omitempty"`
	RoundsDetail  []roundResult  `json:"rounds_detail"`
	FromPublish   latencies      `json:"from_publish"`          // t0 = PUBLISH about to be sent
	FromNotify    *latencies     `json:"from_notify,omitempty"` // t0 = gateway logged the change
	Missing       int            `json:"missing_updates"`
	Stray         int64          `json:"stray_infos"`
	Duplicates    int64          `json:"duplicate_infos"`
	Lost          int64          `json:"lost_sessions"`
	ExpectedInfos int64          `json:"expected_infos"`
	ReceivedInfos int64          `json:"received_infos"`

	GatewayCPU       float64 `json:"gateway_cpu_seconds"`        // whole run
	GatewayCPUOpen   float64 `json:"gateway_cpu_seconds_open"`   // opening the sessions
	GatewayCPURounds float64 `json:"gateway_cpu_seconds_rounds"` // all rounds
	ClientCPU        float64 `json:"client_cpu_seconds"`
	NotifiesPerRound float64 `json:"notifies_per_round"`
	GatewayExit      string  `json:"gateway_exit"`

	MemoryTargetMet  bool `json:"memory_target_met"`
	LatencyTargetMet bool `json:"latency_target_met"`
}

// memPerSession is the growth of the gateway's memory divided by sessions.
type memPerSession struct {
	RSS        float64 `json:"rss_bytes"`
	HeapStack  float64 `json:"heap_stack_bytes"`
	Heap       float64 `json:"heap_bytes"`
	Stack      float64 `json:"stack_bytes"`
	Goroutines float64 `json:"goroutines"`
}

func perSession(before, after sample, n int) memPerSession {
	d := float64(n)
	return memPerSession{
		RSS:        (after.RSS - before.RSS) / d,
		HeapStack:  (after.HeapStack() - before.HeapStack()) / d,
		Heap:       (after.HeapInuse - before.HeapInuse) / d,
		Stack:      (after.StackInuse - before.StackInuse) / d,
		Goroutines: (after.Goroutines - before.Goroutines) / d,
	}
}

// roundResult is one presence flip.
type roundResult struct {
	Presence    string        `json:"presence"`
	Publish     time.Duration `json:"publish_ns"`          // PUBLISH sent until 200 OK
	Notify      time.Duration `json:"notify_ns,omitempty"` // PUBLISH sent until the gateway logged the change
	First       time.Duration `json:"first_ns"`            // PUBLISH sent until the first session had it
	All         time.Duration `json:"all_ns"`              // PUBLISH sent until every session had it
	AllFromNote time.Duration `json:"all_from_notify_ns,omitempty"`
	Reached     int           `json:"reached"`
}

// latencies summarises per-session and per-round times.
type latencies struct {
	SessionP50 time.Duration `json:"session_p50_ns"`
	SessionP99 time.Duration `json:"session_p99_ns"`
	SessionMax time.Duration `json:"session_max_ns"`
	AllP50     time.Duration `json:"all_reached_p50_ns"`
	AllP99     time.Duration `json:"all_reached_p99_ns"`
	AllMax     time.Duration `json:"all_reached_max_ns"`
	FirstP50   time.Duration `json:"first_reached_p50_ns"`
}

func summarise(perSession, all, first []time.Duration) latencies {
	slices.Sort(perSession)
	slices.Sort(all)
	slices.Sort(first)
	return latencies{
		SessionP50: percentile(perSession, 50),
		SessionP99: percentile(perSession, 99),
		SessionMax: percentile(perSession, 100),
		AllP50:     percentile(all, 50),
		AllP99:     percentile(all, 99),
		AllMax:     percentile(all, 100),
		FirstP50:   percentile(first, 50),
	}
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// printTable writes the human-readable report.
func printTable(w io.Writer, r *Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("sessions", fmt.Sprintf("%d (opened in %.1f s, %d/s requested)", r.Sessions, r.OpenSeconds, r.Ramp))
	if r.Nodes > 1 {
		row("nodes", fmt.Sprintf("%d in a cluster (memory, CPU and open files: node 1, %d sessions)", r.Nodes, (r.Sessions+r.Nodes-1)/r.Nodes))
	}
	row("PBX-side SUBSCRIBE dialogs", fmt.Sprintf("%d", r.PBXSubscriptions))
	row("gateway open files (soft/hard)", r.GatewayNoFile)
	row("memory/session, settled: RSS", kib(r.PerSession.RSS))
	row("memory/session, settled: heap+stack", fmt.Sprintf("%s (heap %s, stack %s, %.2f goroutines)",
		kib(r.PerSession.HeapStack), kib(r.PerSession.Heap), kib(r.PerSession.Stack), r.PerSession.Goroutines))
	if g := r.PerSessionGC; g != nil {
		row("memory/session, after a GC: RSS", kib(g.RSS))
		row("memory/session, after a GC: heap+stack", fmt.Sprintf("%s (heap %s, stack %s)", kib(g.HeapStack), kib(g.Heap), kib(g.Stack)))
	}
	row("gateway at N sessions", fmt.Sprintf("RSS %.1f MiB, heap in use %.1f MiB, stacks %.1f MiB, %d goroutines",
		r.Settled.RSS/(1<<20), r.Settled.HeapInuse/(1<<20), r.Settled.StackInuse/(1<<20), int(r.Settled.Goroutines)))
	if r.Rounds > 0 {
		row("rounds (presence flips)", fmt.Sprintf("%d, %.1f NOTIFY per round", r.Rounds, r.NotifiesPerRound))
		l := r.FromPublish
		row("from PUBLISH sent: per session p50/p99/max", fmt.Sprintf("%s / %s / %s", ms(l.SessionP50), ms(l.SessionP99), ms(l.SessionMax)))
		row("from PUBLISH sent: all reached p50/p99/max", fmt.Sprintf("%s / %s / %s", ms(l.AllP50), ms(l.AllP99), ms(l.AllMax)))
		row("from PUBLISH sent: first reached p50", ms(l.FirstP50))
		if n := r.FromNotify; n != nil {
			row("from NOTIFY applied: per session p50/p99/max", fmt.Sprintf("%s / %s / %s", ms(n.SessionP50), ms(n.SessionP99), ms(n.SessionMax)))
			row("from NOTIFY applied: all reached p50/p99/max", fmt.Sprintf("%s / %s / %s", ms(n.AllP50), ms(n.AllP99), ms(n.AllMax)))
		}
		row("updates received/expected", fmt.Sprintf("%d/%d (missing %d, stray %d, duplicate %d, lost sessions %d)",
			r.ReceivedInfos, r.ExpectedInfos, r.Missing, r.Stray, r.Duplicates, r.Lost))
	}
	row("gateway CPU", fmt.Sprintf("%.2f s since start (%.2f s opening, %.2f s during the rounds = %.0f ms per fan-out)",
		r.GatewayCPU, r.GatewayCPUOpen, r.GatewayCPURounds, 1000*r.GatewayCPURounds/float64(max(r.Rounds, 1))))
	row("load tool CPU", fmt.Sprintf("%.2f s", r.ClientCPU))
	row("gateway exit after SIGTERM", r.GatewayExit)
	row("target ≤ 16 KiB/session (RSS)", yesNo(r.MemoryTargetMet))
	if r.Rounds > 0 {
		row("target all-reached p99 ≤ 500 ms", yesNo(r.LatencyTargetMet))
	}
	_ = tw.Flush()
}

func printJSON(w io.Writer, r any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	return nil
}
