package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

func TestHealthLine(t *testing.T) {
	cases := []struct {
		in   apiv1.ClusterHealth
		want string
	}{
		{apiv1.ClusterHealth{Status: apiv1.StatusDegraded, Reason: "readyz 4.2s"}, "degraded  readyz 4.2s"},
		{apiv1.ClusterHealth{Status: apiv1.StatusOK}, "ok"},
		{apiv1.ClusterHealth{Reason: "no data"}, "(no status)  no data"},
		{apiv1.ClusterHealth{}, "(no status)"},
	}
	for _, c := range cases {
		if got := healthLine(c.in); got != c.want {
			t.Errorf("healthLine(%+v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPrintStatus(t *testing.T) {
	now := time.Date(2024, 5, 28, 12, 52, 0, 0, time.UTC)
	created := time.Date(2024, 5, 28, 12, 49, 12, 0, time.UTC)
	expires := created.Add(2 * time.Hour)
	st := apiv1.StatusResponse{
		Time: now, Revision: 42,
		Verdicts: []apiv1.ScopeVerdict{
			{Scope: "global", Allowed: true, Summary: "allowed"},
			{Scope: "eqiad", Allowed: false, Summary: "control plane degraded"},
		},
		Holds: []apiv1.Hold{
			{ID: "auto-eqiad", Kind: apiv1.KindAuto, Scope: "eqiad", Owner: "gate", Reason: "control plane degraded", CreatedAt: created},
			{ID: "b2c1000000000000", Kind: apiv1.KindManual, Scope: "eqiad", Owner: "alice", Reason: "T1", CreatedAt: created, ExpiresAt: &expires},
			{ID: "d00d000000000000", Kind: apiv1.KindDeploy, Scope: "codfw", Owner: "bob", Reason: "sync", CreatedAt: created, TTL: apiv1.Duration(30 * time.Second)},
		},
		Overrides: []apiv1.Hold{{ID: "0e0e000000000000", Kind: apiv1.KindOverride, Scope: "eqiad", Owner: "carol", Reason: "emergency", CreatedAt: created, ExpiresAt: &expires}},
		Health: map[string]apiv1.ClusterHealth{
			"eqiad": {Status: apiv1.StatusDegraded, Reason: "kubemaster1002 readyz 4.2s"},
			"codfw": {},
		},
		Gate: apiv1.GateStatus{Mode: "enforce", Leader: "scaplock1001"},
	}
	var b bytes.Buffer
	printStatus(&b, st, now)
	out := b.String()
	for _, want := range []string{
		`(?m)^global +DEPLOYS ALLOWED$`,
		`(?m)^eqiad +DEPLOYS REFUSED +control plane degraded$`,
		`(?m)^  auto-eqiad +auto +eqiad +gate +12:49:12 UTC \(2m48s ago\) +never +"control plane degraded"$`,
		`(?m)^  b2c1 +manual +eqiad +alice +.* +14:49:12 UTC \(in 1h57m\) +"T1"$`,
		`(?m)^  d00d +deploy +codfw +bob +.* +lease 30s +"sync"$`,
		`(?m)^overrides .*:\n.*\n  0e0e +override +eqiad +carol `,
		`(?m)^gate: mode enforce, leader scaplock1001$`,
		`(?m)^  codfw +\(no status\)\n  eqiad +degraded  kubemaster1002 readyz 4.2s$`,
		`(?m)^revision 42 at 12:52:00 UTC \(0s ago\)$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("status output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "holds: none") {
		t.Error("holds present but reported none")
	}
}
