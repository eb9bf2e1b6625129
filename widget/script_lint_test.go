package widget

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// eslintBin is ESLint as e2e/package.json pins it (npm ci --prefix e2e;
// scripts/setup.sh runs that).
var eslintBin = filepath.Join("..", "e2e", "node_modules", ".bin", "eslint")

// TestServedScriptLints runs ESLint (widget/eslint.config.mjs) on the
// scripts the gateway serves: the widget with all parts joined, and the
// call part it loads later (which must name every helper it uses). Without
// Node and ESLint installed it fails, unless FRONTDESK_SKIP_JS=1 says to
// skip.
func TestServedScriptLints(t *testing.T) {
	if os.Getenv("FRONTDESK_SKIP_JS") == "1" {
		t.Skip("FRONTDESK_SKIP_JS=1")
	}
	if _, err := os.Stat(eslintBin); err != nil {
		t.Fatalf("eslint missing (run npm ci --prefix e2e, or scripts/setup.sh): %v", err)
	}
	for name, script := range map[string]func() ([]byte, error){"frontdesk.served.js": widgetScript, "frontdesk-call.served.js": callScript, "frontdesk-wait.served.js": waitScript} {
		js, err := script()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(eslintBin, "--config", "eslint.config.mjs", "--max-warnings", "0",
			"--stdin", "--stdin-filename", filepath.Join("assets", name))
		cmd.Stdin = bytes.NewReader(js)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("eslint on %s (line numbers are of the served script): %v\n%s", name, err, out)
		}
	}
}

// TestWidgetPartsUnit runs the unit tests of the widget's parts that run
// without a browser (widget/jstest, node:test).
func TestWidgetPartsUnit(t *testing.T) {
	if os.Getenv("FRONTDESK_SKIP_JS") == "1" {
		t.Skip("FRONTDESK_SKIP_JS=1")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node missing (scripts/setup.sh installs it): %v", err)
	}
	// Bounded: a test that leaves a timer running keeps node alive.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "--test", "--test-timeout=30000", "jstest").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test widget/jstest: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("# fail 0")) || bytes.Contains(out, []byte("# pass 0\n")) {
		t.Fatalf("node --test ran no test or failed:\n%s", out)
	}
	t.Logf("%s", bytes.TrimSpace(out[bytes.LastIndex(out, []byte("# tests")):]))
}
