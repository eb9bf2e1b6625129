package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is "at most Count events per Per", written "3/min", "10/1h" or
// "off". A token bucket enforces it: Count at once, then Count per Per
// spread evenly. The zero Rate is unset (validation fills the default).
type Rate struct {
	Count int
	Per   time.Duration
	// Off means no limit.
	Off bool
}

// Limited reports whether r limits anything.
func (r Rate) Limited() bool { return !r.Off && r.Count > 0 && r.Per > 0 }

// String returns the YAML spelling of r.
func (r Rate) String() string {
	switch {
	case r.Off:
		return "off"
	case r.Count == 0 && r.Per == 0:
		return ""
	}
	for _, u := range rateUnits {
		if r.Per == u.d {
			return fmt.Sprintf("%d/%s", r.Count, u.names[0])
		}
	}
	return fmt.Sprintf("%d/%s", r.Count, r.Per)
}

var rateUnits = []struct {
	names []string
	d     time.Duration
}{
	{[]string{"s", "sec", "second"}, time.Second},
	{[]string{"min", "m", "minute"}, time.Minute},
	{[]string{"h", "hour"}, time.Hour},
	{[]string{"day", "d"}, 24 * time.Hour},
}

// ParseRate parses "N/unit" (unit s, min, h or day), "N/duration" (Go
// syntax, such as 10m) or "off".
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return Rate{Off: true}, nil
	}
	count, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("%q is not a rate; write it as count/period, such as 3/min, 20/10m, or off", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n <= 0 {
		return Rate{}, fmt.Errorf("%q: the count must be a whole number above 0 (or write off)", s)
	}
	per = strings.ToLower(strings.TrimSpace(per))
	for _, u := range rateUnits {
		for _, name := range u.names {
			if per == name {
				return Rate{Count: n, Per: u.d}, nil
			}
		}
	}
	d, err := time.ParseDuration(per)
	if err != nil || d < time.Second || d > 7*24*time.Hour {
		return Rate{}, fmt.Errorf("%q: the period must be s, min, h, day or a duration from 1s to 168h", s)
	}
	return Rate{Count: n, Per: d}, nil
}

// ContactRates bound how often something that reaches a person (a ringing
// phone, a chat request, a left message) may be started: per visitor
// session, per client address and per agent (for left messages: per
// fallback address).
type ContactRates struct {
	PerSession Rate `yaml:"per_session"`
	PerIP      Rate `yaml:"per_ip"`
	PerAgent   Rate `yaml:"per_agent"`
}

// Default rates: enough for a visitor who retries after a failed call or
// chat, far too few to ring a phone in a loop. A busy queue agent
// (mode: always) may need a higher per_agent.
var (
	DefaultCallRates = ContactRates{
		PerSession: Rate{Count: 3, Per: time.Minute},
		PerIP:      Rate{Count: 6, Per: time.Minute},
		PerAgent:   Rate{Count: 12, Per: time.Minute},
	}
	DefaultChatRates = ContactRates{
		PerSession: Rate{Count: 3, Per: time.Minute},
		PerIP:      Rate{Count: 6, Per: time.Minute},
		PerAgent:   Rate{Count: 12, Per: time.Minute},
	}
	// DefaultTranscriptRates: per_agent counts per recipient address.
	DefaultTranscriptRates = ContactRates{
		PerSession: Rate{Count: 2, Per: 10 * time.Minute},
		PerIP:      Rate{Count: 5, Per: time.Hour},
		PerAgent:   Rate{Count: 3, Per: time.Hour},
	}
	DefaultMessageLeftRates = ContactRates{
		PerSession: Rate{Count: 2, Per: 10 * time.Minute},
		PerIP:      Rate{Count: 5, Per: 10 * time.Minute},
		PerAgent:   Rate{Count: 30, Per: 10 * time.Minute},
	}
)

// contactRates fills what r leaves unset from def.
func fillRates(r *ContactRates, def ContactRates) {
	fill := func(got *Rate, want Rate) {
		if *got == (Rate{}) {
			*got = want
		}
	}
	fill(&r.PerSession, def.PerSession)
	fill(&r.PerIP, def.PerIP)
	fill(&r.PerAgent, def.PerAgent)
}
