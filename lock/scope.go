package lock

import apiv1 "github.com/scaplock/scaplock/api/v1"

// ParseScope validates s as a scope.
func ParseScope(s string) (Scope, error) {
	if s == "" {
		return "", invalid("scope", "is required")
	}
	if !apiv1.ValidScopeName(s) {
		return "", invalid("scope", "%q is not a scope: use \"global\" or a cluster name matching %s", s, apiv1.ScopeSyntax)
	}
	return Scope(s), nil
}

// overlaps reports whether two exclusive deploys on a and b would collide.
func overlaps(a, b Scope) bool {
	return a.Covers(b)
}
