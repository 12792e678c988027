package lock

import (
	"regexp"
)

// Scope is what a hold covers: "global" or a cluster name.
type Scope string

// Global covers every scope.
const Global Scope = "global"

var scopePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ParseScope validates s as a scope.
func ParseScope(s string) (Scope, error) {
	if s == "" {
		return "", invalid("scope", "is required")
	}
	if !scopePattern.MatchString(s) {
		return "", invalid("scope", "%q is not a scope: use \"global\" or a cluster name matching [a-z0-9][a-z0-9-]{0,62}", s)
	}
	return Scope(s), nil
}

// Covers reports whether a hold on s stops deploys to target: a global
// hold stops every deploy, and a deploy to global (scap sync-world) touches
// every cluster, so any hold stops it.
func (s Scope) Covers(target Scope) bool {
	return s == Global || target == Global || s == target
}

// overlaps reports whether two exclusive deploys on a and b would collide.
func (s Scope) overlaps(other Scope) bool {
	return s.Covers(other)
}
