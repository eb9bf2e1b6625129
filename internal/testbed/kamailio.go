package testbed

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/emiago/sipgo/sip"

	assets "github.com/frontdesk-gw/frontdesk/testbed"
)

// RenderKamailioConfig renders the Kamailio configuration for a port on
// 127.0.0.1 and an absolute sqlite database path.
func RenderKamailioConfig(port int, dbPath string) ([]byte, error) {
	return renderKamailioConfig("127.0.0.1", port, dbPath, Faults{})
}

// renderKamailioConfig renders the configuration for host:port with the
// faults asked for.
func renderKamailioConfig(host string, port int, dbPath string, faults Faults) ([]byte, error) {
	tmpl, err := template.New("kamailio.cfg").Option("missingkey=error").Parse(assets.KamailioConfig)
	if err != nil {
		return nil, fmt.Errorf("testbed: parse kamailio.cfg: %w", err)
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, struct {
		Host   string
		Port   int
		Domain string
		DBURL  string
		Faults
	}{Host: host, Port: port, Domain: Domain, DBURL: "sqlite:///" + dbPath, Faults: faults})
	if err != nil {
		return nil, fmt.Errorf("testbed: render kamailio.cfg: %w", err)
	}
	return buf.Bytes(), nil
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// createDB creates a fresh sqlite database (WAL mode) with Kamailio's tables
// and the accounts (plain passwords; Kamailio computes HA1 itself).
func createDB(ctx context.Context, path string, users []User) error {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("testbed: remove old db: %w", err)
		}
	}
	var sql strings.Builder
	sql.WriteString("PRAGMA journal_mode=WAL;\n")
	sql.WriteString(assets.Schema)
	sql.WriteString("\nBEGIN;\n")
	for _, u := range users {
		fmt.Fprintf(&sql, "INSERT INTO subscriber (username, domain, password) VALUES (%s, %s, %s);\n",
			sqlQuote(u.Name), sqlQuote(Domain), sqlQuote(u.Password))
	}
	sql.WriteString("COMMIT;\n")

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sqlite3", "-bail", path)
	cmd.Stdin = strings.NewReader(sql.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("testbed: create db %s: %w: %s", path, err, bytes.TrimSpace(out))
	}
	return nil
}

func (t *Testbed) startKamailio(ctx context.Context, timeout time.Duration) error {
	dbPath := filepath.Join(t.dir, "kamailio.db")
	cfg, err := renderKamailioConfig(t.host, t.port, dbPath, t.faults)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(t.dir, "kamailio.cfg")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return fmt.Errorf("testbed: write kamailio.cfg: %w", err)
	}
	runDir := filepath.Join(t.dir, "kamailio-run")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return fmt.Errorf("testbed: kamailio run dir: %w", err)
	}
	logPath := filepath.Join(t.dir, "kamailio.log")
	p, err := startProc("kamailio", logPath, t.dir, "kamailio",
		"-DD", "-E", // stay in the foreground, log to stderr (the log file)
		"-f", cfgPath,
		"-Y", runDir,
		"-w", t.dir,
		"-P", filepath.Join(runDir, "kamailio.pid"),
		"-m", "64", "-M", "8",
	)
	if err != nil {
		return err
	}
	t.kam = p
	t.log.Debug("kamailio started", "pid", p.pid(), "log", logPath)

	// Ready once it answers OPTIONS.
	c := t.sip
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		if p.exited() {
			return p.errWithLog(fmt.Errorf("testbed: kamailio exited at start-up (%v)", p.waitErr))
		}
		res, err := c.options(ctx, sip.Uri{Scheme: "sip", Host: t.host, Port: t.port}, t.Addr(), 500*time.Millisecond)
		if err == nil && res.StatusCode == 200 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("answered %d %s", res.StatusCode, res.Reason)
		}
		lastErr = err
		if time.Now().After(deadline) {
			return p.errWithLog(fmt.Errorf("testbed: kamailio did not answer OPTIONS on %s within %v: %w", t.Addr(), timeout, lastErr))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testbed: waiting for kamailio: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
