//go:build integration

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	alertRules     = "../deploy/prometheus/frontdesk.rules.yml"
	alertRulesTest = "../deploy/prometheus/frontdesk.rules.test.yml"
	dashboardJSON  = "../deploy/grafana/frontdesk.json"
)

// metricName finds metric names in PromQL: every metric the gateway
// exports begins with frontdesk_, process_ or go_ (label names never do;
// up is Prometheus's own).
var metricName = regexp.MustCompile(`\b(?:frontdesk|process|go)_[A-Za-z0-9_]+\b`)

// TestMonitoringUsesExportedMetrics: the alert rules pass promtool (check
// and their unit tests), and every metric the rules and the Grafana
// dashboard query is one a running gateway exports, scraped from
// /metrics of a gateway with every optional part on (TLS certificate,
// config file, calls).
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("skipping: promtool not found (Debian's prometheus package; testbed/install.sh installs it)")
	}
	for _, args := range [][]string{{"check", "rules", alertRules}, {"test", "rules", alertRulesTest}} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	files := newTLSFiles(t, t.TempDir())
	files.install(files.issue())
	gw, _, _ := tlsGateway(t, files)
	exported := exportedMetrics(t, gw.metrics(t))
	for _, want := range []string{"frontdesk_tls_certificate_expiry_timestamp_seconds", "frontdesk_config_rejected", "frontdesk_rtp_rejected_packets_total"} {
		if !exported[want] {
			t.Fatalf("the gateway under test does not export %s: not every part is on", want)
		}
	}

	queries := map[string][]string{}
	queries[alertRules] = ruleExprs(t)
	queries[dashboardJSON] = dashboardExprs(t)
	for file, exprs := range queries {
		if len(exprs) == 0 {
			t.Errorf("%s: no queries found", file)
		}
		used := 0
		for _, expr := range exprs {
			for _, name := range metricName.FindAllString(expr, -1) {
				used++
				if !exported[name] {
					t.Errorf("%s queries %s, which the gateway does not export (in %q)", filepath.Base(file), name, expr)
				}
			}
		}
		t.Logf("%s: %d queries, %d metric references checked", filepath.Base(file), len(exprs), used)
	}
}

// exportedMetrics are the sample names of a Prometheus text exposition
// (a histogram's _bucket, _sum and _count included).
func exportedMetrics(t *testing.T, body string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, l := range strings.Split(body, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, _, _ := strings.Cut(l, " ")
		name, _, _ = strings.Cut(name, "{")
		names[name] = true
	}
	if len(names) < 20 {
		t.Fatalf("only %d metrics scraped:\n%s", len(names), body)
	}
	return names
}

// ruleExprs are the expressions of the alert rules.
func ruleExprs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(alertRules)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatalf("%s: %v", alertRules, err)
	}
	var out []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out = append(out, r.Expr)
		}
	}
	return out
}

// dashboardExprs are the dashboard's panel queries and its variables'
// queries.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(dashboardJSON)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title      string `json:"title"`
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardJSON, err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Errorf("dashboard without title or uid")
	}
	var out, titles []string
	for _, v := range dash.Templating.List {
		if v.Definition != "" {
			out = append(out, v.Definition)
		}
	}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if slices.Contains(titles, p.Title) {
			t.Errorf("two panels titled %q", p.Title)
		}
		titles = append(titles, p.Title)
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			out = append(out, q.Expr)
		}
	}
	return out
}
