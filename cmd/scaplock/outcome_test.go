package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// TestRunRecordsOutcome runs real commands under `scaplock run` against the
// real server and reads what the release recorded: the history event's
// outcome fields and the server's deploy counters.
func TestRunRecordsOutcome(t *testing.T) {
	tests := []struct {
		name     string
		argv     []string
		exit     int
		outcome  apiv1.Outcome
		exitCode int
	}{
		{"succeeded", []string{"sh", "-c", "exit 0"}, 0, apiv1.OutcomeSucceeded, 0},
		{"failed", []string{"sh", "-c", "exit 3"}, 3, apiv1.OutcomeFailed, 3},
		{"not found", []string{"/nonexistent/helmfile"}, exitNotFound, apiv1.OutcomeFailed, exitNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scope := uniqueScope(t)
			before := deploysCounted(t, scope, tt.outcome)
			r := scaplock(context.Background(), as(t, "oc-dep", "deployer"), append([]string{"run", "--scope", scope, "--"}, tt.argv...)...)
			wantCode(t, r, tt.exit)
			var page apiv1.HistoryPage
			apiCall(t, http.MethodGet, "/api/v1/history?scope="+scope+"&action=released", mint(t, "observer"), nil, &page)
			if len(page.Events) != 1 {
				t.Fatalf("want one release event, got %+v", page.Events)
			}
			e := page.Events[0]
			if e.Outcome != tt.outcome || e.ExitCode == nil || *e.ExitCode != tt.exitCode {
				t.Errorf("release event outcome %q exit_code %v, want %q %d", e.Outcome, e.ExitCode, tt.outcome, tt.exitCode)
			}
			if e.DurationS == nil || *e.DurationS < 0 || *e.DurationS > r.took.Seconds() {
				t.Errorf("duration_s %v: want within 0..%v (the CLI's own run)", e.DurationS, r.took.Seconds())
			}
			if got := deploysCounted(t, scope, tt.outcome) - before; got != 1 {
				t.Errorf("scaplock_deploys_total{scope=%s,outcome=%s} rose by %v, want 1", scope, tt.outcome, got)
			}
		})
	}
}

// deploysCounted reads scaplock_deploys_total{scope,outcome} from the
// server's /metrics.
func deploysCounted(t *testing.T, scope string, outcome apiv1.Outcome) float64 {
	t.Helper()
	resp, err := http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range families["scaplock_deploys_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["scope"] == scope && labels["outcome"] == string(outcome) {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
