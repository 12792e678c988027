package lock

import (
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	now := time.Date(2024, 5, 28, 13, 0, 0, 0, time.UTC)
	past := now.Add(-time.Minute)
	hold := func(id string, scope Scope, kind Kind) Hold {
		return Hold{ID: id, Scope: scope, Kind: kind, Owner: "o", Reason: "r", CreatedAt: now.Add(-time.Hour)}
	}
	expired := hold("old", "eqiad", KindManual)
	expired.ExpiresAt = &past
	cases := []struct {
		name     string
		holds    []Hold
		scopes   []Scope
		allowed  bool
		blocking []string
	}{
		{"nothing held", nil, []Scope{"eqiad"}, true, nil},
		{"cluster hold", []Hold{hold("m", "eqiad", KindManual)}, []Scope{"eqiad"}, false, []string{"m"}},
		{"other cluster", []Hold{hold("m", "codfw", KindManual)}, []Scope{"eqiad"}, true, nil},
		{"global hold covers clusters", []Hold{hold("g", "global", KindManual)}, []Scope{"eqiad"}, false, []string{"g"}},
		{"a global deploy touches every cluster", []Hold{hold("m", "codfw", KindManual)}, []Scope{"global"}, false, []string{"m"}},
		{"expired hold no longer counts", []Hold{expired}, []Scope{"eqiad"}, true, nil},
		{"override lifts auto", []Hold{hold("a", "eqiad", KindAuto), hold("o", "eqiad", KindOverride)}, []Scope{"eqiad"}, true, nil},
		{"override elsewhere does not", []Hold{hold("a", "eqiad", KindAuto), hold("o", "codfw", KindOverride)}, []Scope{"eqiad"}, false, []string{"a"}},
		{"override keeps manual", []Hold{hold("a", "eqiad", KindAuto), hold("m", "eqiad", KindManual), hold("o", "global", KindOverride)}, []Scope{"eqiad"}, false, []string{"m"}},
		{"auto before manual before deploy", []Hold{hold("d", "eqiad", KindDeploy), hold("m", "global", KindManual), hold("a", "eqiad", KindAuto)}, []Scope{"eqiad"}, false, []string{"a", "m", "d"}},
		{"several scopes", []Hold{hold("m", "codfw", KindManual)}, []Scope{"eqiad", "codfw"}, false, []string{"m"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Decide(c.holds, c.scopes, now)
			var ids []string
			for _, h := range v.Blocking {
				ids = append(ids, h.ID)
			}
			if v.Allowed != c.allowed || strings.Join(ids, ",") != strings.Join(c.blocking, ",") {
				t.Fatalf("allowed=%v blocking=%v, want %v %v", v.Allowed, ids, c.allowed, c.blocking)
			}
		})
	}
}
