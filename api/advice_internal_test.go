package api

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	hl "github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
)

// advice reads only the reports its scopes may cover, and answers what
// reading every report through Scope.Covers would.
func TestAdviceReadsOnlyTouchedClusters(t *testing.T) {
	health := map[string]apiv1.ClusterHealth{}
	for i, cpu := range []float64{0.2, 0.85, 0.95, 0.5, 0.9} {
		c := fmt.Sprintf("c%d", i)
		health[c] = apiv1.ClusterHealth{Cluster: c, Hosts: []apiv1.HostHealth{{Host: c + "-master:6443", Signals: map[apiv1.Signal]apiv1.SignalHealth{
			apiv1.SignalCPU: {Value: cpu, Level: level(cpu), Warn: 0.8, Crit: 1},
		}}}}
	}
	everything := func(scopes []lock.Scope) *apiv1.Advice {
		var reports []apiv1.ClusterHealth
		for _, c := range slices.Sorted(maps.Keys(health)) {
			if slices.ContainsFunc(scopes, func(s lock.Scope) bool { return s.Covers(lock.Scope(c)) }) {
				reports = append(reports, health[c])
			}
		}
		return hl.AdviseAll(reports)
	}
	for _, tc := range []struct {
		scopes  []lock.Scope
		touched []string
		advised bool
	}{
		{[]lock.Scope{"c0"}, []string{"c0"}, false},
		{[]lock.Scope{"c1"}, []string{"c1"}, true},
		{[]lock.Scope{"c1", "c2", "nowhere"}, []string{"c1", "c2"}, true},
		{[]lock.Scope{"c3", "c1"}, []string{"c1", "c3"}, true},
		{[]lock.Scope{lock.Global}, []string{"c0", "c1", "c2", "c3", "c4"}, true},
		{[]lock.Scope{"c0", lock.Global}, []string{"c0", "c1", "c2", "c3", "c4"}, true},
	} {
		t.Run(fmt.Sprint(tc.scopes), func(t *testing.T) {
			if got := touched(health, tc.scopes); !slices.Equal(got, tc.touched) {
				t.Errorf("touched = %v, want %v", got, tc.touched)
			}
			got, want := advice(health, tc.scopes), everything(tc.scopes)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("advice = %+v, reading every report: %+v", got, want)
			}
			if (got != nil) != tc.advised {
				t.Errorf("advice = %+v, want advice: %v", got, tc.advised)
			}
		})
	}
}

func level(cpu float64) apiv1.Level {
	switch {
	case cpu >= 1:
		return apiv1.LevelCrit
	case cpu >= 0.8:
		return apiv1.LevelWarn
	}
	return apiv1.LevelOK
}
