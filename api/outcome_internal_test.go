package api

import (
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

func TestPeakLevels(t *testing.T) {
	start := time.Date(2024, 5, 28, 12, 15, 0, 0, time.UTC)
	limits := apiv1.SignalHealth{Warn: 0.8, Crit: 0.9}
	report := func(cluster string) apiv1.ClusterHealth {
		return apiv1.ClusterHealth{Cluster: cluster, Hosts: []apiv1.HostHealth{{Host: "m1:6443", Signals: map[apiv1.Signal]apiv1.SignalHealth{apiv1.SignalCPU: limits}}}}
	}
	reports := map[string]apiv1.ClusterHealth{"eqiad": report("eqiad"), "codfw": report("codfw")}
	points := func(vs ...float64) []apiv1.Point {
		var out []apiv1.Point
		for i, v := range vs {
			// The first point is before the deploy began.
			out = append(out, apiv1.Point{At: start.Add(time.Duration(i-1) * 5 * time.Second), Value: v})
		}
		return out
	}
	samples := map[string]map[string]map[apiv1.Signal][]apiv1.Point{
		"eqiad": {"m1:6443": {apiv1.SignalCPU: points(0.99, 0.5, 0.85, 0.6)}},
		"codfw": {"m1:6443": {apiv1.SignalCPU: points(0.95, 0.3, 0.4)}},
	}
	tests := []struct {
		scope lock.Scope
		want  map[string]apiv1.Level
	}{
		{"eqiad", map[string]apiv1.Level{"eqiad": apiv1.LevelWarn}}, // the crit sample came before the deploy
		{"global", map[string]apiv1.Level{"eqiad": apiv1.LevelWarn, "codfw": apiv1.LevelOK}},
		{"drmrs", nil}, // no report: unknown, not ok
	}
	for _, tt := range tests {
		t.Run(string(tt.scope), func(t *testing.T) {
			got := peakLevels(lock.Hold{Scope: tt.scope, CreatedAt: start}, reports, samples)
			if len(got) != len(tt.want) {
				t.Fatalf("peaks %v, want %v", got, tt.want)
			}
			for c, l := range tt.want {
				if got[c] != l {
					t.Errorf("peaks %v, want %v", got, tt.want)
				}
			}
		})
	}
}
