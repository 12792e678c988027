package lock

import "sort"

// holdIndex is the cache's holds, by id and by scope, so that a verdict
// reads only the holds that can cover its scopes: its cost does not grow
// with holds on other scopes.
type holdIndex struct {
	byID    map[string]Hold
	byScope map[Scope]map[string]Hold
}

func newHoldIndex() holdIndex {
	return holdIndex{byID: map[string]Hold{}, byScope: map[Scope]map[string]Hold{}}
}

func (x holdIndex) put(h Hold) {
	if old, ok := x.byID[h.ID]; ok && old.Scope != h.Scope {
		x.unscope(old)
	}
	x.byID[h.ID] = h
	m := x.byScope[h.Scope]
	if m == nil {
		m = map[string]Hold{}
		x.byScope[h.Scope] = m
	}
	m[h.ID] = h
}

func (x holdIndex) del(id string) {
	if old, ok := x.byID[id]; ok {
		x.unscope(old)
		delete(x.byID, id)
	}
}

func (x holdIndex) unscope(h Hold) {
	m := x.byScope[h.Scope]
	delete(m, h.ID)
	if len(m) == 0 {
		delete(x.byScope, h.Scope)
	}
}

// all is every hold, oldest first.
func (x holdIndex) all() []Hold {
	out := make([]Hold, 0, len(x.byID))
	for _, h := range x.byID {
		out = append(out, h)
	}
	sortByAge(out)
	return out
}

// covering is every hold that can cover a deploy to one of scopes (see
// Scope.Covers), oldest first: the holds on those scopes and on global,
// or every hold when global is among them.
func (x holdIndex) covering(scopes []Scope) []Hold {
	want := map[Scope]bool{Global: true}
	for _, s := range scopes {
		if s == Global {
			return x.all()
		}
		want[s] = true
	}
	var out []Hold
	for s := range want {
		for _, h := range x.byScope[s] {
			out = append(out, h)
		}
	}
	sortByAge(out)
	return out
}

func sortByAge(holds []Hold) {
	sort.Slice(holds, func(i, j int) bool {
		if !holds[i].CreatedAt.Equal(holds[j].CreatedAt) {
			return holds[i].CreatedAt.Before(holds[j].CreatedAt)
		}
		return holds[i].ID < holds[j].ID
	})
}
