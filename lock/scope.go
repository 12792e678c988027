package lock

import (
	"slices"
	"strings"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

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

// KnownScopes is the set of scopes a Store accepts for new holds, deploys
// and preflight: global and the configured clusters. A typo'd scope must
// be an error, never a silent "allowed". The zero value accepts every
// well-formed scope (for tests and tools that embed a Store); scaplockd
// always configures one.
type KnownScopes struct {
	set  map[Scope]bool
	list []Scope // global first, then sorted
}

// NewKnownScopes is global plus scopes, in the order given (messages list
// them so); each must be a valid scope, repeats are dropped.
func NewKnownScopes(scopes ...Scope) (KnownScopes, error) {
	k := KnownScopes{set: map[Scope]bool{Global: true}, list: []Scope{Global}}
	for _, s := range scopes {
		if _, err := ParseScope(string(s)); err != nil {
			return KnownScopes{}, err
		}
		if !k.set[s] {
			k.set[s] = true
			k.list = append(k.list, s)
		}
	}
	return k, nil
}

// List is the known scopes, global first; nil when every scope is accepted.
func (k KnownScopes) List() []Scope { return slices.Clone(k.list) }

// Check returns nil if s is known, and otherwise a *FieldError on "scope"
// that lists the known ones.
func (k KnownScopes) Check(s Scope) error {
	if k.set == nil || k.set[s] {
		return nil
	}
	names := make([]string, len(k.list))
	for i, sc := range k.list {
		names[i] = string(sc)
	}
	return invalid("scope", "unknown scope %q (known: %s)", s, strings.Join(names, ", "))
}

// Parse is ParseScope followed by Check.
func (k KnownScopes) Parse(s string) (Scope, error) {
	sc, err := ParseScope(s)
	if err != nil {
		return "", err
	}
	return sc, k.Check(sc)
}
