package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	// The zone database is part of the binary, so hours work on hosts
	// without /usr/share/zoneinfo (containers, minimal images).
	_ "time/tzdata"
)

// Hours are opening hours: weekly times in a time zone, and dates whose
// times differ (holidays, special hours). Outside them an agent is shown
// as not available whatever its mode says; within them its mode decides.
type Hours struct {
	// TimeZone is an IANA time zone such as Europe/Berlin (an agent's
	// hours default to the time zone of its widget's hours).
	TimeZone string `yaml:"time_zone"`
	// Weekly maps days (mon, mon-fri, "sat, sun") to opening times
	// ("09:00-12:30, 13:30-17:00", "22:00-06:00" overnight, or closed);
	// days not listed are closed.
	Weekly map[string]string `yaml:"weekly"`
	// Exceptions maps dates (2025-12-24) or date ranges
	// (2025-12-24..2025-12-26) to times that replace the weekly ones on
	// those dates (closed, or times as in weekly).
	Exceptions map[string]string `yaml:"exceptions"`

	// Compiled by validation.
	zone  *time.Location
	week  [7][]span           // by time.Weekday
	dates map[civilDay][]span // exception dates; an empty slice is closed
}

// span is one opening on a day, in minutes after the day's midnight (wall
// clock); to is after from and may pass midnight (at most 24 h later).
type span struct{ from, to int }

// civilDay is a calendar date, without a zone.
type civilDay struct {
	y int
	m time.Month
	d int
}

func dayOf(t time.Time) civilDay {
	y, m, d := t.Date()
	return civilDay{y, m, d}
}

func (c civilDay) next() civilDay { return dayOf(time.Date(c.y, c.m, c.d+1, 12, 0, 0, 0, time.UTC)) }
func (c civilDay) prev() civilDay { return dayOf(time.Date(c.y, c.m, c.d-1, 12, 0, 0, 0, time.UTC)) }
func (c civilDay) weekday() time.Weekday {
	return time.Date(c.y, c.m, c.d, 12, 0, 0, 0, time.UTC).Weekday()
}
func (c civilDay) before(o civilDay) bool {
	return c.y < o.y || (c.y == o.y && (c.m < o.m || (c.m == o.m && c.d < o.d)))
}

// hoursHorizon bounds how far ahead Next looks for a change: hours that
// do not open within it count as closed for good.
const hoursHorizon = 400

// maxExceptionDays bounds the days one exception range covers.
const maxExceptionDays = 366

// Open reports whether h is open at t, and when that next changes (the
// zero time when it does not change within about a year). A nil h is
// always open.
func (h *Hours) Open(t time.Time) (open bool, next time.Time) {
	if h == nil {
		return true, time.Time{}
	}
	day := dayOf(t.In(h.zone)).prev() // an overnight opening of the day before may still run
	var cur struct {
		from, to time.Time
		ok       bool
	}
	for range hoursHorizon {
		for _, sp := range h.spans(day) {
			from, to := h.instant(day, sp.from), h.instant(day, sp.to)
			if !from.Before(to) {
				continue // a span that a clock change swallowed
			}
			if cur.ok && !from.After(cur.to) {
				if to.After(cur.to) {
					cur.to = to
				}
				continue
			}
			if cur.ok {
				if t.Before(cur.from) {
					return false, cur.from
				}
				if t.Before(cur.to) {
					return true, cur.to
				}
			}
			cur.from, cur.to, cur.ok = from, to, true
		}
		day = day.next()
	}
	if cur.ok {
		if t.Before(cur.from) {
			return false, cur.from
		}
		if t.Before(cur.to) {
			return true, cur.to
		}
	}
	return false, time.Time{}
}

// spans returns the openings that start on day: its exception's, else its
// weekday's.
func (h *Hours) spans(day civilDay) []span {
	if sp, ok := h.dates[day]; ok {
		return sp
	}
	return h.week[day.weekday()]
}

