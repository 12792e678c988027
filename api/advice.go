package api

import (
	"maps"
	"slices"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	hl "github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
)

// advice is the load advice for a deploy to scopes: the gentlest of the
// clusters they touch (health.AdviseAll over the gate's reports), nil when
// none is at warn.
func advice(health map[string]apiv1.ClusterHealth, scopes []lock.Scope) *apiv1.Advice {
	var reports []apiv1.ClusterHealth
	for _, c := range slices.Sorted(maps.Keys(health)) {
		if slices.ContainsFunc(scopes, func(s lock.Scope) bool { return s.Covers(lock.Scope(c)) }) {
			reports = append(reports, health[c])
		}
	}
	return hl.AdviseAll(reports)
}
