package gate

import (
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

func TestDecideRecovery(t *testing.T) {
	t0 := time.Date(2024, 5, 28, 12, 23, 0, 0, time.UTC)
	deploy := lock.Hold{ID: "7f3a9c", Owner: "alice", Kind: lock.KindDeploy, Scope: "eqiad", CreatedAt: t0.Add(-time.Minute)}
	later := lock.Hold{ID: "b2c4d6", Owner: "bob", Kind: lock.KindDeploy, Scope: "eqiad", CreatedAt: t0.Add(-10 * time.Second)}
	cooling := &apiv1.DeployRef{ID: "7f3a9c", Owner: "alice", EndedAt: t0}
	above := []apiv1.SignalReading{{Cluster: "eqiad", APIServer: "kubemaster1001.eqiad.wmnet:6443", Signal: apiv1.SignalCPU,
		Level: apiv1.LevelWarn, Value: 0.97, Limit: 0.8, Unit: apiv1.UnitRatio, Since: t0.Add(-12 * time.Second)}}
	const max = 10 * time.Minute

	tests := []struct {
		name    string
		in      recoveryInput
		at      time.Duration
		want    recoveryStep
		deploy  string
		whyHas  string
		endedAt time.Duration
	}{
		{name: "no deploy, healthy", in: recoveryInput{BelowWarnFor: 30, Max: max}, want: recoveryNone},
		{name: "no deploy ended, above warn: the gate's trip rule decides, not this one", in: recoveryInput{AboveWarn: above, Max: max}, want: recoveryNone},
		{name: "a deploy ends in a settled cluster: nothing to wait for", in: recoveryInput{Ended: []lock.Hold{deploy}, BelowWarnFor: CooldownSettle, Max: max}, want: recoveryNone},
		{name: "a deploy ends above warn: cooldown", in: recoveryInput{Ended: []lock.Hold{deploy}, AboveWarn: above, Max: max},
			want: recoveryStart, deploy: "7f3a9c"},
		{name: "a deploy ends on one lucky sample below warn: cooldown", in: recoveryInput{Ended: []lock.Hold{deploy}, BelowWarnFor: 1, Max: max},
			want: recoveryStart, deploy: "7f3a9c"},
		{name: "two deploys end at once: the later one is named", in: recoveryInput{Ended: []lock.Hold{deploy, later}, AboveWarn: above, Max: max},
			want: recoveryStart, deploy: "b2c4d6"},
		{name: "still above warn: keep it", in: recoveryInput{Cooling: cooling, AboveWarn: above, Max: max}, at: 30 * time.Second,
			want: recoveryRefresh, deploy: "7f3a9c"},
		{name: "below warn once: keep it", in: recoveryInput{Cooling: cooling, BelowWarnFor: 1, Max: max}, at: 40 * time.Second,
			want: recoveryRefresh, deploy: "7f3a9c"},
		{name: "below warn for CooldownSettle evaluations: release", in: recoveryInput{Cooling: cooling, BelowWarnFor: CooldownSettle, Max: max}, at: 45 * time.Second,
			want: recoveryEnd, deploy: "7f3a9c", whyHas: "every signal below warn 45s after alice's deploy 7f3a ended"},
		{name: "cooldown_max passed: release though above warn", in: recoveryInput{Cooling: cooling, AboveWarn: above, Max: max}, at: max,
			want: recoveryEnd, deploy: "7f3a9c", whyHas: "cooldown_max 10m reached after alice's deploy 7f3a; still above warn: kubemaster1001:6443 CPU 97% (warn 80%)"},
		{name: "just before cooldown_max: keep it", in: recoveryInput{Cooling: cooling, AboveWarn: above, Max: max}, at: max - time.Second,
			want: recoveryRefresh, deploy: "7f3a9c"},
		{name: "another deploy ends during a cooldown: it takes over", in: recoveryInput{Cooling: cooling, Ended: []lock.Hold{later}, AboveWarn: above, Max: max},
			at: time.Minute, want: recoveryStart, deploy: "b2c4d6", endedAt: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decideRecovery(tt.in, t0.Add(tt.at))
			if got.Step != tt.want {
				t.Fatalf("step = %d, want %d (%+v)", got.Step, tt.want, got)
			}
			if tt.deploy != "" && got.Deploy.ID != tt.deploy {
				t.Errorf("deploy = %s, want %s", got.Deploy.ID, tt.deploy)
			}
			if tt.want == recoveryStart && !got.Deploy.EndedAt.Equal(t0.Add(tt.endedAt)) {
				t.Errorf("ended at %s, want %s", got.Deploy.EndedAt, t0.Add(tt.endedAt))
			}
			if !strings.Contains(got.Why, tt.whyHas) {
				t.Errorf("why = %q, want it to contain %q", got.Why, tt.whyHas)
			}
		})
	}
}

func TestEndedAndCoveringDeploys(t *testing.T) {
	now := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	holds := []lock.Hold{
		{ID: "a", Kind: lock.KindDeploy, Scope: "eqiad", CreatedAt: now},
		{ID: "b", Kind: lock.KindDeploy, Scope: "codfw", CreatedAt: now},
		{ID: "c", Kind: lock.KindDeploy, Scope: lock.Global, CreatedAt: now},
		{ID: "d", Kind: lock.KindManual, Scope: "eqiad", CreatedAt: now},
	}
	got := deploysCovering(holds, "eqiad", now)
	if len(got) != 2 || got["a"].ID != "a" || got["c"].ID != "c" {
		t.Fatalf("covering eqiad = %v, want a and c", got)
	}
	ended := endedDeploys(got, map[string]lock.Hold{"c": holds[2]})
	if len(ended) != 1 || ended[0].ID != "a" {
		t.Fatalf("ended = %v, want a", ended)
	}
}

func TestAutoHoldNeeded(t *testing.T) {
	tests := []struct {
		name                            string
		degraded, aware, absorbed, crit bool
		need, absorbedNext              bool
	}{
		{name: "healthy", need: false, absorbedNext: false},
		{name: "degraded, no deploy: hold", degraded: true, crit: true, need: true},
		{name: "degraded while recovering, not crit: hold", degraded: true, need: true},
		{name: "degraded during a deploy or its cooldown: the cooldown answers", degraded: true, aware: true, crit: true, absorbedNext: true},
		{name: "answered trip after the cooldown, below crit: no hold", degraded: true, absorbed: true, absorbedNext: true},
		{name: "answered trip, a host back at crit: hold", degraded: true, absorbed: true, crit: true, need: true},
		{name: "recovered: the answer is forgotten", absorbed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			need, next := autoHoldNeeded(tt.degraded, tt.aware, tt.absorbed, tt.crit)
			if need != tt.need || next != tt.absorbedNext {
				t.Errorf("need %v absorbed %v, want %v %v", need, next, tt.need, tt.absorbedNext)
			}
		})
	}
}
