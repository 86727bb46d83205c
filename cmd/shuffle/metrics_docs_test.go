package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// metricRef finds the metric names an expression or a page mentions:
// shuffle's, and the Go runtime's and the process's that /metrics
// serves too. A name ending in _ is a prefix (shuffle_forecast_*).
var metricRef = regexp.MustCompile(`\b(?:shuffle|go|process)_[a-z0-9_]*[a-z0-9]\b`)

// exportedMetrics is every metric name /metrics can serve.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, d := range metricDefs {
		names[d.name] = true
	}
	fams, err := newMetricsRegistry(newMetricsCollector(metricsRunInfo{})).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		names[f.GetName()] = true
	}
	return names
}

// checkQueries fails for an expression that queries no exported metric
// or one that does not exist.
func checkQueries(t *testing.T, file string, exprs map[string]string, exported map[string]bool) {
	t.Helper()
	if len(exprs) == 0 {
		t.Errorf("%s: no queries found", file)
	}
	for where, expr := range exprs {
		refs := metricRef.FindAllString(expr, -1)
		if len(refs) == 0 {
			t.Errorf("%s, %s: %q queries no shuffle metric", file, where, expr)
		}
		for _, r := range refs {
			if !exported[r] {
				t.Errorf("%s, %s: %s is not a metric shuffle exports (%q)", file, where, r, expr)
			}
		}
	}
}

// dashboardQueries collects every "expr", "query" and "definition"
// string in a Grafana dashboard, by where it is.
func dashboardQueries(v any, where string, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "expr" || k == "definition" || (k == "query" && strings.Contains(s, "("))) {
				out[where+"."+k] = s
				continue
			}
			dashboardQueries(x, where+"."+k, out)
		}
	case []any:
		for i, x := range v {
			dashboardQueries(x, where+"["+strconv.Itoa(i)+"]", out)
		}
	}
}

// The monitoring page lists every metric shuffle exports and no other;
// the sample dashboard and alert rules query only exported metrics; and
// the page names every alert. So none of them can drift from the code.
func TestMonitoringDocsMatchTheMetrics(t *testing.T) {
	root := repoRoot(t)
	exported := exportedMetrics(t)

	page, err := os.ReadFile(filepath.Join(root, "docs", "monitoring.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range metricDefs {
		if !strings.Contains(string(page), "| `"+d.name+"` |") {
			t.Errorf("docs/monitoring.md has no table row for %s", d.name)
		}
	}
	for _, r := range metricRef.FindAllString(string(page), -1) {
		if !exported[r] {
			t.Errorf("docs/monitoring.md mentions %s, which shuffle does not export", r)
		}
	}

	b, err := os.ReadFile(filepath.Join(root, "docs", "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("docs/monitoring/grafana-dashboard.json is not JSON: %v", err)
	}
	if panels, _ := dash["panels"].([]any); len(panels) < 10 {
		t.Errorf("the dashboard has %d panels", len(panels))
	}
	exprs := map[string]string{}
	dashboardQueries(dash, "dashboard", exprs)
	checkQueries(t, "docs/monitoring/grafana-dashboard.json", exprs, exported)

	b, err = os.ReadFile(filepath.Join(root, "docs", "monitoring", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
				For   string `yaml:"for"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("docs/monitoring/alerts.yml: %v", err)
	}
	exprs = map[string]string{}
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("alerts.yml: a rule without a name or an expression: %+v", r)
			}
			exprs[r.Alert] = r.Expr
			alerts = append(alerts, r.Alert)
		}
	}
	checkQueries(t, "docs/monitoring/alerts.yml", exprs, exported)
	sort.Strings(alerts)
	for _, a := range alerts {
		if !strings.Contains(string(page), "`"+a+"`") {
			t.Errorf("docs/monitoring.md does not explain the alert %s", a)
		}
	}
}
