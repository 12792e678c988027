package contrib

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The incident's shape, week by week: every MediaWiki deploy pushes the
// apiservers' readyz past its warn limit for a while, longer each week as
// their CPU saturates, and deploys take longer (3.5 -> 7 minutes); in the
// fourth week helmfile starts to time out and deploys fail.
var creep = []struct {
	slowMinutes   float64 // of each deploy, readyz at or above warn
	deployMinutes float64
}{
	{0.5, 3.5},
	{1.5, 4.5},
	{3, 6},
	{5, 7},
}

const (
	replayStep       = 15 * time.Minute
	probesPerStep    = 180 // one apiserver probed every 5 s
	firstDeployHour  = 9   // eight deploys a day, 09:00 to 16:00 UTC, each on the hour
	deploysPerDay    = 8
	firstFailedDay   = 23 // days from the start: the fourth week's third day
	replayDays       = 28
	week             = 7 * 24 * time.Hour
	incidentTestFile = "incident.test.yaml"
)

// counter renders per-step increments as promtool's expanding notation,
// each run of equal increments one segment.
func counter(incs []int) string {
	var b strings.Builder
	v := 0
	fmt.Fprintf(&b, "%d", v)
	for i := 0; i < len(incs); {
		j := i
		for j < len(incs) && incs[j] == incs[i] {
			j++
		}
		d, n := incs[i], j-i
		fmt.Fprintf(&b, " %d+%dx%d", v+d, d, n-1)
		v += d * n
		i = j
	}
	return b.String()
}

// replaySeries are the probe and deploy counters of the creep, one sample
// per replayStep.
func replaySeries() (good, slow, succeeded, failed []int) {
	steps := int(replayDays * 24 * time.Hour / replayStep)
	good, slow, succeeded, failed = make([]int, steps), make([]int, steps), make([]int, steps), make([]int, steps)
	for i := range steps {
		at := time.Duration(i) * replayStep
		day, inDay := int(at/(24*time.Hour)), at%(24*time.Hour)
		c := creep[min(day/7, len(creep)-1)]
		good[i] = probesPerStep
		start := time.Duration(firstDeployHour) * time.Hour
		if inDay < start || inDay >= start+deploysPerDay*time.Hour {
			continue
		}
		sinceDeploy := (inDay - start) % time.Hour
		// The slow minutes come at the deploy's start: its burst.
		slowHere := max(0, min(replayStep.Minutes(), c.slowMinutes-sinceDeploy.Minutes()))
		slow[i] = int(slowHere * probesPerStep / replayStep.Minutes())
		good[i] -= slow[i]
		if sinceDeploy == 0 {
			if day >= firstFailedDay {
				failed[i] = 1
			} else {
				succeeded[i] = 1
			}
		}
	}
	return good, slow, succeeded, failed
}

// TestSLOIncidentReplay replays the incident's creep through the generated
// SLO rules with promtool: the availability SLO's ticket fires more than a
// week before the first failed deploy, and nothing fires in the first week.
func TestSLOIncidentReplay(t *testing.T) {
	good, slow, succeeded, failed := replaySeries()
	firstFailure := time.Duration(firstFailedDay)*24*time.Hour + firstDeployHour*time.Hour
	ticket := `ALERTS{alertname="ScaplockSLOBudgetBurn",slo="scaplock-k8s-api-availability",severity="ticket",alertstate="firing"}`
	since := func(d time.Duration) string { return fmt.Sprintf("%dm", int(d.Minutes())) }
	rules, err := filepath.Abs("prometheus/scaplock-slo.rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	test := fmt.Sprintf(`rule_files:
  - %s
evaluation_interval: 30m
tests:
  - name: incident creep
    interval: 15m
    input_series:
      - series: 'scaplock_apiserver_probes_total{cluster="eqiad",apiserver="kubemaster1002:6443",result="good"}'
        values: '%s'
      - series: 'scaplock_apiserver_probes_total{cluster="eqiad",apiserver="kubemaster1002:6443",result="slow"}'
        values: '%s'
      - series: 'scaplock_deploys_total{scope="global",outcome="succeeded"}'
        values: '%s'
      - series: 'scaplock_deploys_total{scope="global",outcome="failed"}'
        values: '%s'
    promql_expr_test:
      # The first week: deploys burst for 30 s; no alert.
      - expr: count(max_over_time(%s[%s])) or vector(0)
        eval_time: %s
        exp_samples:
          - value: 0
      # Before the first failed deploy, a ticket has fired, and at least a
      # week before it.
      - expr: (%d - min(min_over_time(timestamp(%s)[%s:30m]))) >= bool %d
        eval_time: %s
        exp_samples:
          - value: 1
      # No deploy had failed by then.
      - expr: count(scaplock_deploys_total{outcome="failed"} > 0) or vector(0)
        eval_time: %s
        exp_samples:
          - value: 0
      # ... and the replay does fail deploys after it.
      - expr: count(scaplock_deploys_total{outcome="failed"} > 0) or vector(0)
        eval_time: %s
        exp_samples:
          - value: 1
`, rules, counter(good), counter(slow), counter(succeeded), counter(failed),
		ticket, since(week), since(week),
		int(firstFailure.Seconds()), ticket, since(firstFailure-replayStep), int(week.Seconds()), since(firstFailure-replayStep),
		since(firstFailure-replayStep), since(firstFailure+time.Hour))
	dir := t.TempDir()
	if d := os.Getenv("SLO_REPLAY_DIR"); d != "" {
		dir = d
	}
	if err := os.WriteFile(filepath.Join(dir, incidentTestFile), []byte(test), 0o600); err != nil {
		t.Fatal(err)
	}
	promtool(t, dir, "test", "rules", incidentTestFile)
}

func TestCounterNotation(t *testing.T) {
	tests := []struct {
		incs []int
		want string
	}{
		{[]int{1, 1, 1}, "0 1+1x2"},
		{[]int{180, 180, 144, 0, 0}, "0 180+180x1 504+144x0 504+0x1"},
		{nil, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := counter(tt.incs); got != tt.want {
				t.Errorf("counter(%v) = %q, want %q", tt.incs, got, tt.want)
			}
		})
	}
}
