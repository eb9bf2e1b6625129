package main

// compare: the calls ladder for frontdesk and then for Janus, back to back
// in one run, each pinned to a core of its own, and the ratios.

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
)

// CompareResult is both ladders and their ratios.
type CompareResult struct {
	Frontdesk *CallsResult `json:"frontdesk"`
	Janus     *CallsResult `json:"janus"`
	Rows      []compareRow `json:"steps"` // steps both ran
	// HealthyRatio is frontdesk's largest healthy step over Janus's (0
	// when Janus had none).
	HealthyRatio float64 `json:"largest_healthy_ratio"`
}

// compareRow is one step both systems ran. Ratios are frontdesk / Janus.
type compareRow struct {
	Calls         int        `json:"calls"`
	CPUFrontdesk  float64    `json:"cpu_per_call_second_frontdesk"`
	CPUJanus      float64    `json:"cpu_per_call_second_janus"`
	CPURatio      float64    `json:"cpu_ratio"`
	SetupP50      [2]float64 `json:"setup_p50_ms"` // frontdesk, Janus
	SetupP99      [2]float64 `json:"setup_p99_ms"`
	RTTP99        [2]float64 `json:"rtt_p99_ms"`
	HealthyBoth   [2]bool    `json:"healthy"`
	SetupP99Ratio float64    `json:"setup_p99_ratio"`
	RTTP99Ratio   float64    `json:"rtt_p99_ratio"`
}

// runCompare runs the two ladders with the same options, pinned.
func runCompare(ctx context.Context, o CallsOptions) (*CompareResult, error) {
	o.Pin = true
	var err error
	if o.pin, err = pinSystemApart(); err != nil {
		return nil, err
	}
	res := &CompareResult{}
	base := o.Dir
	for _, sys := range []string{systemFrontdesk, systemJanus} {
		so := o
		so.System = sys
		if base != "" {
			so.Dir = filepath.Join(base, sys)
		}
		r, rerr := runCalls(ctx, so)
		if sys == systemFrontdesk {
			res.Frontdesk = r
		} else {
			res.Janus = r
		}
		if rerr != nil {
			err = fmt.Errorf("%s: %w", sys, rerr)
			break
		}
	}
	res.ratios()
	return res, err
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// ratios fills the rows for the steps both ladders measured.
func (c *CompareResult) ratios() {
	if c.Frontdesk == nil || c.Janus == nil {
		return
	}
	c.HealthyRatio = ratio(float64(c.Frontdesk.LargestHealthy), float64(c.Janus.LargestHealthy))
	for _, f := range c.Frontdesk.Steps {
		for _, j := range c.Janus.Steps {
			if f.Target != j.Target {
				continue
			}
			c.Rows = append(c.Rows, compareRow{
				Calls: f.Target, CPUFrontdesk: f.CPUPerCallSecond, CPUJanus: j.CPUPerCallSecond,
				CPURatio: ratio(f.CPUPerCallSecond, j.CPUPerCallSecond),
				SetupP50: [2]float64{f.SetupP50, j.SetupP50}, SetupP99: [2]float64{f.SetupP99, j.SetupP99},
				RTTP99: [2]float64{f.RTTP99, j.RTTP99}, HealthyBoth: [2]bool{f.Healthy, j.Healthy},
				SetupP99Ratio: ratio(f.SetupP99, j.SetupP99), RTTP99Ratio: ratio(f.RTTP99, j.RTTP99),
			})
		}
	}
}

// printCompare writes both ladders and the table of ratios.
func printCompare(w io.Writer, c *CompareResult) {
	for _, r := range []*CallsResult{c.Frontdesk, c.Janus} {
		if r != nil {
			printCalls(w, r)
			fmt.Fprintln(w)
		}
	}
	if c.Frontdesk == nil || c.Janus == nil {
		return
	}
	fmt.Fprintln(w, "frontdesk / Janus, same run, each pinned to a core of its own:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "calls\tCPU s per call-s fd / Janus\tratio\tsetup p50 fd / Janus ms\tsetup p99 fd / Janus ms\tRTT p99 fd / Janus ms\thealthy fd / Janus\t")
	for _, r := range c.Rows {
		fmt.Fprintf(tw, "%d\t%.4f / %.4f\t%.2f\t%.1f / %.1f\t%.1f / %.1f\t%.2f / %.2f\t%s / %s\t\n", r.Calls,
			r.CPUFrontdesk, r.CPUJanus, r.CPURatio, r.SetupP50[0], r.SetupP50[1], r.SetupP99[0], r.SetupP99[1],
			r.RTTP99[0], r.RTTP99[1], yesNo(r.HealthyBoth[0]), yesNo(r.HealthyBoth[1]))
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "largest healthy step: frontdesk %d, Janus %d (ratio %.2f)\n",
		c.Frontdesk.LargestHealthy, c.Janus.LargestHealthy, c.HealthyRatio)
}
