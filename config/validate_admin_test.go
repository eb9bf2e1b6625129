package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminToken(t *testing.T) {
	t.Setenv("FD_ADMIN_TOKEN", "0123456789abcdef0123")
	c, _ := mustParse(t, sipYAML()+"admin:\n  token_env: FD_ADMIN_TOKEN\n", "")
	if c.Admin.ResolvedToken != "0123456789abcdef0123" || !c.Admin.Protected() {
		t.Errorf("admin = %+v", c.Admin)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("fedcba9876543210fedc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ = mustParse(t, sipYAML()+"admin:\n  token_file: token\n", dir)
	if c.Admin.ResolvedToken != "fedcba9876543210fedc" {
		t.Errorf("token from a file (relative to the config) = %q", c.Admin.ResolvedToken)
	}

	c, _ = mustParse(t, sipYAML(), "")
	if c.Admin.Protected() {
		t.Error("an admin section without token or client_ca counts as protected")
	}

	t.Setenv("FD_SHORT", "short")
	for _, tt := range []struct{ name, yaml, want string }{
		{"short", "admin:\n  token_env: FD_SHORT\n", "t.yaml:6: admin.token_env: the token has 5 characters; use at least 16"},
		{"both", "admin:\n  token_env: FD_ADMIN_TOKEN\n  token_file: token\n", "t.yaml:6: admin.token_env: set only one of token_env and token_file"},
		{"unset", "admin:\n  token_env: FD_NOT_SET_ANYWHERE\n", "t.yaml:6: admin.token_env: environment variable FD_NOT_SET_ANYWHERE is not set"},
		{"ca without tls", "admin:\n  client_ca: ca.pem\n", "t.yaml:6: admin.client_ca: needs tls_cert and tls_key"},
		{"cert without key", "admin:\n  tls_cert: cert.pem\n", "t.yaml:6: admin.tls_cert: tls_cert and tls_key must be set together"},
	} {
		_, _, err := Parse("t.yaml", []byte(sipYAML()+tt.yaml), dir)
		got := problemStrings(t, err)
		if len(got) == 0 || !strings.HasPrefix(got[0], tt.want) {
			t.Errorf("%s: problems %q, want one starting %q", tt.name, got, tt.want)
		}
	}
}

func TestAdminOffLoopbackWithoutProtection(t *testing.T) {
	_, warns := mustParse(t, sipYAML()+"admin:\n  listen: 0.0.0.0:9480\n", "")
	if len(warns) != 2 || !strings.Contains(warns[1].Msg, "the admin view (/admin/) is not served there") {
		t.Errorf("warnings = %v", warns)
	}
	t.Setenv("FD_ADMIN_TOKEN", "0123456789abcdef0123")
	_, warns = mustParse(t, sipYAML()+"admin:\n  listen: 0.0.0.0:9480\n  token_env: FD_ADMIN_TOKEN\n", "")
	if len(warns) != 2 || strings.Contains(warns[1].Msg, "not served") {
		t.Errorf("warnings with a token = %v", warns)
	}
}

func TestDoctorTargets(t *testing.T) {
	c, _ := mustParse(t, sipYAML()+"doctor:\n  test_agent: alice\n  test_extension: \"600\"\n", "")
	if c.Doctor.TestAgentURI != "sip:alice@pbx.test" || c.Doctor.TestExtensionURI != "sip:600@pbx.test" {
		t.Errorf("doctor = %+v", c.Doctor)
	}
	_, _, err := Parse("t.yaml", []byte(sipYAML()+"doctor:\n  test_agent: \"tel:+49\"\n"), "")
	if got := problemStrings(t, err); len(got) != 1 || !strings.HasPrefix(got[0], "t.yaml:6: doctor.test_agent:") {
		t.Errorf("bad test agent: %q", got)
	}
}
