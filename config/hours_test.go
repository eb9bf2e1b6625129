package config

import (
	"strings"
	"testing"
	"time"
)

// hoursOf parses a widget with the hours lines (indented under "hours:")
// and returns them.
func hoursOf(t *testing.T, lines ...string) *Hours {
	t.Helper()
	extra := []string{"    hours:"}
	for _, l := range lines {
		extra = append(extra, "      "+l)
	}
	extra = append(extra, "    agents:", "      - sip: bob")
	c, _ := mustParse(t, widgetYAML(extra...), "")
	return c.Widgets[0].Hours
}

// at is a wall-clock time in zone.
func at(t *testing.T, zone string, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestHoursWeekly(t *testing.T) {
	h := hoursOf(t,
		"time_zone: Europe/Berlin",
		"weekly:",
		`  mon-fri: "09:00-12:30, 13:30-17:00"`,
		"  sat: 10:00-14:00",
	)
	const z = "Europe/Berlin"
	for _, tc := range []struct {
		now  string
		open bool
		next string
	}{
		{"2025-06-02 08:59", false, "2025-06-02 09:00"}, // a Monday
		{"2025-06-02 09:00", true, "2025-06-02 12:30"},
		{"2025-06-02 12:30", false, "2025-06-02 13:30"}, // lunch
		{"2025-06-02 16:59", true, "2025-06-02 17:00"},
		{"2025-06-02 17:00", false, "2025-06-03 09:00"},
		{"2025-06-06 18:00", false, "2025-06-07 10:00"}, // Friday evening: Saturday
		{"2025-06-07 14:00", false, "2025-06-09 09:00"}, // Saturday after closing: Monday
		{"2025-06-08 12:00", false, "2025-06-09 09:00"}, // Sunday: closed all day
	} {
		open, next := h.Open(at(t, z, tc.now))
		if open != tc.open || !next.Equal(at(t, z, tc.next)) {
			t.Errorf("at %s: open %v, next %s; want %v, %s", tc.now, open, next.In(h.Zone()).Format("2006-01-02 15:04"), tc.open, tc.next)
		}
	}
}

func TestHoursOvernightAndWholeDays(t *testing.T) {
	h := hoursOf(t,
		"time_zone: UTC",
		"weekly:",
		"  fri-sun: 22:00-06:00", // wraps the week end; overnight
		"  mon: 00:00-24:00",
		"  tue: 00:00-08:00",
	)
	const z = "UTC"
	for _, tc := range []struct {
		now  string
		open bool
		next string
	}{
		{"2025-06-06 21:00", false, "2025-06-06 22:00"}, // Friday
		{"2025-06-07 03:00", true, "2025-06-07 06:00"},  // Saturday morning: Friday's night
		// Sunday 22:00 runs into Monday's whole day and Tuesday morning:
		// one opening, no change at midnight.
		{"2025-06-08 23:00", true, "2025-06-10 08:00"},
		{"2025-06-09 12:00", true, "2025-06-10 08:00"},
		{"2025-06-10 09:00", false, "2025-06-13 22:00"},
	} {
		open, next := h.Open(at(t, z, tc.now))
		if open != tc.open || !next.Equal(at(t, z, tc.next)) {
			t.Errorf("at %s: open %v, next %s; want %v, %s", tc.now, open, next.UTC().Format("2006-01-02 15:04"), tc.open, tc.next)
		}
	}
}

func TestHoursExceptions(t *testing.T) {
	h := hoursOf(t,
		"time_zone: America/New_York",
		"weekly: {mon-fri: 09:00-17:00}",
		"exceptions:",
		"  2025-12-24: 09:00-12:00",
		"  2025-12-25..2025-12-26: closed",
		"  2025-12-27: 10:00-13:00", // a Saturday, open for once
	)
	const z = "America/New_York"
	for _, tc := range []struct {
		now  string
		open bool
		next string
	}{
		{"2025-12-24 11:00", true, "2025-12-24 12:00"},
		{"2025-12-24 12:00", false, "2025-12-27 10:00"},
		{"2025-12-26 10:00", false, "2025-12-27 10:00"},
		{"2025-12-27 13:30", false, "2025-12-29 09:00"},
	} {
		open, next := h.Open(at(t, z, tc.now))
		if open != tc.open || !next.Equal(at(t, z, tc.next)) {
			t.Errorf("at %s: open %v, next %s; want %v, %s", tc.now, open, next.In(h.Zone()).Format("2006-01-02 15:04"), tc.open, tc.next)
		}
	}
	// Closed for good (only past exceptions open): no next change.
	past := hoursOf(t, "time_zone: UTC", "exceptions: {2020-01-01: 09:00-10:00}")
	if open, next := past.Open(at(t, "UTC", "2025-01-01 00:00")); open || !next.IsZero() {
		t.Errorf("hours open only in the past: open %v, next %v; want closed, no change", open, next)
	}
	var none *Hours
	if open, next := none.Open(time.Now()); !open || !next.IsZero() {
		t.Errorf("no hours: open %v, next %v; want always open", open, next)
	}
}

// TestHoursDST checks the days the clocks change: an hour that is skipped
// begins when the clocks jump, an hour that repeats ends the first time.
func TestHoursDST(t *testing.T) {
	const z = "Europe/Berlin" // 2025-03-30 02:00 → 03:00; 2025-10-26 03:00 → 02:00
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Opening at 02:30 on both Sundays, closing at 02:30 on the Saturday
	// nights before them.
	h := hoursOf(t, "time_zone: "+z, "weekly:", "  sun: 02:30-09:00", "  sat: 20:00-02:30")
	for _, tc := range []struct {
		now  string // UTC
		open bool
		next string // UTC
	}{
		// Spring: 02:30 does not exist. Saturday's night (from 20:00 CET,
		// 19:00 UTC) ends when the clocks jump (01:00 UTC) and Sunday's
		// opening begins at that moment, so they are one opening, to 09:00
		// CEST (07:00 UTC).
		{"2025-03-29 18:59", false, "2025-03-29 19:00"},
		{"2025-03-30 00:30", true, "2025-03-30 07:00"},
		// Autumn: 02:30 comes twice; the night ends at the first (CEST,
		// 00:30 UTC) and Sunday's opening begins then, to 09:00 CET (08:00
		// UTC).
		{"2025-10-26 00:00", true, "2025-10-26 08:00"},
	} {
		open, next := h.Open(utc(tc.now))
		if open != tc.open || !next.Equal(utc(tc.next)) {
			t.Errorf("at %s UTC: open %v, next %s UTC; want %v, %s", tc.now, open, next.UTC().Format("2006-01-02 15:04"), tc.open, tc.next)
		}
	}
	// Alone, the 02:30 boundaries show where they fall: a skipped time
	// when the clocks jump, a repeated one the first time.
	early := hoursOf(t, "time_zone: "+z, "weekly:", "  sun: 02:30-09:00")
	late := hoursOf(t, "time_zone: "+z, "weekly:", "  sun: 01:00-02:30")
	for _, tc := range []struct {
		name string
		h    *Hours
		now  string
		open bool
		next string
	}{
		{"spring opening", early, "2025-03-30 00:00", false, "2025-03-30 01:00"},
		{"autumn opening", early, "2025-10-26 00:00", false, "2025-10-26 00:30"},
		{"spring closing", late, "2025-03-30 00:30", true, "2025-03-30 01:00"},
		{"autumn closing", late, "2025-10-26 00:00", true, "2025-10-26 00:30"},
	} {
		open, next := tc.h.Open(utc(tc.now))
		if open != tc.open || !next.Equal(utc(tc.next)) {
			t.Errorf("%s at %s UTC: open %v, next %s UTC; want %v, %s", tc.name, tc.now, open, next.UTC().Format("2006-01-02 15:04"), tc.open, tc.next)
		}
	}

	// A shop open 01:00-03:00 every day is open for one hour on the
	// spring day and three on the autumn day.
	shop := hoursOf(t, "time_zone: "+z, "weekly: {mon-sun: 01:00-03:00}")
	for _, tc := range []struct {
		day  string
		want time.Duration
	}{{"2025-03-30", time.Hour}, {"2025-10-26", 3 * time.Hour}, {"2025-06-01", 2 * time.Hour}} {
		from := at(t, z, tc.day+" 00:00")
		open, opens := shop.Open(from)
		if open {
			t.Fatalf("%s 00:00: open", tc.day)
		}
		_, closes := shop.Open(opens)
		if got := closes.Sub(opens); got != tc.want {
			t.Errorf("%s: open %v (%s to %s), want %v", tc.day, got, opens, closes, tc.want)
		}
	}
}

func TestHoursProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"no zone", []string{"weekly: {mon: 09:00-17:00}"}, "t.yaml:8: widgets[0].hours.time_zone is required (an IANA time zone such as Europe/Berlin)"},
		{"bad zone", []string{"time_zone: Mars/Olympus", "weekly: {mon: 09:00-17:00}"}, `t.yaml:9: widgets[0].hours.time_zone: "Mars/Olympus" is not an IANA time zone`},
		{"bad day", []string{"time_zone: UTC", "weekly:", "  monday: 09:00-17:00"}, `t.yaml:11: widgets[0].hours.weekly.monday: "monday" is not a day such as mon`},
		{"day twice", []string{"time_zone: UTC", "weekly:", "  mon-fri: 09:00-17:00", "  fri: 09:00-12:00"}, `t.yaml:12: widgets[0].hours.weekly.fri: fri is already given by "mon-fri"`},
		{"bad time", []string{"time_zone: UTC", "weekly:", "  mon: 9-17"}, `t.yaml:11: widgets[0].hours.weekly.mon: "9-17" is not closed or times such as 09:00-17:00`},
		{"overlap", []string{"time_zone: UTC", "weekly:", `  mon: "09:00-13:00, 12:00-17:00"`}, `widgets[0].hours.weekly.mon: "09:00-13:00, 12:00-17:00" has times that overlap`},
		{"empty span", []string{"time_zone: UTC", "weekly:", "  mon: 09:00-09:00"}, "opens and closes at the same time"},
		{"bad date", []string{"time_zone: UTC", "exceptions:", "  2025-02-30: closed"}, `t.yaml:11: widgets[0].hours.exceptions.2025-02-30: "2025-02-30" is not a date`},
		{"backwards range", []string{"time_zone: UTC", "exceptions:", "  2025-12-26..2025-12-24: closed"}, "ends before it begins"},
		{"long range", []string{"time_zone: UTC", "exceptions:", "  2025-01-01..2027-01-01: closed"}, "covers more than 366 days"},
		{"date twice", []string{"time_zone: UTC", "exceptions:", "  2025-12-24..2025-12-26: closed", "  2025-12-25: 10:00-12:00"}, "2025-12-25 is already given by"},
		{"nothing", []string{"time_zone: UTC"}, "t.yaml:8: widgets[0].hours: needs weekly times"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := []string{"    hours:"}
			for _, l := range tc.lines {
				extra = append(extra, "      "+l)
			}
			_, _, err := Parse("t.yaml", []byte(widgetYAML(append(extra, "    agents:", "      - sip: bob")...)), "")
			if err == nil {
				t.Fatalf("accepted")
			}
			got := strings.Join(problemStrings(t, err), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("problems:\n%s\nwant one containing %q", got, tc.want)
			}
		})
	}
}

