package health

import (
	"strconv"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

func TestReportChanged(t *testing.T) {
	at := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	base := func() apiv1.ClusterHealth {
		return apiv1.ClusterHealth{Status: StatusOK, Since: at, Hosts: []HostState{{Host: "a:6443", Signals: map[Signal]SignalState{
			SignalCPU: {Value: 0.4, Level: LevelOK, Warn: 0.75, Crit: 0.9, At: at},
		}}}}
	}
	cases := []struct {
		name   string
		change func(*apiv1.ClusterHealth)
		want   bool
	}{
		{"nothing", func(*apiv1.ClusterHealth) {}, false},
		{"a value within its level", func(r *apiv1.ClusterHealth) {
			r.Hosts[0].Signals[SignalCPU] = SignalState{Value: 0.5, Level: LevelOK, Warn: 0.75, Crit: 0.9, At: at.Add(time.Second)}
		}, false},
		{"streaks and time", func(r *apiv1.ClusterHealth) {
			r.ClearStreak, r.UpdatedAt, r.Reason = 4, at.Add(time.Minute), "all fine"
		}, false},
		{"a level", func(r *apiv1.ClusterHealth) {
			r.Hosts[0].Signals[SignalCPU] = SignalState{Value: 0.8, Level: LevelWarn, Warn: 0.75, Crit: 0.9}
		}, true},
		{"an error", func(r *apiv1.ClusterHealth) {
			r.Hosts[0].Signals[SignalCPU] = SignalState{Level: LevelOK, Err: "x", Warn: 0.75, Crit: 0.9}
		}, true},
		{"a new signal", func(r *apiv1.ClusterHealth) { r.Hosts[0].Signals[SignalNIC] = SignalState{Level: LevelOK} }, true},
		{"a new host", func(r *apiv1.ClusterHealth) { r.Hosts = append(r.Hosts, HostState{Host: "b:6443"}) }, true},
		{"the status", func(r *apiv1.ClusterHealth) { r.Status = StatusDegraded }, true},
		{"tripped again", func(r *apiv1.ClusterHealth) { r.TrippedAt = at }, true},
	}
	// The demo's "CPU 99%" under kubemaster1001 in status while preflight
	// showed it on 1002: 1001 stayed at crit while its CPU fell from 99% to
	// 92%, so the report (and its reason) kept 99% until the heartbeat,
	// while the hold, refreshed every round, said the current values.
	critAt := func(v float64) apiv1.ClusterHealth {
		r := base()
		r.Hosts[0].Signals[SignalCPU] = SignalState{Value: v, Level: LevelCrit, Warn: 0.75, Crit: 0.9}
		return r
	}
	if ReportChanged(critAt(0.99), critAt(0.92)) != true || ReportChanged(critAt(0.981), critAt(0.984)) != false {
		t.Errorf("a value at crit: 99%% to 92%% must be a change, 98%% to 98%% must not")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next := base()
			c.change(&next)
			if got := ReportChanged(base(), next); got != c.want {
				t.Errorf("ReportChanged = %t, want %t", got, c.want)
			}
		})
	}
}

func TestRoundSamplesLeavesOutFailedSources(t *testing.T) {
	now := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	got := RoundSamples("eqiad", []Sample{
		{Host: "a:6443", Signal: SignalLatency, Value: 2, Err: "timeout"}, // a failed readyz is measured
		{Host: "a:6443", Signal: SignalCPU, Err: "scrape failed"},
		{Host: "b:6443", Signal: SignalCPU, Value: 0.5},
	}, now)
	if len(got.Hosts) != 2 || got.Hosts[0].Values[SignalLatency] != 2 || len(got.Hosts[0].Values) != 1 || got.Hosts[1].Values[SignalCPU] != 0.5 || !got.At.Equal(now) {
		t.Fatalf("RoundSamples = %+v", got)
	}
}

func TestRoundSamplesKeepsThreeSignificantDigits(t *testing.T) {
	now := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct{ in, want float64 }{
		{0.041234567, 0.0412}, {0.31256, 0.313}, {6012.4, 6010}, {15.0, 15}, {0, 0}, {1.2345e-5, 1.23e-5},
	} {
		t.Run(strconv.FormatFloat(c.in, 'g', -1, 64), func(t *testing.T) {
			got := RoundSamples("eqiad", []Sample{{Host: "a:6443", Signal: SignalCPU, Value: c.in}}, now)
			if v := got.Hosts[0].Values[SignalCPU]; v != c.want {
				t.Errorf("published %v, want %v", v, c.want)
			}
		})
	}
}
