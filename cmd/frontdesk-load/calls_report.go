package main

// The result of a calls run and how it is printed.

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// CallsResult is what a calls run measured.
type CallsResult struct {
	System      string  `json:"system"`            // frontdesk or janus
	WebRTCStack string  `json:"webrtc_stack"`      // frontdesk's calls.webrtc_stack
	Pinning     string  `json:"pinning,omitempty"` // which CPUs ran what; empty when not pinned
	Hold        float64 `json:"hold_seconds"`
	Rate        int     `json:"setup_rate_per_second"`
	MaxLoss     float64 `json:"max_loss_percent"`
	MaxRTT      float64 `json:"max_rtt_p99_ms"`

	// EchoBaseline is the round trip of plain UDP from this process to the
	// echo far end and back, without the gateway, before any call: the part
	// of a visitor's round trip the gateway does not add.
	EchoBaseline rttBaseline `json:"echo_baseline"`

	SystemPID int          `json:"system_pid"`
	Baseline  sample       `json:"baseline"` // before the first call
	Steps     []stepResult `json:"steps"`

	LargestHealthy int    `json:"largest_healthy_calls"`
	Stopped        string `json:"stopped,omitempty"` // why the ramp ended early

	Opened           int       `json:"calls_opened"`
	HungUp           int       `json:"calls_hung_up"`      // hangups the system confirmed as the visitor's
	BadPackets       int64     `json:"bad_packets"`        // echoes whose payload the visitor never sent
	SystemCallsAfter float64   `json:"system_calls_after"` // frontdesk_calls after the hangups; -1 for Janus
	Echo             echoStats `json:"echo"`               // the far end's counters at the end
	ToolCPU          float64   `json:"tool_cpu_seconds"`
	SystemExit       string    `json:"system_exit"`
}

