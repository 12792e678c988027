package health

import (
	"fmt"
	"strings"
	"testing"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

func TestAdvise(t *testing.T) {
	report := func(sigs map[Signal]SignalState) apiv1.ClusterHealth {
		return apiv1.ClusterHealth{Cluster: "eqiad", Hosts: []HostState{
			{Host: host1, Signals: map[Signal]SignalState{SignalCPU: {Value: 0.4, Level: LevelOK, Warn: 0.8, Crit: 0.9}}},
			{Host: host2, Signals: sigs},
		}}
	}
	tests := []struct {
		name   string
		sigs   map[Signal]SignalState
		want   int // 0: no advice
		reason string
	}{
		{"below warn: no advice", map[Signal]SignalState{SignalCPU: {Value: 0.7, Level: LevelOK, Warn: 0.8, Crit: 0.9}}, 0, ""},
		{"just at warn: half of scap's 20", map[Signal]SignalState{SignalCPU: {Value: 0.8, Level: LevelWarn, Warn: 0.8, Crit: 0.9}}, 10,
			"eqiad: CPU 80% on kubemaster1002:6443 (warn 80%, crit 90%), 100% of the headroom left"},
		{"halfway to crit: a quarter", map[Signal]SignalState{SignalCPU: {Value: 0.85, Level: LevelWarn, Warn: 0.8, Crit: 0.9}}, 5, "50% of the headroom left"},
		{"the signal with least headroom decides", map[Signal]SignalState{
			SignalCPU:     {Value: 0.82, Level: LevelWarn, Warn: 0.8, Crit: 0.9},
			SignalLatency: {Value: 0.9, Level: LevelWarn, Warn: 0.5, Crit: 1},
		}, 2, "readyz 900ms"},
		{"at crit (not yet tripped): the minimum", map[Signal]SignalState{SignalRetransmits: {Value: 1500, Level: LevelCrit, Warn: 500, Crit: 1000}}, MinConcurrency, "TCP retransmits 1500/s"},
		{"a failed readyz: the minimum", map[Signal]SignalState{SignalLatency: {Err: "timeout", Level: LevelCrit, Warn: 0.5, Crit: 1}}, MinConcurrency, "readyz failed on kubemaster1002:6443"},
		{"a source error is not advice", map[Signal]SignalState{SignalCPU: {Err: "refused", Level: LevelError, Warn: 0.8, Crit: 0.9}}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Advise(report(tt.sigs))
			if tt.want == 0 {
				if a != nil {
					t.Fatalf("advice %+v, want none", a)
				}
				return
			}
			if a == nil || a.Value != tt.want || a.Key != "k8s_max_concurrent_deployments_per_cluster" ||
				a.Define != fmt.Sprintf("-D k8s_max_concurrent_deployments_per_cluster:%d", tt.want) || !strings.Contains(a.Reason, tt.reason) {
				t.Fatalf("advice %+v, want %d because %q", a, tt.want, tt.reason)
			}
		})
	}
	calm := report(map[Signal]SignalState{SignalCPU: {Value: 0.5, Level: LevelOK, Warn: 0.8, Crit: 0.9}})
	busy := report(map[Signal]SignalState{SignalCPU: {Value: 0.85, Level: LevelWarn, Warn: 0.8, Crit: 0.9}})
	if a := AdviseAll([]apiv1.ClusterHealth{calm, busy}); a == nil || a.Value != 5 {
		t.Fatalf("AdviseAll = %+v, want the busy cluster's 5", a)
	}
	if a := AdviseAll([]apiv1.ClusterHealth{calm}); a != nil {
		t.Fatalf("AdviseAll of a calm cluster = %+v", a)
	}
}
