package testbed

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestKamailioConfigChecks runs Kamailio's own config check on the rendered
// configuration.
func TestKamailioConfigChecks(t *testing.T) {
	if _, err := exec.LookPath("kamailio"); err != nil {
		t.Skip("kamailio not installed: run testbed/install.sh")
	}
	dir := t.TempDir()
	cfg, err := RenderKamailioConfig(15999, filepath.Join(dir, "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(path, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("kamailio", "-c", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("kamailio -c: %v\n%s", err, out)
	}
}
