package doctor

import (
	"fmt"
	"io"
	"strings"
)

// Status is the outcome of one check.
type Status int

const (
	StatusOK Status = iota
	StatusWarn
	StatusFail
	StatusSkip // not checked
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusWarn:
		return "warn"
	case StatusFail:
		return "FAIL"
	}
	return "--"
}

// marker is what starts a line of the report: [ ok ], [warn], [FAIL],
// [ -- ].
func (s Status) marker() string {
	switch s {
	case StatusOK:
		return "[ ok ]"
	case StatusSkip:
		return "[ -- ]"
	}
	return "[" + s.String() + "]"
}

// Line is one check's result: what was checked and what came back, and for
// a failure or warning the likely cause and what to change.
type Line struct {
	Status Status
	Text   string
	Cause  string
	Fix    *Advice
}

// Advice says what to change: the gateway's setting and the PBX's, for the
// PBXs people run most.
type Advice struct {
	Setting    string // in frontdesk.yaml
	Kamailio   string
	Asterisk   string
	FreeSWITCH string
}

// Report prints lines as the checks produce them and counts them.
type Report struct {
	w      io.Writer
	counts [4]int
	lines  []Line
}

// NewReport writes to w.
func NewReport(w io.Writer) *Report { return &Report{w: w} }

// Section starts a group of checks.
func (r *Report) Section(title string) { fmt.Fprintf(r.w, "\n%s\n", title) }

// Note prints a line that is no check.
func (r *Report) Note(format string, args ...any) { fmt.Fprintf(r.w, format+"\n", args...) }

// Add prints l.
func (r *Report) Add(l Line) {
	r.counts[l.Status]++
	r.lines = append(r.lines, l)
	fmt.Fprintf(r.w, "  %s %s\n", l.Status.marker(), indentRest(l.Text))
	const pad = "         "
	if l.Cause != "" {
		fmt.Fprintf(r.w, "%slikely cause: %s\n", pad, indentRest(l.Cause))
	}
	if f := l.Fix; f != nil {
		for _, kv := range [][2]string{{"change", f.Setting}, {"Kamailio", f.Kamailio}, {"Asterisk", f.Asterisk}, {"FreeSWITCH", f.FreeSWITCH}} {
			if kv[1] != "" {
				fmt.Fprintf(r.w, "%s%s: %s\n", pad, kv[0], indentRest(kv[1]))
			}
		}
	}
}

// OK, Warn, Fail and Skip add a line of that status.
func (r *Report) OK(format string, args ...any) {
	r.Add(Line{Status: StatusOK, Text: fmt.Sprintf(format, args...)})
}

func (r *Report) Skip(format string, args ...any) {
	r.Add(Line{Status: StatusSkip, Text: fmt.Sprintf(format, args...)})
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool { return r.counts[StatusFail] > 0 }

// Count is the number of lines of status s.
func (r *Report) Count(s Status) int { return r.counts[s] }

// Lines returns every line so far.
func (r *Report) Lines() []Line { return append([]Line(nil), r.lines...) }

// Summary prints the totals.
func (r *Report) Summary(tracePath string) {
	fmt.Fprintf(r.w, "\n%d ok, %d warnings, %d failed, %d not checked. SIP trace: %s\n",
		r.counts[StatusOK], r.counts[StatusWarn], r.counts[StatusFail], r.counts[StatusSkip], tracePath)
}

// indentRest indents the lines after the first under the text.
func indentRest(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n           ")
}
