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

func TestRefusalMessage(t *testing.T) {
	since := time.Date(2024, 5, 28, 12, 49, 12, 0, time.UTC)
	auto := Hold{ID: "auto-eqiad", Scope: "eqiad", Kind: KindAuto, Owner: "scaplock", Reason: "control plane degraded",
		Details: []string{"kubemaster1002:6443  readyz 4.2s (limit 1s)  CPU 98% (limit 90%)  TCP retransmits 6012/s (limit 1000/s)  for 45s"},
		Hint:    "clears after 1m0s healthy", CreatedAt: since}
	v := Decide([]Hold{auto}, []Scope{"eqiad"}, since.Add(time.Minute))
	got := RefusalMessage(v, "http://scaplock.example/", since.Add(time.Minute))
	want := `scaplock: deploys to eqiad are refused: control plane degraded
  kubemaster1002:6443  readyz 4.2s (limit 1s)  CPU 98% (limit 90%)  TCP retransmits 6012/s (limit 1000/s)  for 45s
  held automatically since 12:49:12 UTC (hold auto-eqiad); clears after 1m0s healthy
  status: http://scaplock.example/    override (SRE): scaplock override --scope eqiad --reason "..."
`
	if got != want {
		t.Fatalf("refusal message:\n%s\nwant:\n%s", got, want)
	}
	if RefusalMessage(Decide(nil, []Scope{"eqiad"}, since), "", since) != "" {
		t.Fatal("an allowed verdict has no refusal message")
	}
}
