package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const testWidgetID = "5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f"

// sipYAML is a valid sip section on lines 1-4, followed by extra lines
// inside it (from line 5).
func sipYAML(extra ...string) string {
	s := "sip:\n  registrar: pbx.test\n  username: gw\n  password: x\n"
	for _, l := range extra {
		s += l + "\n"
	}
	return s
}

// widgetYAML is sipYAML, "widgets:" on line 5, a widget whose id is on line
// 6 and type on line 7, then extra lines (from line 8).
func widgetYAML(extra ...string) string {
	s := sipYAML() + "widgets:\n  - id: " + testWidgetID + "\n    type: sidebar\n"
	for _, l := range extra {
		s += l + "\n"
	}
	return s
}

// agentYAML is widgetYAML with "agents:" on line 8 and one agent whose
// first key is on line 9, the next on 10, and so on.
func agentYAML(first string, more ...string) string {
	s := widgetYAML("    agents:", "      - "+first)
	for _, l := range more {
		s += "        " + l + "\n"
	}
	return s
}

// problemStrings formats err's problems, failing if err is not Errors.
func problemStrings(t *testing.T, err error) []string {
	t.Helper()
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("error %v (%T) is not Errors", err, err)
	}
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = p.String()
	}
	return out
}

// mustParse parses data named t.yaml, failing the test on errors.
func mustParse(t *testing.T, data, baseDir string) (*Config, []Problem) {
	t.Helper()
	c, warns, err := Parse("t.yaml", []byte(data), baseDir)
	if err != nil {
		t.Fatalf("Parse:\n%v\ninput:\n%s", err, numbered(data))
	}
	return c, warns
}

// numbered prefixes each line with its number, for failure messages.
func numbered(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(s, "\n") {
		fmt.Fprintf(&b, "%3d| %s\n", i+1, l)
	}
	return b.String()
}
