package api

import (
	"maps"
	"slices"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
)

// advice is the load advice for a deploy to scopes: the gentlest of the
// clusters they touch (health.AdviseAll), nil when none is at warn.
func advice(snap lock.Snapshot, scopes []lock.Scope) *apiv1.Advice {
	var reports []apiv1.ClusterHealth
	for _, c := range slices.Sorted(maps.Keys(snap.Health)) {
		if slices.ContainsFunc(scopes, func(s lock.Scope) bool { return s.Covers(lock.Scope(c)) }) {
			reports = append(reports, snap.Health[c])
		}
	}
	return health.AdviseAll(reports)
}
