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
	for _, c := range touched(health, scopes) {
		if slices.ContainsFunc(scopes, func(s lock.Scope) bool { return s.Covers(lock.Scope(c)) }) {
			reports = append(reports, health[c])
		}
	}
	return hl.AdviseAll(reports)
}

// touched are the clusters with a report that scopes may cover, sorted.
// Only global covers every cluster; any other scope covers the cluster of
// its own name (and one named global), so a scope's advice costs what it
// touches, not what the fleet has: status asks it for every scope.
func touched(health map[string]apiv1.ClusterHealth, scopes []lock.Scope) []string {
	if slices.Contains(scopes, lock.Global) {
		return slices.Sorted(maps.Keys(health))
	}
	names := []string{string(lock.Global)}
	for _, s := range scopes {
		names = append(names, string(s))
	}
	slices.Sort(names)
	return slices.DeleteFunc(slices.Compact(names), func(c string) bool {
		_, ok := health[c]
		return !ok
	})
}
