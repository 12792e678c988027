package contrib

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// ruleFiles are the alert rules and, generated from contrib/pyrra, the
// SLO rules; each has its unit tests in <name>.test.yaml beside it.
var ruleFiles = []string{"prometheus/scaplock.rules.yaml", "prometheus/scaplock-slo.rules.yaml"}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// readRules is every rule file's groups in one.
func readRules(t *testing.T) ruleFile {
	t.Helper()
	var all ruleFile
	for _, f := range ruleFiles {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rf ruleFile
		if err := yaml.Unmarshal(raw, &rf); err != nil {
			t.Fatal(err)
		}
		all.Groups = append(all.Groups, rf.Groups...)
	}
	return all
}

// documented are the metric names docs/metrics.md lists; standard ones
// (up) are allowed too.
func documented(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"up"}
	for _, m := range regexp.MustCompile("(?m)^\\| `(scaplock_[a-z_]+)`").FindAllStringSubmatch(string(raw), -1) {
		names = append(names, m[1])
	}
	// The series the rule files record count as documented there.
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				names = append(names, r.Record)
			}
		}
	}
	return names
}

var metricRE = regexp.MustCompile(`\b(scaplock_[a-z0-9_:]+|up)\b`)

// metricsIn returns the metric names an expression reads; histogram series
// are named by their family.
func metricsIn(expr string) []string {
	var out []string
	for _, m := range metricRE.FindAllString(expr, -1) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if strings.HasSuffix(m, "_seconds"+suffix) {
				m = strings.TrimSuffix(m, suffix)
			}
		}
		out = append(out, m)
	}
	return out
}

func promtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (make deps)")
	}
	cmd := exec.Command("promtool", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestAlertRules(t *testing.T) {
	for _, f := range ruleFiles {
		name := filepath.Base(f)
		promtool(t, "prometheus", "check", "rules", name)
		promtool(t, "prometheus", "test", "rules", strings.TrimSuffix(name, ".yaml")+".test.yaml")
	}
}

// Every alert has a unit test case, a runbook section its runbook_url
// points at, and reads only documented metrics; every runbook section is an
// alert's.
func TestAlertsHaveTestsAndRunbook(t *testing.T) {
	rf := readRules(t)
	var tests []byte
	for _, f := range ruleFiles {
		raw, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".test.yaml")
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, raw...)
	}
	runbook, err := os.ReadFile("../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	var sections []string
	for _, m := range regexp.MustCompile(`(?m)^## (\S+)$`).FindAllStringSubmatch(string(runbook), -1) {
		sections = append(sections, m[1])
	}
	docs := documented(t)
	var alerts []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts = append(alerts, r.Alert)
			if !strings.Contains(string(tests), "alertname: "+r.Alert+"\n") {
				t.Errorf("%s has no case in the rules' tests", r.Alert)
			}
			want := "https://github.com/scaplock/scaplock/blob/main/docs/runbook.md#" + strings.ToLower(r.Alert)
			if r.Annotations["runbook_url"] != want {
				t.Errorf("%s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
			}
			if !slices.Contains(sections, r.Alert) {
				t.Errorf("%s has no section in docs/runbook.md", r.Alert)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s lacks a summary or description", r.Alert)
			}
			for _, m := range metricsIn(r.Expr) {
				if !slices.Contains(docs, m) {
					t.Errorf("%s reads %s, which docs/metrics.md does not list", r.Alert, m)
				}
			}
		}
	}
	for _, s := range sections {
		if !slices.Contains(alerts, s) {
			t.Errorf("docs/runbook.md has a section %s for no alert", s)
		}
	}
	if len(alerts) < 8 {
		t.Errorf("only %d alerts", len(alerts))
	}
}

type dashboard struct {
	Title  string  `json:"title"`
	UID    string  `json:"uid"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Title   string  `json:"title"`
	Type    string  `json:"type"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// The dashboard is valid JSON whose every query parses as PromQL (checked
// by promtool as recording rules) and names only documented metrics.
func TestDashboard(t *testing.T) {
	raw, err := os.ReadFile("grafana/scaplock.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("grafana/scaplock.json: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Fatalf("dashboard without title or uid")
	}
	docs := documented(t)
	// Grafana's variables, as Grafana would substitute them.
	vars := strings.NewReplacer("$__rate_interval", "5m", "$cluster", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				n++
				names := metricsIn(tg.Expr)
				if len(names) == 0 {
					t.Errorf("panel %q: query %q names no metric", p.Title, tg.Expr)
				}
				for _, m := range names {
					if !slices.Contains(docs, m) {
						t.Errorf("panel %q reads %s, which docs/metrics.md does not list", p.Title, m)
					}
				}
				q, _ := json.Marshal(vars.Replace(tg.Expr))
				rules.WriteString("      - record: dashboard:query\n        expr: " + string(q) + "\n")
			}
		}
	}
	walk(d.Panels)
	if n < 10 {
		t.Fatalf("only %d queries in the dashboard", n)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard.rules.yml"), []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	promtool(t, dir, "check", "rules", "--lint=none", "dashboard.rules.yml")
}
