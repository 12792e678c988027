package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/health/sim"
)

func TestProbeClass(t *testing.T) {
	tests := []struct {
		name string
		v    sim.Values
		want string
	}{
		{"fast 200", sim.Values{ReadyzStatus: http.StatusOK, ReadyzLatency: 300 * time.Millisecond}, health.ProbeGood},
		{"200 at warn", sim.Values{ReadyzStatus: http.StatusOK, ReadyzLatency: 500 * time.Millisecond}, health.ProbeSlow},
		{"503", sim.Values{ReadyzStatus: http.StatusServiceUnavailable}, health.ProbeError},
		{"no answer", sim.Values{ReadyzStatus: 0, ReadyzLatency: time.Millisecond}, health.ProbeError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := probeClass(tt.v, 0.5); got != tt.want {
				t.Errorf("probeClass(%+v) = %s, want %s", tt.v, got, tt.want)
			}
		})
	}
}

func TestParseGots(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    []float64
		wantErr bool
	}{
		{"two answers", "  FAILED:\n    expr: \"a\", time: 30m,\n        exp: {} -2E+00\n        got: {} 8.4E+02\n    expr: \"b\"\n        exp: {} -2E+00\n        got: {} -1E+00\n", []float64{840, -1}, false},
		{"passing tests print none", "Unit Testing:  t.yaml\n  SUCCESS\n", nil, false},
		{"an answer that is no number", "        got: {} soon\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseGots([]byte(tt.out))
			if (err != nil) != tt.wantErr || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("parseGots = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestCreepSeries: every step counts each apiserver's probes once, the
// counters never fall, and the releases' deploys and durations land in
// the deploy counters and the sync histogram.
func TestCreepSeries(t *testing.T) {
	s, err := sim.Load("creep-3-months")
	if err != nil {
		t.Fatal(err)
	}
	secs := func(f float64) *float64 { return &f }
	releases := []apiv1.Event{
		{Time: s.Start().Add(11 * time.Minute), DeployOutcome: apiv1.DeployOutcome{Outcome: apiv1.OutcomeSucceeded, DurationS: secs(250)}},
		{Time: s.Start().Add(101 * time.Minute), DeployOutcome: apiv1.DeployOutcome{Outcome: apiv1.OutcomeFailed, DurationS: secs(400)}},
		{Time: s.Start().Add(102 * time.Minute)}, // released without an outcome: not a counted deploy
	}
	in := creepSeries(s, releases, health.DefaultThresholds.Latency.Warn)
	last := in.steps - 1
	for name, c := range in.series {
		if len(c) != in.steps {
			t.Fatalf("%s has %d samples, want %d", name, len(c), in.steps)
		}
		for i := 1; i < len(c); i++ {
			if c[i] < c[i-1] {
				t.Fatalf("%s falls at step %d: %g after %g", name, i, c[i], c[i-1])
			}
		}
	}
	slow := 0.0
	for _, h := range s.Hosts() {
		total := 0.0
		for _, r := range []string{health.ProbeGood, health.ProbeSlow, health.ProbeError} {
			c := in.series[fmt.Sprintf(`scaplock_apiserver_probes_total{cluster="creep-3-months",apiserver=%q,result=%q}`, h, r)]
			total += c[last]
			if r == health.ProbeSlow {
				slow += c[last]
			}
		}
		if want := float64(last * sloProbesPerStep); total != want {
			t.Errorf("%s: %g probes, want %g", h, total, want)
		}
	}
	if slow == 0 {
		t.Error("no slow probe: the scenario's readyz bursts above warn (700 ms, 1.5 s) were not counted")
	}
	for name, want := range map[string]float64{
		`scaplock_deploys_total{scope="creep-3-months",outcome="succeeded"}`:     1,
		`scaplock_deploys_total{scope="creep-3-months",outcome="failed"}`:        1,
		`scaplock_scap_sync_duration_seconds_count{host="deploy1002"}`:           2,
		`scaplock_scap_sync_duration_seconds_bucket{host="deploy1002",le="300"}`: 1,
	} {
		if got := in.series[name][last]; got != want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	// The failed deploy is counted where its release falls, stretched.
	failed := in.series[`scaplock_deploys_total{scope="creep-3-months",outcome="failed"}`]
	at := time.Duration(int64(101*time.Minute)*sloStretch) / sloStep
	if failed[at] != 0 || failed[at+1] != 1 {
		t.Errorf("failed deploys around step %d: %v, want 0 then 1", at, failed[at:at+2])
	}
}

// TestAlertRulesKeepsEveryAlert: the rule file promtool evaluates has
// every alert of the generated one and none of the records it drops.
func TestAlertRulesKeepsEveryAlert(t *testing.T) {
	out := filepath.Join(t.TempDir(), "rules.yaml")
	path, dropped, err := alertRules(filepath.Join("..", "..", sloRules), out)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(filepath.Join("..", "..", sloRules))
	if err != nil {
		t.Fatal(err)
	}
	kept, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wantDropped := 0
	for _, u := range sloUnread {
		wantDropped += strings.Count(string(orig), "record: "+u+"\n")
		if strings.Contains(string(kept), u) {
			t.Errorf("%s is still in the rules", u)
		}
	}
	if dropped != wantDropped || dropped == 0 {
		t.Errorf("dropped %d rules, want %d", dropped, wantDropped)
	}
	alerts := func(raw []byte) []string {
		var f struct {
			Groups []struct {
				Rules []struct{ Alert, Expr string }
			}
		}
		if err := yaml.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					out = append(out, r.Alert+": "+r.Expr)
				}
			}
		}
		return out
	}
	if a, b := alerts(orig), alerts(kept); len(a) == 0 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("alerts differ: %d generated, %d kept", len(a), len(b))
	}
}

