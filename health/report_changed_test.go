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
	// A value moving at crit is not a change either: a degraded cluster's
	// values move every round, and a full report each time was most of
	// the event stream. They travel as samples, which status and the page
	// show over the report (gate.View, app.js withSamples).
	critAt := func(v float64) apiv1.ClusterHealth {
		r := base()
		r.Hosts[0].Signals[SignalCPU] = SignalState{Value: v, Level: LevelCrit, Warn: 0.75, Crit: 0.9}
		return r
	}
	if ReportChanged(critAt(0.99), critAt(0.92)) {
		t.Errorf("a value at crit going from 99%% to 92%% is a report change; want it left to the samples")
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

// Samples keep three significant digits, and more where fewer would read
// otherwise than the measured value: status shows them beside the auto
// hold's unrounded values, which preflight shows.
func TestRoundSamplesReadAsTheMeasuredValue(t *testing.T) {
	now := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		sig      Signal
		in, want float64
	}{
		{SignalCPU, 0.041234567, 0.0412},
		{SignalCPU, 0.31256, 0.313},
		{SignalCPU, 0.9649, 0.9649}, // 0.965 would read 97%, not 96%
		{SignalNIC, 0.96171, 0.962},
		{SignalRetransmits, 5667.0517, 5667}, // 5670 would read 5670/s
		{SignalRetransmits, 15.0, 15},
		{SignalRetransmits, 0, 0},
		{SignalLatency, 0.86749, 0.867},
		{SignalLatency, 0.9996, 0.9996}, // 1 would read 1s, not 1000ms
		{SignalLatency, 4.249, 4.249},   // 4.25 would read 4.3s
		{SignalLatency, 1.2345e-5, 1.23e-5},
	} {
		t.Run(string(c.sig)+"/"+strconv.FormatFloat(c.in, 'g', -1, 64), func(t *testing.T) {
			got := RoundSamples("eqiad", []Sample{{Host: "a:6443", Signal: c.sig, Value: c.in}}, now)
			v := got.Hosts[0].Values[c.sig]
			if v != c.want {
				t.Errorf("published %v, want %v", v, c.want)
			}
			if apiv1.FormatValue(c.sig, v) != apiv1.FormatValue(c.sig, c.in) {
				t.Errorf("published %v reads %s; the measured %v reads %s", v, apiv1.FormatValue(c.sig, v), c.in, apiv1.FormatValue(c.sig, c.in))
			}
		})
	}
}