// instant is the first moment the wall clock in h's zone reads minute
// (after midnight, possibly past the next midnight) of day. A time a
// clock change skips is reached when the change happens; a time that
// occurs twice counts the first time.
func (h *Hours) instant(day civilDay, minute int) time.Time {
	t := time.Date(day.y, day.m, day.d, 0, minute, 0, 0, h.zone)
	want := time.Date(day.y, day.m, day.d, 0, minute, 0, 0, time.UTC) // the wall clock wanted, as UTC digits
	if wallOf(t) != want {
		// Skipped (Go moves forward past the gap): the change is the moment.
		start, _ := t.ZoneBounds()
		return start
	}
	// Repeated: Go picks the later; the earlier reads the same.
	start, _ := t.ZoneBounds()
	if !start.IsZero() {
		earlier := t.Add(-offsetJump(start))
		if earlier.Before(start) && wallOf(earlier) == want {
			return earlier
		}
	}
	return t
}

// offsetJump is how far the clock went back at start (0 when forward).
func offsetJump(start time.Time) time.Duration {
	_, before := start.Add(-time.Nanosecond).Zone()
	_, after := start.Zone()
	if before > after {
		return time.Duration(before-after) * time.Second
	}
	return 0
}

// wallOf is t's wall clock in its own zone, as UTC digits.
func wallOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// Zone returns the time zone of h (UTC for nil h).
func (h *Hours) Zone() *time.Location {
	if h == nil || h.zone == nil {
		return time.UTC
	}
	return h.zone
}

// HoursOf returns the hours of agent a of w: its own, else the widget's;
// nil means always open.
func (w *Widget) HoursOf(a *Agent) *Hours {
	if a.Hours != nil {
		return a.Hours
	}
	return w.Hours
}

// zones caches loaded time zones, so configs loaded at different times
// share one *time.Location per name (and Diff sees equal hours as equal).
var zones sync.Map // name -> *time.Location

func loadZone(name string) (*time.Location, error) {
	if z, ok := zones.Load(name); ok {
		return z.(*time.Location), nil
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	actual, _ := zones.LoadOrStore(name, z)
	return actual.(*time.Location), nil
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// hours checks and compiles h at path; zone is the time zone it inherits
// ("" when none).
func (v *validator) hours(path string, h *Hours, zone string) {
	name := h.TimeZone
	switch {
	case name == "" && zone == "":
		v.p.errf(path+".time_zone", "is required (an IANA time zone such as Europe/Berlin)")
	case name == "":
		name = zone
	}
	if name != "" {
		if z, err := loadZone(name); err != nil || strings.EqualFold(name, "local") {
			v.p.errf(path+".time_zone", "%q is not an IANA time zone such as Europe/Berlin or America/New_York", name)
		} else {
			h.TimeZone, h.zone = name, z
		}
	}
	byDay := map[time.Weekday]string{}
	for _, key := range v.keysInFileOrder(path+".weekly", h.Weekly) {
		kp := joinPath(path+".weekly", key)
		days, err := parseDays(key)
		if err != nil {
			v.p.errf(kp, "%v", err)
			continue
		}
		spans, err := parseOpenings(h.Weekly[key])
		if err != nil {
			v.p.errf(kp, "%v", err)
			continue
		}
		for _, d := range days {
			if first, dup := byDay[d]; dup {
				v.p.errf(kp, "%s is already given by %q", strings.ToLower(d.String()[:3]), first)
				continue
			}
			byDay[d] = key
			h.week[d] = spans
		}
	}
	if len(h.Exceptions) > 0 {
		h.dates = map[civilDay][]span{}
	}
	byDate := map[civilDay]string{}
	for _, key := range v.keysInFileOrder(path+".exceptions", h.Exceptions) {
		kp := joinPath(path+".exceptions", key)
		days, err := parseDates(key)
		if err != nil {
			v.p.errf(kp, "%v", err)
			continue
		}
		spans, err := parseOpenings(h.Exceptions[key])
		if err != nil {
			v.p.errf(kp, "%v", err)
			continue
		}
		if spans == nil {
			spans = []span{} // closed: present, and empty
		}
		for _, d := range days {
			if first, dup := byDate[d]; dup {
				v.p.errf(kp, "%04d-%02d-%02d is already given by %q", d.y, d.m, d.d, first)
				break
			}
			byDate[d] = key
			h.dates[d] = spans
		}
	}
	if len(h.Weekly) == 0 && len(h.Exceptions) == 0 {
		v.p.errf(path, "needs weekly times (e.g. mon-fri: 09:00-17:00); without them it is never open")
	}
}

// keysInFileOrder lists m's keys in the order of their lines under path,
// so that of two keys that clash the later one is blamed.
func (v *validator) keysInFileOrder(path string, m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		li, lj := v.p.line(joinPath(path, keys[i])), v.p.line(joinPath(path, keys[j]))
		return li < lj || (li == lj && keys[i] < keys[j])
	})
	return keys
}

