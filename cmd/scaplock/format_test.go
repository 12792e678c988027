package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/lock"
)

func TestRelative(t *testing.T) {
	cases := map[time.Duration]string{
		0:                              "0s",
		42 * time.Second:               "42s",
		-42 * time.Second:              "42s",
		3*time.Minute + 59*time.Second: "3m",
		2 * time.Hour:                  "2h",
		2*time.Hour + 15*time.Minute:   "2h15m",
		47*time.Hour + 59*time.Minute:  "47h59m",
		72 * time.Hour:                 "3d",
		76 * time.Hour:                 "3d4h",
	}
	for d, want := range cases {
		if got := relative(d); got != want {
			t.Errorf("relative(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestHealthLineToleratesAnyReport(t *testing.T) {
	cases := map[string]string{
		`{"status":"degraded","reason":"readyz 4.2s"}`: "degraded  readyz 4.2s",
		`{"status":"healthy","hosts":[1,2]}`:           "healthy",
		`{"reason":"no data"}`:                         "(no status)  no data",
		`{"status":true}`:                              "true",
		`{"status":{"nested":1}}`:                      "(no status)",
		`{}`:                                           "(no status)",
		`[1,2,3]`:                                      "(unreadable report)",
		`"ok"`:                                         "(unreadable report)",
		`null`:                                         "(no status)",
	}
	for in, want := range cases {
		if got := healthLine(json.RawMessage(in)); got != want {
			t.Errorf("healthLine(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestPrintStatus(t *testing.T) {
	now := time.Date(2024, 5, 28, 12, 52, 0, 0, time.UTC)
	created := time.Date(2024, 5, 28, 12, 49, 12, 0, time.UTC)
	expires := created.Add(2 * time.Hour)
	st := api.StatusResponse{
		Time: now, Revision: 42,
		Verdicts: []api.ScopeVerdict{
			{Scope: "global", Allowed: true, Summary: "allowed"},
			{Scope: "eqiad", Allowed: false, Summary: "control plane degraded"},
		},
		Holds: []lock.Hold{
			{ID: "auto-eqiad", Kind: lock.KindAuto, Scope: "eqiad", Owner: "gate", Reason: "control plane degraded", CreatedAt: created},
			{ID: "b2c1000000000000", Kind: lock.KindManual, Scope: "eqiad", Owner: "alice", Reason: "T1", CreatedAt: created, ExpiresAt: &expires},
			{ID: "d00d000000000000", Kind: lock.KindDeploy, Scope: "codfw", Owner: "bob", Reason: "sync", CreatedAt: created, TTL: lock.Duration(30 * time.Second)},
		},
		Overrides: []lock.Hold{{ID: "0e0e000000000000", Kind: lock.KindOverride, Scope: "eqiad", Owner: "carol", Reason: "emergency", CreatedAt: created, ExpiresAt: &expires}},
		Health: map[string]json.RawMessage{
			"eqiad": json.RawMessage(`{"status":"degraded","reason":"kubemaster1002 readyz 4.2s"}`),
			"codfw": json.RawMessage(`{"weird":true}`),
		},
		Gate: api.GateStatus{Mode: "enforce", Leader: "scaplock1001"},
	}
	var b bytes.Buffer
	printStatus(&b, st, now)
	out := b.String()
	for _, want := range []string{
		`(?m)^global +DEPLOYS ALLOWED$`,
		`(?m)^eqiad +DEPLOYS REFUSED +control plane degraded$`,
		`(?m)^  auto-eqiad +auto +eqiad +gate +2024-05-28 12:49:12 UTC \(2m ago\) +never +"control plane degraded"$`,
		`(?m)^  b2c1 +manual +eqiad +alice +.* +2024-05-28 14:49:12 UTC \(in 1h57m\) +"T1"$`,
		`(?m)^  d00d +deploy +codfw +bob +.* +lease 30s +"sync"$`,
		`(?m)^overrides .*:\n.*\n  0e0e +override +eqiad +carol `,
		`(?m)^gate: mode enforce, leader scaplock1001$`,
		`(?m)^  codfw +\(no status\)\n  eqiad +degraded  kubemaster1002 readyz 4.2s$`,
		`(?m)^revision 42 at 2024-05-28 12:52:00 UTC$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("status output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "holds: none") {
		t.Error("holds present but reported none")
	}
}
