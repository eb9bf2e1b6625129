package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/frontdesk-gw/frontdesk/sip"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

const validConfig = `sip:
  registrar: pbx.example.com
  username: frontdesk
  password_file: secret.txt
http:
  public_url: https://gw.example.com
widgets:
  - id: 3f2504e0-4f89-41d3-9a0c-0305e82c3301
    type: cards
    name: Team
    agents:
      - sip: alice
`

func writeConfigDir(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "frontdesk.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHelpAndUnknownCommand(t *testing.T) {
	code, out, _ := runCmd(t, "--help")
	if code != 0 {
		t.Errorf("--help exit %d", code)
	}
	for _, c := range []string{"serve", "check", "snippet", "new"} {
		if !strings.Contains(out, c) {
			t.Errorf("help does not mention %s", c)
		}
	}
	if code, _, errOut := runCmd(t, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
	for _, c := range []string{"serve", "check", "snippet", "new"} {
		if code, _, errOut := runCmd(t, c, "--help"); code != 0 || !strings.Contains(errOut, "Usage: frontdesk "+c) {
			t.Errorf("%s --help: exit %d, %q", c, code, errOut)
		}
	}
}

func TestCheck(t *testing.T) {
	path := writeConfigDir(t, validConfig)
	code, out, errOut := runCmd(t, "check", "--config", path)
	if code != 0 || !strings.Contains(out, "ok (1 widgets, 1 agents)") {
		t.Fatalf("valid config: exit %d, out %q, err %q", code, out, errOut)
	}

	broken := strings.Replace(validConfig, "type: cards", "type: cardz", 1)
	broken = strings.Replace(broken, "      - sip: alice\n", "      - sip: alice\n        colour: red\n", 1)
	path = writeConfigDir(t, broken)
	code, _, errOut = runCmd(t, "check", "--config", path)
	if code != 1 {
		t.Fatalf("broken config: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`frontdesk\.yaml:9: .*cardz`),
		regexp.MustCompile(`frontdesk\.yaml:13: .*colour`),
	}
	for _, re := range want {
		found := false
		for _, l := range lines {
			found = found || re.MatchString(l)
		}
		if !found {
			t.Errorf("no line matching %v in:\n%s", re, errOut)
		}
	}
}

func TestCheckEmbeddedDefault(t *testing.T) {
	t.Chdir(t.TempDir()) // no frontdesk.yaml here
	if code, out, errOut := runCmd(t, "check"); code != 0 || !strings.Contains(out, "embedded demo config: ok") {
		t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
	}
}

func TestSnippet(t *testing.T) {
	path := writeConfigDir(t, validConfig)
	code, out, errOut := runCmd(t, "snippet", "--config", path, "3f2504e04f8941d39a0c0305e82c3301")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`<div data-frontdesk-cards="3f2504e04f8941d39a0c0305e82c3301"></div>`,
		`<script async src="https://gw.example.com/frontdesk.js" data-frontdesk-widget="3f2504e04f8941d39a0c0305e82c3301"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("snippet lacks %q:\n%s", want, out)
		}
	}
	code, _, errOut = runCmd(t, "snippet", "--config", path, "nope")
	if code != 1 || !strings.Contains(errOut, "3f2504e04f8941d39a0c0305e82c3301") {
		t.Errorf("unknown widget: exit %d, %q (should list known widgets)", code, errOut)
	}
}

func TestNewPrintsAStanzaThatParses(t *testing.T) {
	code, out, _ := runCmd(t, "new", "--type", "cards")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	// The stanza is indented to go right under "widgets:".
	cfg := validConfig + out
	path := writeConfigDir(t, cfg)
	if code, _, errOut := runCmd(t, "check", "--config", path); code != 0 {
		t.Fatalf("config with the new stanza does not check: %s\n%s", errOut, cfg)
	}
	if code, _, _ := runCmd(t, "new", "--type", "popup"); code != 2 {
		t.Errorf("bad --type: exit %d, want 2", code)
	}
}

// TestNewTakesTheTypeAsArgument: "frontdesk new cards" prints a cards
// stanza, not a sidebar one.
func TestNewTakesTheTypeAsArgument(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"new", "cards"}, "type: cards"},
		{[]string{"new", "sidebar"}, "type: sidebar"},
		{[]string{"new"}, "type: sidebar"},
		{[]string{"new", "--type", "cards", "cards"}, "type: cards"},
	} {
		code, out, errOut := runCmd(t, c.args...)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("frontdesk %v: exit %d, output lacks %q:\n%s%s", c.args, code, c.want, out, errOut)
		}
	}
	for _, args := range [][]string{{"new", "popup"}, {"new", "cards", "sidebar"}, {"new", "--type", "sidebar", "cards"}} {
		if code, _, _ := runCmd(t, args...); code != 2 {
			t.Errorf("frontdesk %v: exit %d, want 2", args, code)
		}
	}
}

// TestLoggerCutsFloodsButKeepsTheTrace: what strangers can trigger cannot
// flood the log; the SIP trace the operator asked for stays whole.
func TestLoggerCutsFloodsButKeepsTheTrace(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "debug", "json")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		log.Warn("session refused: session limit reached", "ip", "192.0.2.1", "n", i)
		log.Info(sip.TraceLogMessage, "dir", "in", "n", i)
	}
	refused, trace := strings.Count(buf.String(), "session refused"), strings.Count(buf.String(), `"msg":"sip trace"`)
	if refused > 100 || refused == 0 {
		t.Errorf("%d of 2000 refusals logged", refused)
	}
	if trace != 2000 {
		t.Errorf("%d of 2000 trace records logged", trace)
	}
}