// parseDays reads "mon", "mon-fri", "fri-mon" (wrapping) or a comma list
// of those.
func parseDays(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	for _, part := range strings.Split(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		a, b, isRange := strings.Cut(part, "-")
		from, ok1 := weekdays[strings.TrimSpace(a)]
		to, ok2 := from, true
		if isRange {
			to, ok2 = weekdays[strings.TrimSpace(b)]
		}
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%q is not a day such as mon, a range such as mon-fri, or a list such as \"sat, sun\"", s)
		}
		for d := from; ; d = (d + 1) % 7 {
			out = append(out, d)
			if d == to {
				break
			}
		}
	}
	return out, nil
}

// parseDates reads "2025-12-24" or "2025-12-24..2025-12-26".
func parseDates(s string) ([]civilDay, error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "..")
	from, err1 := time.Parse(time.DateOnly, strings.TrimSpace(a))
	to, err2 := from, error(nil)
	if isRange {
		to, err2 = time.Parse(time.DateOnly, strings.TrimSpace(b))
	}
	switch {
	case err1 != nil || err2 != nil:
		return nil, fmt.Errorf("%q is not a date such as 2025-12-24 or a range such as 2025-12-24..2025-12-26", s)
	case to.Before(from):
		return nil, fmt.Errorf("%q ends before it begins", s)
	case to.Sub(from) >= maxExceptionDays*24*time.Hour:
		return nil, fmt.Errorf("%q covers more than %d days", s, maxExceptionDays)
	}
	var out []civilDay
	for d := dayOf(from); ; d = d.next() {
		out = append(out, d)
		if d == dayOf(to) {
			return out, nil
		}
	}
}

// parseOpenings reads "closed" (nil) or "HH:MM-HH:MM[, …]", sorted; an end
// not after its start continues the next day (22:00-06:00), 24:00 is the
// day's end.
func parseOpenings(s string) ([]span, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "closed") {
		return nil, nil
	}
	var out []span
	for _, part := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(part), "-")
		from, err1 := parseClock(a, false)
		to, err2 := parseClock(b, true)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%q is not closed or times such as 09:00-17:00 or \"09:00-12:30, 13:30-17:00\"", s)
		}
		if to == from {
			return nil, fmt.Errorf("%q opens and closes at the same time; use 00:00-24:00 for a whole day", strings.TrimSpace(part))
		}
		if to < from {
			to += 24 * 60 // overnight
		}
		out = append(out, span{from, to})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].from < out[j].from })
	for i := 1; i < len(out); i++ {
		if out[i].from < out[i-1].to {
			return nil, fmt.Errorf("%q has times that overlap", s)
		}
	}
	if len(out) > 1 && out[len(out)-1].to > out[0].from+24*60 {
		return nil, fmt.Errorf("%q runs into its own next day", s)
	}
	return out, nil
}

// parseClock reads HH:MM (00:00 to 23:59; 24:00 too when end).
func parseClock(s string, end bool) (int, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	switch {
	case !ok || err1 != nil || err2 != nil || len(mm) != 2 || len(hh) < 1 || len(hh) > 2:
		return 0, fmt.Errorf("bad time %q", s)
	case h == 24 && m == 0 && end:
		return 24 * 60, nil
	case h < 0 || h > 23 || m < 0 || m > 59:
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + m, nil
}