// stepResult is one step of the ramp. Times are in milliseconds.
type stepResult struct {
	Target      int      `json:"target"`
	Added       int      `json:"added"`
	SetupFailed int      `json:"setup_failed"`
	SetupErrors []string `json:"setup_errors,omitempty"`
	RampSeconds float64  `json:"ramp_seconds"`
	// Setup: CreateCall+Channels sent until CallInfo connected; media: until
	// the visitor's PeerConnection is connected (ICE + DTLS). Calls added in
	// this step only.
	SetupP50 float64 `json:"setup_p50_ms"`
	SetupP99 float64 `json:"setup_p99_ms"`
	SetupMax float64 `json:"setup_max_ms"`
	MediaP50 float64 `json:"media_ready_p50_ms"`
	MediaP99 float64 `json:"media_ready_p99_ms"`

	// The hold: every live call sends and receives for HoldSeconds.
	Calls             int     `json:"calls"`
	HoldSeconds       float64 `json:"hold_seconds"`
	GatewayCPUSeconds float64 `json:"gateway_cpu_seconds"`
	CPUPerCallSecond  float64 `json:"gateway_cpu_seconds_per_call_second"`
	GatewayCores      float64 `json:"gateway_cores"`
	ToolCores         float64 `json:"tool_cores"`   // visitors + echo, this process
	MachineBusy       float64 `json:"machine_busy"` // share of all cores, everything on the host
	// SystemCoreBusy is how busy the system's pinned core was, with
	// everything that ran on it (0 when not pinned): near 1, the core, not
	// the system's own CPU time, is the limit.
	SystemCoreBusy float64 `json:"system_core_busy"`
	// ToolCoresBusy is the same for the other pinned cores: the visitors,
	// the far end, Kamailio and anything else there.
	ToolCoresBusy     float64 `json:"tool_cores_busy"`
	OtherCores        float64 `json:"other_cores"` // host busy minus gateway and tool: Kamailio, kernel threads, anything else
	GatewayCalls      float64 `json:"gateway_calls"`
	RSS               float64 `json:"rss_bytes"`
	RSSPerCall        float64 `json:"rss_bytes_per_call"` // (RSS − baseline) / calls
	HeapInuse         float64 `json:"heap_inuse_bytes"`
	StackInuse        float64 `json:"stack_inuse_bytes"`
	Goroutines        float64 `json:"goroutines"`
	GoroutinesPerCall float64 `json:"goroutines_per_call"` // (goroutines − baseline) / calls

	Sent             int64   `json:"packets_sent"`
	SentPercent      float64 `json:"sent_percent"` // of 50 per call-second
	Received         int64   `json:"packets_received"`
	LossPercent      float64 `json:"loss_percent"`
	SendErrors       int64   `json:"send_errors"`
	CallsWithoutEcho int     `json:"calls_without_echo"`
	RTTP50           float64 `json:"rtt_p50_ms"`
	RTTP99           float64 `json:"rtt_p99_ms"`
	RTTMax           float64 `json:"rtt_max_ms"`

	Dropped     int            `json:"dropped"` // calls that ended on their own since the last step
	DropReasons map[string]int `json:"drop_reasons,omitempty"`
	Healthy     bool           `json:"healthy"`
	// Attempts is how many hold windows were measured (the last counts);
	// Disturbance is the share of the system's core that other processes
	// used in it.
	Attempts    int     `json:"attempts"`
	Disturbance float64 `json:"disturbance"`
	Problem     string  `json:"problem,omitempty"`
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// printCalls writes the per-step table and the run's summary.
func printCalls(w io.Writer, r *CallsResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if r.System == systemFrontdesk {
		fmt.Fprintf(w, "%s (webrtc_stack %s):\n", r.System, r.WebRTCStack)
	} else {
		fmt.Fprintf(w, "%s:\n", r.System)
	}
	fmt.Fprintln(tw, "calls\tsetup p50/p99 ms\tmedia p50/p99 ms\tCPU s per call-s\tcores\tits core busy\ttool cores\ttool cores busy\tother cores\tRSS\tRSS/call\tsent\tloss %\tRTT p50/p99/max ms\thealthy\t")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%d\t%.1f / %.1f\t%.1f / %.1f\t%.4f\t%.2f\t%.0f %%\t%.2f\t%.0f %%\t%.2f\t%s\t%.0f KiB\t%d\t%.3f\t%.2f / %.2f / %.1f\t%s\t\n",
			s.Calls, s.SetupP50, s.SetupP99, s.MediaP50, s.MediaP99, s.CPUPerCallSecond, s.GatewayCores, 100*s.SystemCoreBusy, s.ToolCores, 100*s.ToolCoresBusy,
			s.OtherCores, mib(s.RSS), s.RSSPerCall/1024, s.Sent, s.LossPercent, s.RTTP50, s.RTTP99, s.RTTMax, yesNo(s.Healthy))
	}
	_ = tw.Flush()
	for _, s := range r.Steps {
		if s.Disturbance > maxDisturbance {
			fmt.Fprintf(w, "step %d: other processes used %.0f %% of the system's core in the last of %d windows\n", s.Target, 100*s.Disturbance, s.Attempts)
		}
		if s.Healthy {
			continue
		}
		fmt.Fprintf(w, "step %d: %s\n", s.Target, s.Problem)
		for _, e := range s.SetupErrors {
			fmt.Fprintf(w, "  setup error: %s\n", e)
		}
		if len(s.DropReasons) > 0 {
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(s.DropReasons)) {
				parts = append(parts, fmt.Sprintf("%s ×%d", k, s.DropReasons[k]))
			}
			fmt.Fprintf(w, "  ended calls so far by reason: %s\n", strings.Join(parts, ", "))
		}
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("largest healthy step", fmt.Sprintf("%d calls (loss < %.3g %%, RTT p99 ≤ %.0f ms, every call set up, none dropped, visitors kept pace)",
		r.LargestHealthy, r.MaxLoss, r.MaxRTT))
	if r.Stopped != "" {
		row("ramp stopped", r.Stopped)
	}
	row("echo baseline RTT (no gateway)", fmt.Sprintf("p50 %.3f ms, p99 %.3f ms over %d UDP pings", r.EchoBaseline.P50, r.EchoBaseline.P99, r.EchoBaseline.Pings))
	if r.Pinning != "" {
		row("pinned", r.Pinning)
	}
	idle := "RSS " + mib(r.Baseline.RSS)
	if r.Baseline.Goroutines >= 0 {
		idle += fmt.Sprintf(", %d goroutines", int(r.Baseline.Goroutines))
	}
	row(r.System+" idle", idle)
	after := ""
	if r.SystemCallsAfter >= 0 {
		after = fmt.Sprintf(" (gateway calls after: %v)", r.SystemCallsAfter)
	}
	row("calls opened / hung up", fmt.Sprintf("%d / %d%s", r.Opened, r.HungUp, after))
	row("packets with a payload never sent", fmt.Sprintf("%d", r.BadPackets))
	row("far end (sipp)", fmt.Sprintf("%d INVITEs, %d ended by BYE, %d failed, %d in progress",
		r.Echo.Incoming, r.Echo.Successful, r.Echo.Failed, r.Echo.Current))
	row("load tool CPU", fmt.Sprintf("%.1f s", r.ToolCPU))
	row(r.System+" exit after SIGTERM", r.SystemExit)
	_ = tw.Flush()
}
