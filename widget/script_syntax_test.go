package widget

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestServedScriptParses checks the assembled widget script (core, call and
// chat parts, stylesheet) with Node's parser when Node is installed.
func TestServedScriptParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: the served script's syntax is checked by the browser tests")
	}
	js, err := widgetScript()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "frontdesk.js")
	if err := os.WriteFile(path, js, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("node --check: %v\n%s", err, out)
	}
}
