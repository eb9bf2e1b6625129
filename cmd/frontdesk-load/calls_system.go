package main

// The systems a calls run can measure with the same visitors, packets and
// far end: frontdesk (Widget-API) and, for comparison, Janus's SIP plugin.

import (
	"context"
	"fmt"
	"time"
)

// System names, as --system takes them.
const (
	systemFrontdesk = "frontdesk"
	systemJanus     = "janus"
)

// underTest is a running system under test.
type underTest interface {
	pid() int
	// sample reads CPU seconds and RSS (frontdesk also its goroutines and
	// running calls; Janus reports -1 calls).
	sample(ctx context.Context) (sample, error)
	// newSignal is the call signaling for visitor id.
	newSignal(id int) signaling
	// stop ends the process: "exit 0" or what went wrong.
	stop() string
}

// frontdeskUnderTest is a `frontdesk serve`, read through /metrics.
type frontdeskUnderTest struct{ gw *gateway }

func (f frontdeskUnderTest) pid() int { return f.gw.pid }
func (f frontdeskUnderTest) sample(ctx context.Context) (sample, error) {
	return f.gw.scrape(ctx)
}
func (f frontdeskUnderTest) newSignal(id int) signaling { return newWidgetSignal(f.gw.wsURL(), id) }
func (f frontdeskUnderTest) stop() string {
	if err := f.gw.stop(15 * time.Second); err != nil {
		return err.Error()
	}
	return "exit 0"
}

// janusUnderTest is Janus, read through /proc.
type janusUnderTest struct {
	j     *janusProc
	proxy string // Kamailio, for the guest registration
}

func (u janusUnderTest) pid() int { return u.j.pid() }
func (u janusUnderTest) sample(context.Context) (sample, error) {
	s, err := procSample(u.j.pid())
	s.Calls, s.Goroutines = -1, -1
	return s, err
}
func (u janusUnderTest) newSignal(id int) signaling { return newJanusSignal(u.j.wsURL, u.proxy, id) }
func (u janusUnderTest) stop() string {
	if err := u.j.stop(15 * time.Second); err != nil {
		return err.Error()
	}
	return "exit 0"
}

// settled reads a sample twice, gap apart, and returns the later one.
func settled(ctx context.Context, sut underTest, gap time.Duration) (sample, error) {
	if _, err := sut.sample(ctx); err != nil {
		return sample{}, err
	}
	if err := sleep(ctx, gap); err != nil {
		return sample{}, err
	}
	return sut.sample(ctx)
}

func validSystem(s string) error {
	switch s {
	case systemFrontdesk, systemJanus:
		return nil
	}
	return fmt.Errorf("--system %q: want %s or %s", s, systemFrontdesk, systemJanus)
}
