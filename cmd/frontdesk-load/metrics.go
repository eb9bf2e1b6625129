package main

// Reading the gateway from outside: its Prometheus /metrics (text format,
// parsed by hand for the few unlabelled series needed) and /proc.

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// sample is one reading of the gateway's /metrics.
type sample struct {
	At         time.Time `json:"at"`
	RSS        float64   `json:"rss_bytes"`        // process_resident_memory_bytes
	HeapInuse  float64   `json:"heap_inuse_bytes"` // go_memstats_heap_inuse_bytes
	StackInuse float64   `json:"stack_inuse_bytes"`
	HeapAlloc  float64   `json:"heap_alloc_bytes"` // go_memstats_heap_alloc_bytes
	NextGC     float64   `json:"next_gc_bytes"`    // go_memstats_next_gc_bytes
	Goroutines float64   `json:"goroutines"`
	GCs        float64   `json:"gc_cycles"` // go_gc_duration_seconds_count
	CPU        float64   `json:"cpu_seconds"`
	Sessions   float64   `json:"sessions"` // frontdesk_widget_sessions
	Notifies   float64   `json:"notifies"` // frontdesk_sip_notifies_total
	Calls      float64   `json:"calls"`    // frontdesk_calls
}

// HeapStack is heap in use plus goroutine stacks in use.
func (s sample) HeapStack() float64 { return s.HeapInuse + s.StackInuse }

var metricNames = map[string]func(*sample) *float64{
	"process_resident_memory_bytes": func(s *sample) *float64 { return &s.RSS },
	"go_memstats_heap_inuse_bytes":  func(s *sample) *float64 { return &s.HeapInuse },
	"go_memstats_stack_inuse_bytes": func(s *sample) *float64 { return &s.StackInuse },
	"go_memstats_heap_alloc_bytes":  func(s *sample) *float64 { return &s.HeapAlloc },
	"go_memstats_next_gc_bytes":     func(s *sample) *float64 { return &s.NextGC },
	"go_goroutines":                 func(s *sample) *float64 { return &s.Goroutines },
	"go_gc_duration_seconds_count":  func(s *sample) *float64 { return &s.GCs },
	"process_cpu_seconds_total":     func(s *sample) *float64 { return &s.CPU },
	"frontdesk_widget_sessions":     func(s *sample) *float64 { return &s.Sessions },
	"frontdesk_sip_notifies_total":  func(s *sample) *float64 { return &s.Notifies },
	"frontdesk_calls":               func(s *sample) *float64 { return &s.Calls },
}

// scrape reads /metrics once.
func (g *gateway) scrape(ctx context.Context) (sample, error) {
	s := sample{At: time.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.adminURL+"/metrics", nil)
	if err != nil {
		return s, fmt.Errorf("metrics request: %w", err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return s, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	seen := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		// Unlabelled series only: "name value".
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		field := metricNames[name]
		if field == nil {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return s, fmt.Errorf("metrics: %s: %w", name, err)
		}
		*field(&s) = v
		seen++
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("read /metrics: %w", err)
	}
	if seen != len(metricNames) {
		return s, fmt.Errorf("metrics: found %d of the %d series needed", seen, len(metricNames))
	}
	return s, nil
}

// settledSample reads /metrics twice, gap apart, and returns the later one.
func (g *gateway) settledSample(ctx context.Context, gap time.Duration) (sample, error) {
	if _, err := g.scrape(ctx); err != nil {
		return sample{}, err
	}
	if err := sleep(ctx, gap); err != nil {
		return sample{}, err
	}
	return g.scrape(ctx)
}

// waitGC waits until the gateway has completed more GC cycles than after,
// bounded by max. The Go runtime forces a collection at least every two
// minutes, so an idle gateway gets one within that time.
func (g *gateway) waitGC(ctx context.Context, after float64, max time.Duration) (bool, error) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		s, err := g.scrape(ctx)
		if err != nil {
			return false, err
		}
		if s.GCs > after {
			return true, nil
		}
		if err := sleep(ctx, time.Second); err != nil {
			return false, err
		}
	}
	return false, nil
}

// openFileLimit returns the "Max open files" soft and hard limits of pid.
func openFileLimit(pid int) (string, string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "", "", fmt.Errorf("read limits of pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) >= 2 {
				return f[0], f[1], nil
			}
		}
	}
	return "", "", fmt.Errorf("no open files limit in /proc/%d/limits", pid)
}
