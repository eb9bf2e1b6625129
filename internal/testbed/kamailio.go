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
	return renderKamailioConfig("127.0.0.1", port, dbPath, false, Faults{}, nil)
}

// RenderKamailioRLSConfig is RenderKamailioConfig with the rls module: a
// resource list server for presence and dialog (see ResourceList).
func RenderKamailioRLSConfig(port int, dbPath string) ([]byte, error) {
	return renderKamailioConfig("127.0.0.1", port, dbPath, true, Faults{}, nil)
}

// renderKamailioConfig renders the configuration for host:port, with the
// rls module when rls is set, the faults asked for, and the tls module with
// tls.
func renderKamailioConfig(host string, port int, dbPath string, rls bool, faults Faults, tls *tlsTemplate) ([]byte, error) {
	tmpl, err := template.New("kamailio.cfg").Option("missingkey=error").Parse(assets.KamailioConfig)
	if err != nil {
		return nil, fmt.Errorf("testbed: parse kamailio.cfg: %w", err)
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, struct {
		Host      string
		Port      int
		Domain    string
		DBURL     string
		RLS       bool
		TextDBURL string
		TLS       *tlsTemplate
		Faults
	}{Host: host, Port: port, Domain: Domain, DBURL: "sqlite:///" + dbPath, RLS: rls, TextDBURL: "text://" + textDBDir(dbPath), TLS: tls, Faults: faults})
	if err != nil {
		return nil, fmt.Errorf("testbed: render kamailio.cfg: %w", err)
	}
	return buf.Bytes(), nil
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// createDB creates a fresh sqlite database (WAL mode) with Kamailio's tables,
// the accounts (plain passwords; Kamailio computes HA1 itself) and an
// rls-services document per owner of resource lists.
func createDB(ctx context.Context, path string, users []User, lists []ResourceList) error {
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
	for owner, doc := range rlsServices(lists) {
		// doc_type 8: rls-services (RLS_SERVICE in Kamailio's xcap_client)
		fmt.Fprintf(&sql, "INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES (%s, %s, %s, 8, 'e1', 0, %s, 0);\n",
			sqlQuote(owner), sqlQuote(Domain), sqlQuote(doc), sqlQuote("/xcap-root/rls-services/users/sip:"+owner+"@"+Domain+"/index"))
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

// textDBDir is the db_text directory next to the sqlite database.
func textDBDir(dbPath string) string { return filepath.Join(filepath.Dir(dbPath), "dbtext") }

// createTextDB makes the db_text directory with the rls module's tables
// (header lines as in Kamailio's dbtext schema files); it is emptied on
// every start, like the in-memory state of a restarted PBX.
func createTextDB(dbPath string) error {
	dir := textDBDir(dbPath)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("testbed: db_text dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("testbed: db_text dir: %w", err)
	}
	files := map[string]string{
		"version":        "id(int,auto) table_name(string) table_version(int) \n0:rls_presentity:1\n0:rls_watchers:3\n",
		"rls_watchers":   "id(int,auto) presentity_uri(string) to_user(string) to_domain(string) watcher_username(string) watcher_domain(string) event(string) event_id(string,null) to_tag(string) from_tag(string) callid(string) local_cseq(int) remote_cseq(int) contact(string) record_route(string,null) expires(int) status(int) reason(string) version(int) socket_info(string) local_contact(string) from_user(string) from_domain(string) updated(int) \n",
		"rls_presentity": "id(int,auto) rlsubs_did(string) resource_uri(string) content_type(string) presence_state(string) expires(int) updated(int) auth_state(int) reason(string) \n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("testbed: db_text %s: %w", name, err)
		}
	}
	return nil
}

// rlsServices writes one rls-services document (RFC 4826) per owner.
func rlsServices(lists []ResourceList) map[string]string {
	docs := map[string]*strings.Builder{}
	for _, l := range lists {
		b := docs[l.Owner]
		if b == nil {
			b = &strings.Builder{}
			b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
				`<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">` + "\n")
			docs[l.Owner] = b
		}
		fmt.Fprintf(b, "<service uri=\"sip:%s@%s\">\n<list name=\"%s\">\n", l.Name, Domain, l.Name)
		for _, m := range l.Members {
			fmt.Fprintf(b, "<rl:entry uri=\"sip:%s@%s\"/>\n", m, Domain)
		}
		b.WriteString("</list>\n<packages><package>presence</package><package>dialog</package></packages>\n</service>\n")
	}
	out := map[string]string{}
	for owner, b := range docs {
		out[owner] = b.String() + "</rls-services>\n"
	}
	return out
}

func (t *Testbed) startKamailio(ctx context.Context, timeout time.Duration) error {
	dbPath := filepath.Join(t.dir, "kamailio.db")
	cfg, err := renderKamailioConfig(t.host, t.port, dbPath, t.rls, t.faults, t.tls)
	if err != nil {
		return err
	}
	if t.rls {
		if err := createTextDB(dbPath); err != nil {
			return err
		}
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
			if t.tls == nil {
				return nil
			}
			if err := t.waitTLSListening(ctx, timeout); err != nil {
				return p.errWithLog(err)
			}
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
