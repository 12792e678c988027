package lock

import (
	"reflect"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Every kind of hold becomes one reason with its fields; an overridden auto
// hold only advises.
func TestVerdictReasons(t *testing.T) {
	now := time.Date(2024, 5, 28, 12, 50, 0, 0, time.UTC)
	created := now.Add(-time.Minute)
	expires := now.Add(time.Hour)
	notBefore := now.Add(4 * time.Minute)
	atLatest := now.Add(9 * time.Minute)
	cpu := apiv1.SignalReading{Cluster: "eqiad", APIServer: "kubemaster1002.eqiad.wmnet:6443", Signal: apiv1.SignalCPU,
		Level: apiv1.LevelCrit, Value: 0.98, Limit: 0.9, Unit: apiv1.UnitRatio, Since: created}
	deploy := &apiv1.DeployRef{ID: "7f3a9c01", Owner: "alice", EndedAt: created}
	healthy := &apiv1.Clears{On: apiv1.ClearsOnHealthy, After: apiv1.Duration(time.Minute), Evaluations: 12, NotBefore: &notBefore}
	belowWarn := &apiv1.Clears{On: apiv1.ClearsOnBelowWarn, Evaluations: 2, AtLatest: &atLatest}
	tests := []struct {
		name string
		hold Hold
		want apiv1.Reason
	}{
		{"manual, with expiry",
			Hold{ID: "6ceb28975dd82b2e", Scope: "eqiad", Kind: KindManual, Owner: "bob", Reason: "NIC saturated", CreatedAt: created, ExpiresAt: &expires},
			apiv1.Reason{Kind: apiv1.ReasonManual, Scope: "eqiad", Refuses: true, HoldID: "6ceb28975dd82b2e", Holder: "bob", Reason: "NIC saturated",
				Since: created, Until: &expires, Clears: apiv1.Clears{On: apiv1.ClearsOnRelease}}},
		{"deploy",
			Hold{ID: "9a8b7c6d5e4f3a2b", Scope: "eqiad", Kind: KindDeploy, Owner: "alice", Reason: "sync", CreatedAt: created},
			apiv1.Reason{Kind: apiv1.ReasonDeploy, Scope: "eqiad", Refuses: true, HoldID: "9a8b7c6d5e4f3a2b", Holder: "alice", Reason: "sync",
				Since: created, Clears: apiv1.Clears{On: apiv1.ClearsOnDeployEnd}}},
		{"auto, with signals",
			Hold{ID: "auto-eqiad", Scope: "eqiad", Kind: KindAuto, Owner: "scaplock", Reason: "control plane degraded", CreatedAt: created,
				Details: []string{"prose for old replicas"}, Hint: "clears after 1m0s healthy", Signals: []apiv1.SignalReading{cpu}, Clears: healthy},
			apiv1.Reason{Kind: apiv1.ReasonAuto, Scope: "eqiad", Refuses: true, HoldID: "auto-eqiad", Holder: "scaplock", Reason: "control plane degraded",
				Since: created, Signals: []apiv1.SignalReading{cpu}, Clears: *healthy, Override: true}},
		{"cooldown",
			Hold{ID: "cooldown-eqiad", Scope: "eqiad", Kind: KindAuto, Owner: "scaplock", Reason: "eqiad is recovering from alice's deploy 7f3a",
				CreatedAt: created, Recovering: deploy, Clears: belowWarn},
			apiv1.Reason{Kind: apiv1.ReasonCooldown, Scope: "eqiad", Refuses: true, HoldID: "cooldown-eqiad", Holder: "scaplock",
				Reason: "eqiad is recovering from alice's deploy 7f3a", Since: created, Until: &atLatest, Deploy: deploy, Clears: *belowWarn, Override: true}},
		{"auto from a gate that wrote only prose",
			Hold{ID: "auto-eqiad", Scope: "eqiad", Kind: KindAuto, Owner: "scaplock", Reason: "control plane degraded", CreatedAt: created,
				Details: []string{"kubemaster1002:6443  CPU 98% (limit 90%)  for 45s"}, Hint: "clears after 1m0s healthy"},
			apiv1.Reason{Kind: apiv1.ReasonAuto, Scope: "eqiad", Refuses: true, HoldID: "auto-eqiad", Holder: "scaplock", Reason: "control plane degraded",
				Since: created, Notes: []string{"kubemaster1002:6443  CPU 98% (limit 90%)  for 45s"}, Clears: apiv1.Clears{Text: "clears after 1m0s healthy"}, Override: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide([]Hold{tt.hold}, []Scope{"eqiad"}, now).Reasons()
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("reasons\n got %+v\nwant [%+v]", got, tt.want)
			}
		})
	}

	t.Run("overridden auto hold advises, after the refusing ones", func(t *testing.T) {
		holds := []Hold{
			{ID: "auto-eqiad", Scope: "eqiad", Kind: KindAuto, Owner: "scaplock", Reason: "control plane degraded", CreatedAt: created, Clears: healthy},
			{ID: "0f1e2d3c4b5a6978", Scope: "eqiad", Kind: KindOverride, Owner: "effie", Reason: "revert", CreatedAt: created},
			{ID: "6ceb28975dd82b2e", Scope: "eqiad", Kind: KindManual, Owner: "bob", Reason: "NIC saturated", CreatedAt: created},
		}
		got := Decide(holds, []Scope{"eqiad"}, now).Reasons()
		if len(got) != 2 || got[0].HoldID != "6ceb28975dd82b2e" || !got[0].Refuses ||
			got[1].HoldID != "auto-eqiad" || got[1].Refuses || !got[1].Override {
			t.Errorf("reasons = %+v, want the manual hold refusing, then the overridden auto hold advising", got)
		}
	})
}