func TestAgentHours(t *testing.T) {
	c, _ := mustParse(t, widgetYAML(
		"    hours: {time_zone: Europe/Paris, weekly: {mon-fri: 09:00-17:00}}",
		"    agents:",
		"      - sip: day",
		"      - sip: night",
		"        hours: {weekly: {mon-sun: 17:00-09:00}}", // the widget's zone
	), "")
	w := &c.Widgets[0]
	day, night := &w.Agents[0], &w.Agents[1]
	if w.HoursOf(day) != w.Hours || w.HoursOf(night) != night.Hours {
		t.Fatal("HoursOf: an agent without hours has the widget's, one with hours its own")
	}
	if night.Hours.TimeZone != "Europe/Paris" {
		t.Errorf("agent hours' time zone %q, want the widget's", night.Hours.TimeZone)
	}
	now := at(t, "Europe/Paris", "2025-06-02 20:00")
	if open, _ := w.HoursOf(day).Open(now); open {
		t.Error("day agent open at 20:00")
	}
	if open, next := w.HoursOf(night).Open(now); !open || !next.Equal(at(t, "Europe/Paris", "2025-06-03 09:00")) {
		t.Errorf("night agent at 20:00: open %v until %v", open, next)
	}
	// Reparsing gives equal hours: a reload with the same file changes nothing.
	again, _ := mustParse(t, widgetYAML(
		"    hours: {time_zone: Europe/Paris, weekly: {mon-fri: 09:00-17:00}}",
		"    agents:",
		"      - sip: day",
		"      - sip: night",
		"        hours: {weekly: {mon-sun: 17:00-09:00}}",
	), "")
	if ch := Diff(c, again); !ch.Empty() {
		t.Errorf("the same hours parsed twice differ: %+v", ch)
	}
	// Agent hours without a zone need one when the widget has none.
	_, _, err := Parse("t.yaml", []byte(agentYAML("sip: bob", "hours: {weekly: {mon: 09:00-10:00}}")), "")
	if err == nil || !strings.Contains(err.Error(), "t.yaml:10: widgets[0].agents[0].hours.time_zone is required") {
		t.Errorf("agent hours without a zone: %v", err)
	}
}

// BenchmarkHoursOpen measures one availability check with weekly hours
// and exceptions, as a view build makes per agent with hours.
func BenchmarkHoursOpen(b *testing.B) {
	c, _, err := Parse("t.yaml", []byte(widgetYAML(
		"    hours:",
		"      time_zone: Europe/Berlin",
		`      weekly: {mon-fri: "09:00-12:30, 13:30-17:00", sat: "10:00-14:00"}`,
		"      exceptions: {2025-12-24: 09:00-12:00, 2025-12-25..2025-12-26: closed}",
		"    agents:", "      - sip: bob")), "")
	if err != nil {
		b.Fatal(err)
	}
	h := c.Widgets[0].Hours
	now := time.Date(2025, 12, 23, 18, 0, 0, 0, time.UTC) // closed: the next opening is the special hours of the 24th
	b.ReportAllocs()
	for b.Loop() {
		h.Open(now)
	}
}
