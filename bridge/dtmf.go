package bridge

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// RFC 4733 timing the gateway uses for events it generates.
const (
	dtmfInterval = 20 * time.Millisecond
	dtmfEnds     = 3 // the end packet is sent three times (RFC 4733 2.5.1.4)
	dtmfVolume   = 10
	dtmfMin      = 40 * time.Millisecond
	dtmfMax      = 5 * time.Second
	dtmfHeadroom = 2 * time.Second // beyond the event, for SendDTMF's wait
)

// dtmfJob is one event asked for by SendDTMF and played by the browser
// relay goroutine, which owns the outgoing sequence and timestamp.
type dtmfJob struct {
	event uint8
	dur   time.Duration
	done  chan error // buffered: the relay never blocks on it
}

// dtmfState is the event in progress, owned by the browser relay.
type dtmfState struct {
	job     *dtmfJob
	start   int64 // monotonic ns
	next    int64 // when the next packet is due
	ts      uint32
	pt      uint8
	teClock uint32
	clock   uint32 // audio clock, for the timestamp after the event
	sent    int    // progress packets sent
	first   bool
	pkt     [16]byte
}

func (d *dtmfState) active() bool { return d.job != nil }

func (d *dtmfState) abort(err error) {
	if d.job != nil {
		d.job.done <- err
		d.job = nil
	}
}

// dtmfEvent maps a digit to its RFC 4733 event code.
func dtmfEvent(digit byte) (uint8, bool) {
	switch {
	case digit >= '0' && digit <= '9':
		return digit - '0', true
	case digit == '*':
		return 10, true
	case digit == '#':
		return 11, true
	case digit >= 'A' && digit <= 'D':
		return 12 + digit - 'A', true
	case digit >= 'a' && digit <= 'd':
		return 12 + digit - 'a', true
	}
	return 0, false
}

// stepDTMF starts a requested event and sends the packets that are due,
// then sets the read deadline for the next one.
func (b *browserRelay) stepDTMF() {
	d := &b.dtmf
	if d.job == nil {
		job := b.s.dtmf.Swap(nil)
		if job == nil {
			return
		}
		rt := b.s.route.Load()
		if rt == nil || rt.tePBX == noPT {
			b.deadline(time.Time{})
			job.done <- ErrNoTelephoneEvent
			return
		}
		now := b.clock()
		*d = dtmfState{job: job, start: now, next: now, first: true,
			ts: b.rw.tsAt(now, rt.clock), pt: rt.tePBX, teClock: rt.teClock, clock: rt.clock}
	}
	now := b.clock()
	if now < d.next {
		b.deadline(time.Now().Add(time.Duration(d.next - now)))
		return
	}
	rt := b.s.route.Load()
	// Durations follow the packet schedule, not jittery wake-ups.
	if elapsed := time.Duration(d.sent+1) * dtmfInterval; elapsed < d.job.dur {
		b.emitDTMF(rt, now, elapsed, false)
		d.sent++
		d.next = max(d.next+int64(dtmfInterval), now+1)
		b.deadline(time.Now().Add(time.Duration(d.next - now)))
		return
	}
	for range dtmfEnds {
		b.emitDTMF(rt, now, d.job.dur, true)
	}
	// Voice resumes after the event's duration (RFC 4733 2.5.1.4).
	b.rw.generated(d.ts+uint32(int64(d.job.dur)*int64(d.clock)/int64(time.Second)), now)
	b.deadline(time.Time{}) // before done: a next request re-arms it
	job := d.job
	d.job = nil
	job.done <- nil
}

// emitDTMF builds one event packet in place and sends it.
func (b *browserRelay) emitDTMF(rt *route, now int64, dur time.Duration, end bool) {
	d := &b.dtmf
	p := d.pkt[:]
	p[0] = 0x80
	p[1] = d.pt
	if d.first {
		p[1] |= 0x80 // marker on the first packet of an event
		d.first = false
	}
	binary.BigEndian.PutUint16(p[2:], b.rw.takeSeq())
	binary.BigEndian.PutUint32(p[4:], d.ts)
	binary.BigEndian.PutUint32(p[8:], b.rw.outSSRC)
	p[12] = d.job.event
	p[13] = dtmfVolume
	if end {
		p[13] |= 0x80
	}
	units := min(int64(dur)*int64(d.teClock)/int64(time.Second), 0xffff)
	binary.BigEndian.PutUint16(p[14:], uint16(units))
	if rt == nil || !rt.send {
		return
	}
	b.send(rt, p, now)
}

// SendDTMF sends one digit toward the PBX as RFC 4733 events on the
// negotiated telephone-event PT, lasting d (clamped to 40ms..5s). It returns
// when the last end packet is sent, or when ctx ends (an event already
// under way still ends with its end packets). ErrNoTelephoneEvent means the
// caller should use SIP INFO.
func (c *Call) SendDTMF(ctx context.Context, digit byte, d time.Duration) error {
	ev, ok := dtmfEvent(digit)
	if !ok {
		return fmt.Errorf("send DTMF %q: not a DTMF digit", digit)
	}
	s := c.audio
	rt := s.route.Load()
	if rt == nil {
		return fmt.Errorf("send DTMF: %w", ErrNotAnswered)
	}
	if rt.tePBX == noPT {
		return fmt.Errorf("send DTMF: %w", ErrNoTelephoneEvent)
	}
	// wake makes the browser relay start the job: the pion relay wakes
	// from its track read, a lite call starts a driver.
	var wake func()
	if lite := c.lite; lite != nil {
		if s.fromBrowser.packets.Load() == 0 {
			return fmt.Errorf("send DTMF: no audio from the browser yet: %w", ErrNotAnswered)
		}
		wake = func() {
			if !c.spawn(func() { lite.driveDTMF(c.ctx) }) {
				if job := s.dtmf.Swap(nil); job != nil {
					job.done <- ErrClosed
				}
			}
		}
	} else {
		tr := s.remote.Load()
		if tr == nil {
			return fmt.Errorf("send DTMF: no audio from the browser yet: %w", ErrNotAnswered)
		}
		wake = func() { _ = tr.SetReadDeadline(time.Now()) } // fails only once closed
	}
	d = min(max(d, dtmfMin), dtmfMax)
	c.dtmfMu.Lock()
	defer c.dtmfMu.Unlock()
	job := &dtmfJob{event: ev, dur: d, done: make(chan error, 1)}
	s.dtmf.Store(job)
	wake()
	t := time.NewTimer(d + dtmfHeadroom)
	defer t.Stop()
	select {
	case err := <-job.done:
		if err != nil {
			return fmt.Errorf("send DTMF: %w", err)
		}
		return nil
	case <-c.ctx.Done():
		return fmt.Errorf("send DTMF: %w", ErrClosed)
	case <-ctx.Done():
		s.dtmf.CompareAndSwap(job, nil)
		return fmt.Errorf("send DTMF: %w", ctx.Err())
	case <-t.C:
		s.dtmf.CompareAndSwap(job, nil)
		return fmt.Errorf("send DTMF: relay did not play the event in %s", d+dtmfHeadroom)
	}
}
