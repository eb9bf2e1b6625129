package config

import "time"

// Defaults of waiting in line (widgets[].queue, limits.max_waiting).
const (
	DefaultQueueMaxWait      = 10 * time.Minute
	DefaultQueueMaxWaiting   = 5
	DefaultQueueConfirmAfter = 2 * time.Minute
	DefaultQueueHold         = 30 * time.Second
	DefaultMaxWaiting        = 1000
)

func (v *validator) queue(path string, q *Queue) {
	v.duration(path+".max_wait", &q.MaxWait, DefaultQueueMaxWait, 30*time.Second)
	if q.MaxWait > 2*time.Hour {
		v.p.errf(path+".max_wait", "%v is longer than 2h", q.MaxWait)
	}
	v.count(path+".max_waiting", &q.MaxWaiting, DefaultQueueMaxWaiting)
	if q.MaxWaiting > 1000 {
		v.p.errf(path+".max_waiting", "%d is more than 1000", q.MaxWaiting)
	}
	switch c := q.ConfirmAfter; {
	case c == nil:
		d := DefaultQueueConfirmAfter
		q.ConfirmAfter = &d
	case *c < 0:
		v.p.errf(path+".confirm_after", "%v is negative", *c)
	}
	v.duration(path+".hold", &q.Hold, DefaultQueueHold, 10*time.Second)
	if q.Hold > 5*time.Minute {
		v.p.errf(path+".hold", "%v is longer than 5m", q.Hold)
	}
}
