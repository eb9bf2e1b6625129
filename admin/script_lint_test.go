package admin

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestAdminScriptLints runs ESLint with the widget's rules
// (widget/eslint.config.mjs: no undefined names, no innerHTML or
// document.write, strict mode) on the admin view's script. Without ESLint
// installed it fails, unless FRONTDESK_SKIP_JS=1 says to skip.
func TestAdminScriptLints(t *testing.T) {
	if os.Getenv("FRONTDESK_SKIP_JS") == "1" {
		t.Skip("FRONTDESK_SKIP_JS=1")
	}
	eslint := filepath.Join("..", "e2e", "node_modules", ".bin", "eslint")
	if _, err := os.Stat(eslint); err != nil {
		t.Fatalf("eslint missing (run npm ci --prefix e2e, or scripts/setup.sh): %v", err)
	}
	cmd := exec.Command(eslint, "--config", filepath.Join("..", "widget", "eslint.config.mjs"), "--max-warnings", "0",
		filepath.Join("assets", "admin.js"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("eslint on admin/assets/admin.js: %v\n%s", err, out)
	}
}
