package lock_test

import (
	"fmt"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// Decide is the gate semantics as a pure function: here an SRE's override
// lifts the gate's auto hold on eqiad, but a manual hold on codfw still
// refuses a deploy there, and a fleet-wide deploy to global with it.
func ExampleDecide() {
	now := time.Date(2024, 5, 28, 13, 30, 0, 0, time.UTC)
	holds := []lock.Hold{
		{ID: "auto-eqiad", Scope: "eqiad", Kind: lock.KindAuto, Owner: "scaplock", Reason: "control plane degraded", CreatedAt: now.Add(-time.Hour)},
		{ID: "0f1e2d3c4b5a6978", Scope: "eqiad", Kind: lock.KindOverride, Owner: "effie", Reason: "emergency revert", CreatedAt: now.Add(-time.Minute)},
		{ID: "7f3a9b1c2d3e4f50", Scope: "codfw", Kind: lock.KindManual, Owner: "kamila", Reason: "etcd maintenance", CreatedAt: now.Add(-10 * time.Minute)},
	}
	for _, scope := range []lock.Scope{"eqiad", "codfw", "global"} {
		v := lock.Decide(holds, []lock.Scope{scope}, now)
		fmt.Printf("%s: allowed=%v (%s)\n", scope, v.Allowed, v.Summary())
	}
	// Output:
	// eqiad: allowed=true (allowed)
	// codfw: allowed=false (locked by kamila)
	// global: allowed=false (locked by kamila)
}

// A refusal's reasons are what a refused deployer reads, rendered by apiv1.
func ExampleVerdict_Reasons() {
	now := time.Date(2024, 5, 28, 13, 30, 0, 0, time.UTC)
	holds := []lock.Hold{{
		ID: "7f3a9b1c2d3e4f50", Scope: "global", Kind: lock.KindManual, Owner: "kamila",
		Reason: "kubemaster1002 NIC saturated, see T366094", CreatedAt: now.Add(-4 * time.Minute),
	}}
	v := lock.Decide(holds, []lock.Scope{"eqiad"}, now)
	fmt.Print(apiv1.RenderRefusal(v.Scopes, v.Reasons(), "http://scaplock.example/", now))
	// Output:
	// scaplock: deploys to eqiad are refused: locked by kamila
	//   global: "kubemaster1002 NIC saturated, see T366094", since 13:26:00 UTC (4m ago, hold 7f3a)
	//   status: http://scaplock.example/
}
