package testbed

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestKamailioConfigChecks runs Kamailio's own config check on the rendered
// configurations, with and without the rls module.
func TestKamailioConfigChecks(t *testing.T) {
	if _, err := exec.LookPath("kamailio"); err != nil {
		t.Skip("kamailio not installed: run testbed/install.sh")
	}
	for name, render := range map[string]func(int, string) ([]byte, error){
		"plain": RenderKamailioConfig, "rls": RenderKamailioRLSConfig,
		"no dialog events": func(port int, db string) ([]byte, error) {
			return renderKamailioConfig("127.0.0.1", port, db, false, Faults{NoDialogEvents: true}, nil)
		},
		"refusing SUBSCRIBEs": func(port int, db string) ([]byte, error) {
			return renderKamailioConfig("127.0.0.1", port, db, false, Faults{RefuseSubscribe: true}, nil)
		},
	} {
		dir := t.TempDir()
		cfg, err := render(15999, filepath.Join(dir, "k.db"))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "kamailio.cfg")
		if err := os.WriteFile(path, cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("kamailio", "-c", "-f", path).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: kamailio -c: %v\n%s", name, err, out)
		}
	}
}

// TestKamailioTLSConfigCheck runs Kamailio's config check on the
// configuration with the tls module, with and without contact rewriting.
func TestKamailioTLSConfigCheck(t *testing.T) {
	if _, err := exec.LookPath("kamailio"); err != nil {
		t.Skip("kamailio not installed: run testbed/install.sh")
	}
	for _, rewrite := range []bool{false, true} {
		dir := t.TempDir()
		cfg, err := renderKamailioConfig("127.0.0.1", 15999, filepath.Join(dir, "k.db"), false, Faults{},
			&tlsTemplate{Port: 15998, Config: filepath.Join(dir, "tls.cfg"), RewriteContacts: rewrite})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "kamailio.cfg")
		if err := os.WriteFile(path, cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("kamailio", "-c", "-f", path).CombinedOutput(); err != nil {
			t.Fatalf("rewrite contacts %v: kamailio -c: %v\n%s", rewrite, err, out)
		}
	}
}
