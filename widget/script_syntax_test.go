package widget

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestServedScriptParses checks the served scripts (the widget with its
// parts and stylesheet, and the call part) with Node's parser when Node is
// installed.
func TestServedScriptParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: the served script's syntax is checked by the browser tests")
	}
	for name, script := range map[string]func() ([]byte, error){"frontdesk.js": widgetScript, "frontdesk-call.js": callScript, "frontdesk-wait.js": waitScript} {
		js, err := script()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, js, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(node, "--check", path).CombinedOutput(); err != nil {
			t.Errorf("node --check %s: %v\n%s", name, err, out)
		}
	}
}
