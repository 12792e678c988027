package api_test

import (
	"testing"

	"github.com/scaplock/scaplock/api"
	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// reportsOf is a GateView holding fixed reports.
type reportsOf map[string]apiv1.ClusterHealth

func (r reportsOf) Reports() (map[string]apiv1.ClusterHealth, string) { return r, "r1" }
func (r reportsOf) Samples() map[string]map[string]map[apiv1.Signal][]apiv1.Point {
	return nil
}

// ?health=false leaves out the reports, not the verdicts they add scopes
// to; anything but true or false is a 400 naming the field.
func TestStatusWithoutHealth(t *testing.T) {
	f := newFixture(t, func(c *api.Config, _ *api.AuthConfig) {
		c.View = reportsOf{"eqiad": {Cluster: "eqiad", Status: apiv1.StatusOK}}
	})
	for _, c := range []struct {
		query      string
		status     int
		withHealth bool
	}{
		{"", 200, true},
		{"?health=true", 200, true},
		{"?health=false", 200, false},
		{"?health=no", 400, false},
	} {
		t.Run(c.query, func(t *testing.T) {
			a := f.do(t, "GET", "/api/v1/status"+c.query, "", nil)
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
			if c.status != 200 {
				if e := a.errBody(t); e.Error.Field != "health" {
					t.Errorf("error %+v, want one naming the field health", e.Error)
				}
				return
			}
			var st api.StatusResponse
			a.decode(t, &st)
			if _, ok := st.Health["eqiad"]; ok != c.withHealth {
				t.Errorf("eqiad's report present = %t, want %t", ok, c.withHealth)
			}
			found := false
			for _, v := range st.Verdicts {
				found = found || v.Scope == "eqiad"
			}
			if !found {
				t.Errorf("verdicts %+v lack eqiad", st.Verdicts)
			}
		})
	}
}

// The status is encoded once per revision, and a change is never hidden
// behind the encoded one: each read after a write shows it, with or
// without the reports.
func TestStatusAfterEachChange(t *testing.T) {
	f := newFixture(t, func(c *api.Config, _ *api.AuthConfig) {
		c.View = reportsOf{"eqiad": {Cluster: "eqiad", Status: apiv1.StatusOK}}
	})
	sre := f.token(t, "alice", api.RoleSRE)
	for i := range 5 {
		var h struct{ ID string }
		a := f.do(t, "POST", "/api/v1/holds", sre, api.HoldBody{Scope: "eqiad", Reason: "change"})
		if a.status != 201 {
			t.Fatalf("create: %d %s", a.status, a.body)
		}
		a.decode(t, &h)
		for _, q := range []string{"", "?health=false", "", "?health=false"} {
			var st api.StatusResponse
			f.do(t, "GET", "/api/v1/status"+q, "", nil).decode(t, &st)
			if len(st.Holds) != i+1 || st.Holds[len(st.Holds)-1].ID != h.ID {
				t.Fatalf("after hold %d, status%s lists %d holds, the last %+v; want %d ending with %s", i+1, q, len(st.Holds), st.Holds, i+1, h.ID)
			}
			if _, ok := st.Health["eqiad"]; ok != (q == "") {
				t.Errorf("status%s: eqiad's report present = %t", q, ok)
			}
		}
	}
}
