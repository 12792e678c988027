package lock

import (
	"regexp"
)

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

// overlaps reports whether two exclusive deploys on a and b would collide.
func overlaps(a, b Scope) bool {
	return a.Covers(b)
}
