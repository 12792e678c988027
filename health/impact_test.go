package health

import (
	"math"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

func TestImpactTally(t *testing.T) {
	c := testCluster()
	rounds := [][]Sample{
		healthy(),
		with(smp(host1, SignalCPU, 0.85)), // CPU warn
		with(smp(host1, SignalCPU, 0.97), smp(host2, SignalLatency, 0.7)), // CPU crit, readyz warn
		with(smp(host2, SignalCPU, 0.95)),                                 // CPU crit on the other host
		healthy(),
	}
	var st State
	tally := NewImpactTally("eqiad", apiv1.DeployRef{ID: "7f3a9c", Owner: "alice"}, t0, step)
	for i, r := range rounds {
		st = Evaluate(st, r, c, t0.Add(time.Duration(i+1)*step))
		tally.Add(st)
	}
	imp := tally.Impact()
	cpu, lat := imp.Signals[SignalCPU], imp.Signals[SignalLatency]
	if cpu.Peak != 0.97 || cpu.SecondsAboveWarn != 15 || cpu.SecondsAboveCrit != 10 {
		t.Errorf("cpu %+v, want peak 0.97, 15 s above warn, 10 s above crit", cpu)
	}
	if lat.Peak != 0.7 || lat.SecondsAboveWarn != 5 || lat.SecondsAboveCrit != 0 {
		t.Errorf("readyz %+v, want peak 0.7, 5 s above warn", lat)
	}
	if imp.SecondsAboveWarn != 15 || !imp.To.Equal(t0.Add(5*step)) {
		t.Errorf("above warn %v to %s, want 15 s to %s", imp.SecondsAboveWarn, imp.To, t0.Add(5*step))
	}
	if got := ImpactSummary(imp); !strings.Contains(got, "alice's deploy 7f3a: peak readyz 700ms, CPU 97%") || !strings.Contains(got, "15s above warn, 10s above crit") {
		t.Errorf("summary %q", got)
	}
	// A gap (a leader change) counts as at most one interval.
	st = Evaluate(st, with(smp(host1, SignalCPU, 0.85)), c, t0.Add(time.Hour))
	tally.Add(st)
	if got := tally.Impact().SecondsAboveWarn; got != 20 {
		t.Errorf("after a one-hour gap: %v s above warn, want 20", got)
	}
}

func TestTrend(t *testing.T) {
	since := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	imp := func(cluster string, day int, cpuWarn, latWarn, peakCPU float64) DeployImpact {
		return DeployImpact{
			Cluster: cluster, From: since.Add(time.Duration(day) * 24 * time.Hour),
			SecondsAboveWarn: math.Max(cpuWarn, latWarn),
			Signals: map[Signal]SignalImpact{
				SignalCPU:     {Peak: peakCPU, SecondsAboveWarn: cpuWarn},
				SignalLatency: {Peak: 0.3, SecondsAboveWarn: latWarn},
			},
		}
	}
	impacts := []DeployImpact{
		imp("eqiad", 0, 10, 0, 0.85), imp("eqiad", 1, 12, 0, 0.86), imp("eqiad", 2, 14, 0, 0.88),
		imp("eqiad", 8, 20, 5, 0.9),
		imp("eqiad", 22, 30, 0, 0.95), imp("eqiad", 23, 35, 0, 0.97), imp("eqiad", 24, 40, 10, 0.99),
		imp("codfw", 3, 5, 0, 0.6), imp("codfw", 24, 6, 0, 0.62),
		imp("eqiad", 40, 99, 0, 1), // after until: left out
	}
	r := Trend(impacts, since, since.Add(28*24*time.Hour), Week, DefaultHeadroom)
	if len(r.Clusters) != 2 || r.Clusters[0].Cluster != "codfw" || r.Clusters[1].Cluster != "eqiad" {
		t.Fatalf("clusters %+v", r.Clusters)
	}
	eqiad := r.Clusters[1]
	if len(eqiad.Periods) != 4 || eqiad.Periods[0].Deploys != 3 || eqiad.Periods[2].Deploys != 0 || eqiad.Periods[3].Deploys != 3 {
		t.Fatalf("eqiad periods %+v", eqiad.Periods)
	}
	w0, w3 := eqiad.Periods[0], eqiad.Periods[3]
	if w0.CPUAboveWarn != (apiv1.Quantiles{P50: 12, P90: 14}) || w3.PeakCPU != (apiv1.Quantiles{P50: 0.97, P90: 0.99}) {
		t.Errorf("week 0 cpu above warn %+v, week 3 peak cpu %+v", w0.CPUAboveWarn, w3.PeakCPU)
	}
	if want := "eqiad deploys now spend a median 35s above CPU warn (headroom 20s), up from 12s 3 weeks ago"; eqiad.Flag != want {
		t.Errorf("eqiad flag %q\nwant %q", eqiad.Flag, want)
	}
	if r.Clusters[0].Flag != "" {
		t.Errorf("codfw flagged: %q", r.Clusters[0].Flag)
	}
	if got := Trend(impacts, since, since.Add(7*24*time.Hour), Week, DefaultHeadroom).Clusters[1].Flag; got != "" {
		t.Errorf("the first week alone is flagged: %q", got)
	}
}
