package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The checked-in rule file is what the checked-in objectives generate.
func TestGeneratedRulesAreCurrent(t *testing.T) {
	objs, err := readObjectives("../../contrib/pyrra")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 {
		t.Errorf("%d objectives, want availability, deploy success and sync duration", len(objs))
	}
	want, err := Generate(objs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../contrib/prometheus/scaplock-slo.rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("contrib/prometheus/scaplock-slo.rules.yaml is stale: run go generate ./contrib")
	}
	// -check says the same.
	if err := run("../../contrib/pyrra", "../../contrib/prometheus/scaplock-slo.rules.yaml", true); err != nil {
		t.Error(err)
	}
	stale := filepath.Join(t.TempDir(), "stale.yaml")
	os.WriteFile(stale, []byte("groups: []\n"), 0o644)
	if err := run("../../contrib/pyrra", stale, true); err == nil || !strings.Contains(err.Error(), "go generate") {
		t.Errorf("-check on a stale file: %v, want an error saying to regenerate", err)
	}
}

const goodObjective = `apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: api
  annotations:
    scaplock.dev/min-events: "5"
spec:
  description: The API answers.
  target: "99.5"
  window: 28d
  indicator:
    ratio:
      errors:
        metric: probes_total{result="error"}
      total:
        metric: probes_total
      grouping: [cluster]
`

// TestBurnAlerts reads the alerts generated for one objective: the four
// workbook burns, each a multiple of the budget over both its windows,
// with the min-events guard.
func TestBurnAlerts(t *testing.T) {
	o, err := parseObjective("api.yaml", []byte(goodObjective))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Generate([]Objective{o})
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"1h/5m": `scaplock_slo:error_ratio:rate1h{slo="api"} > 0.072
and
scaplock_slo:error_ratio:rate5m{slo="api"} > 0.072
and on (cluster)
sum by (cluster) (increase(probes_total[1h])) >= 5`,
		"6h/30m": `scaplock_slo:error_ratio:rate6h{slo="api"} > 0.03
and
scaplock_slo:error_ratio:rate30m{slo="api"} > 0.03
and on (cluster)
sum by (cluster) (increase(probes_total[6h])) >= 5`,
		"1d/2h": `scaplock_slo:error_ratio:rate1d{slo="api"} > 0.015
and
scaplock_slo:error_ratio:rate2h{slo="api"} > 0.015
and on (cluster)
sum by (cluster) (increase(probes_total[1d])) >= 5`,
		"3d/6h": `scaplock_slo:error_ratio:rate3d{slo="api"} > 0.005
and
scaplock_slo:error_ratio:rate6h{slo="api"} > 0.005
and on (cluster)
sum by (cluster) (increase(probes_total[3d])) >= 5`,
	}
	severity := map[string]string{"1h/5m": "page", "6h/30m": "page", "1d/2h": "ticket", "3d/6h": "ticket"}
	got := map[string]bool{}
	records := map[string]string{}
	for _, r := range rf.Groups[0].Rules {
		if r.Record != "" {
			records[r.Record] = r.Expr
			continue
		}
		key := r.Labels["long"] + "/" + r.Labels["short"]
		got[key] = true
		if r.Expr != want[key] {
			t.Errorf("%s: expr\n%s\nwant\n%s", key, r.Expr, want[key])
		}
		if r.Labels["severity"] != severity[key] || r.Labels["slo"] != "api" || r.Alert != AlertName {
			t.Errorf("%s: %s labels %v", key, r.Alert, r.Labels)
		}
	}
	if len(got) != 4 {
		t.Errorf("burn alerts %v, want four", got)
	}
	if e := records["scaplock_slo:error_ratio:rate2h"]; e != "sum by (cluster) (rate(probes_total{result=\"error\"}[2h]))\n/\nsum by (cluster) (rate(probes_total[2h]))" {
		t.Errorf("2h ratio: %s", e)
	}
	if e := records["scaplock_slo:error_budget_remaining:ratio"]; e != `1 - scaplock_slo:error_ratio:rate28d{slo="api"} / 0.005` {
		t.Errorf("budget remaining: %s", e)
	}
}

func TestParseObjectiveRejects(t *testing.T) {
	tests := []struct{ name, from, to, field string }{
		{"other api", "pyrra.dev/v1alpha1", "sloth.slok.dev/v1", "apiVersion"},
		{"bad name", "name: api", "name: Api_1", "metadata.name"},
		{"target as a ratio", `"99.5"`, `"0.995x"`, "spec.target"},
		{"target 100", `"99.5"`, `"100"`, "spec.target"},
		{"short window", "28d", "1h", "spec.window"},
		{"bad min-events", `min-events: "5"`, `min-events: "some"`, "scaplock.dev/min-events"},
		{"unknown field", "window: 28d", "window: 28d\n  windows: 7d", "windows"},
		{"not a selector", `probes_total{result="error"}`, `sum(probes_total)`, "ratio.errors.metric"},
		{"bad grouping", "[cluster]", "[cluster-name]", "spec.indicator.grouping"},
		{"no indicator", "ratio:", "ratios:", "ratios"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(goodObjective, tt.from) {
				t.Fatalf("the good objective lacks %q", tt.from)
			}
			_, err := parseObjective("api.yaml", []byte(strings.Replace(goodObjective, tt.from, tt.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tt.field) || !strings.HasPrefix(err.Error(), "api.yaml") {
				t.Errorf("error %v, want one naming api.yaml and %s", err, tt.field)
			}
		})
	}
	latency := strings.Replace(goodObjective, "ratio:\n      errors:\n        metric: probes_total{result=\"error\"}", "latency:\n      success:\n        metric: sync_seconds_bucket", 1)
	if _, err := parseObjective("api.yaml", []byte(latency)); err == nil || !strings.Contains(err.Error(), "le=") {
		t.Errorf("latency without le: %v", err)
	}
}