// TestFirstFiringsWithPromtool: on a cluster whose probes turn all slow
// after two (stretched) days, Debian's promtool fires the availability
// alerts after that and not before, and no deploy alert without deploys.
func TestFirstFiringsWithPromtool(t *testing.T) {
	dir := t.TempDir()
	rules, _, err := alertRules(filepath.Join("..", "..", sloRules), filepath.Join(dir, "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	breaks := 2 * 24 * time.Hour
	in := sloInput{steps: int(4*24*time.Hour/sloStep) + 1, series: map[string][]float64{}}
	good, slow := make([]float64, in.steps), make([]float64, in.steps)
	for i := 1; i < in.steps; i++ {
		good[i], slow[i] = good[i-1], slow[i-1]
		if time.Duration(i)*sloStep <= breaks {
			good[i] += float64(sloProbesPerStep)
		} else {
			slow[i] += float64(sloProbesPerStep)
		}
	}
	in.series[`scaplock_apiserver_probes_total{cluster="eqiad",apiserver="a",result="good"}`] = good
	in.series[`scaplock_apiserver_probes_total{cluster="eqiad",apiserver="a",result="slow"}`] = slow
	fired, err := firstFirings(context.Background(), dir, rules, in)
	if err != nil {
		t.Fatal(err)
	}
	stretched := func(d time.Duration) time.Duration { return time.Duration(int64(d) * sloStretch) }
	for _, sev := range []string{"ticket", "page"} {
		a := sloAlert{"scaplock-k8s-api-availability", sev}
		at, ok := fired[a]
		if !ok {
			t.Errorf("%v never fired", a)
			continue
		}
		if at := stretched(at); at <= breaks || at > breaks+2*sloEvalEvery {
			t.Errorf("%v fired at %s (stretched), want within two evaluations after %s", a, at, breaks)
		}
	}
	for a := range fired {
		if a.slo != "scaplock-k8s-api-availability" {
			t.Errorf("%v fired with no deploy", a)
		}
	}
}

func TestMedianOf(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{1.8, 0.7, 1.1}, 1.1},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.xs), func(t *testing.T) {
			if got := medianOf(tt.xs); got != tt.want {
				t.Errorf("medianOf(%v) = %g, want %g", tt.xs, got, tt.want)
			}
		})
	}
}
