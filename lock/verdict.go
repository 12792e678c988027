package lock

import (
	"sort"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Verdict answers "may I deploy to these scopes now?".
type Verdict struct {
	Allowed bool    `json:"allowed"`
	Scopes  []Scope `json:"scopes"`
	// Blocking are the holds that refuse the deploy, most serious first.
	Blocking []Hold `json:"holds"`
	// Overridden are auto holds that do not count because of an override.
	Overridden []Hold `json:"overridden,omitempty"`
	// Overrides are the active overrides covering the scopes.
	Overrides []Hold `json:"overrides,omitempty"`
	// Windows are the deployment windows that refuse the deploy
	// (ApplyWindows); OverriddenWindows would, but for an override.
	Windows           []WindowRefusal `json:"windows,omitempty"`
	OverriddenWindows []WindowRefusal `json:"overridden_windows,omitempty"`
	// Revision is the etcd revision the verdict reflects.
	Revision int64 `json:"revision"`
	// LastConfirmed is set when etcd could not confirm the verdict: it is
	// the replica's cache, which etcd last confirmed then (see
	// Store.KnownRefusal). Zero for a confirmed verdict.
	LastConfirmed time.Time `json:"-"`
}

// Decide is the gate semantics as a pure function: a deploy to scopes is
// allowed iff no active hold covers any of them. Overrides make auto holds
// in their scope not count; manual and deploy holds always count.
func Decide(holds []Hold, scopes []Scope, now time.Time) Verdict {
	v := Verdict{Scopes: scopes}
	covers := func(h Hold) bool {
		for _, s := range scopes {
			if h.Scope.Covers(s) {
				return true
			}
		}
		return false
	}
	var overrides []Hold
	for _, h := range holds {
		if h.Kind == KindOverride && h.Active(now) && covers(h) {
			overrides = append(overrides, h)
		}
	}
	overridden := func(h Hold) bool {
		for _, s := range scopes {
			if !h.Scope.Covers(s) {
				continue
			}
			lifted := false
			for _, o := range overrides {
				if o.Scope.Covers(s) && o.Scope.Covers(h.Scope) {
					lifted = true
				}
			}
			if !lifted {
				return false
			}
		}
		return true
	}
	for _, h := range holds {
		if h.Kind == KindOverride || !h.Active(now) || !covers(h) {
			continue
		}
		if h.Kind == KindAuto && overridden(h) {
			v.Overridden = append(v.Overridden, h)
			continue
		}
		v.Blocking = append(v.Blocking, h)
	}
	sortHolds(v.Blocking)
	v.Overrides = overrides
	v.Allowed = len(v.Blocking) == 0
	return v
}

var kindRank = map[Kind]int{KindAuto: 0, KindManual: 1, KindDeploy: 2, KindOverride: 3}

// sortHolds orders holds most serious first, then oldest first. Among auto
// holds the cooldown comes first: a deploy's own burst is the cause a
// deployer can act on (wait for it), whatever else it tripped.
func sortHolds(hs []Hold) {
	sort.SliceStable(hs, func(i, j int) bool {
		if kindRank[hs[i].Kind] != kindRank[hs[j].Kind] {
			return kindRank[hs[i].Kind] < kindRank[hs[j].Kind]
		}
		if ri, rj := hs[i].Recovering != nil, hs[j].Recovering != nil; ri != rj {
			return ri
		}
		return hs[i].CreatedAt.Before(hs[j].CreatedAt)
	})
}

// Summary is the short why of a refusal, e.g. "control plane degraded".
func (v Verdict) Summary() string { return apiv1.Summary(v.Reasons()) }
