package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with (or worth warning about in) a config file,
// located by file and line so an editor can jump to it.
type Problem struct {
	File string // the name given to Parse or the path given to Load
	Line int    // 1-based; 0 when the problem has no single place
	Msg  string // a sentence, starting with the key path when there is one
}

// String formats the problem as "file:line: message".
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(":")
	}
	if p.Line > 0 {
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(":")
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is every problem that made a config invalid, in file order.
type Errors []Problem

// Error lists the problems, one per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects errors and warnings during one Parse. It knows the line
// of every key path seen while decoding, so validation can report where a
// value (or, for a missing value, its nearest parent) is.
type problems struct {
	file    string
	dropped int             // errors beyond maxProblems, counted but not kept
	lines   map[string]int  // key path -> line
	bad     map[string]bool // paths that failed to decode; validation stays quiet about them
	errs    []Problem
	warns   []Problem
}

// maxProblems bounds the errors kept for one file; a file with more is
// mostly wrong, and aliases could otherwise multiply errors without end.
const maxProblems = 200

func newProblems(file string) *problems {
	return &problems{file: file, lines: map[string]int{}, bad: map[string]bool{}}
}

// line finds the line of path, or of its closest ancestor that was seen.
func (p *problems) line(path string) int {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		path = parentPath(path)
	}
	return 0
}

// quiet reports whether path or one of its ancestors failed to decode.
func (p *problems) quiet(path string) bool {
	for path != "" {
		if p.bad[path] {
			return true
		}
		path = parentPath(path)
	}
	return false
}

// errf records an error about path at path's line.
func (p *problems) errf(path, format string, args ...any) {
	if p.quiet(path) {
		return
	}
	p.add(p.line(path), path, format, args...)
}

// warnf records a warning about path at path's line.
func (p *problems) warnf(path, format string, args ...any) {
	p.warns = append(p.warns, Problem{File: p.file, Line: p.line(path), Msg: withPath(path, fmt.Sprintf(format, args...))})
}

// decodeErr records an error found while decoding the node at line and marks
// path so validation does not pile follow-up errors onto it.
func (p *problems) decodeErr(line int, path, format string, args ...any) {
	p.bad[path] = true
	p.add(line, path, format, args...)
}

// errAt records an error at a given line without silencing validation of
// path (an unknown key says nothing about the keys next to it).
func (p *problems) errAt(line int, path, format string, args ...any) {
	p.add(line, path, format, args...)
}

func (p *problems) add(line int, path, format string, args ...any) {
	if len(p.errs) >= maxProblems {
		p.dropped++
		return
	}
	p.errs = append(p.errs, Problem{File: p.file, Line: line, Msg: withPath(path, fmt.Sprintf(format, args...))})
}

// result returns the problems sorted by line, keeping discovery order within a line.
func (p *problems) result() (errs Errors, warns []Problem) {
	byLine := func(ps []Problem) {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	}
	byLine(p.errs)
	byLine(p.warns)
	if p.dropped > 0 {
		p.errs = append(p.errs, Problem{File: p.file, Msg: fmt.Sprintf("and %d more problems", p.dropped)})
	}
	if len(p.warns) > maxProblems {
		p.warns = p.warns[:maxProblems]
	}
	return Errors(p.errs), p.warns
}

func withPath(path, msg string) string {
	switch {
	case path == "":
		return msg
	case strings.HasPrefix(msg, "is "):
		return path + " " + msg // "sip.registrar is required"
	}
	return path + ": " + msg
}

// parentPath strips the last ".key" or "[i]" from a key path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}
