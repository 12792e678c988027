package main

import (
	"context"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Deploy releases with outcomes, recorded in the history as the server
// records them: scaplock report shows the period's deploys, failures,
// durations and the failures that came while the cluster was at warn.
func TestReportShowsDeployOutcomes(t *testing.T) {
	ctx := context.Background()
	cluster := unique("ro")
	now := srv.Store().Now()
	release := func(daysAgo int, o apiv1.Outcome, code int, took float64, atWarn bool) {
		t.Helper()
		e := apiv1.Event{
			Time: now.Add(-time.Duration(daysAgo) * 24 * time.Hour), Actor: "alice", Action: apiv1.ActionReleased,
			Scope: apiv1.Scope(cluster), Kind: apiv1.KindDeploy, Reason: "finished",
			DeployOutcome: apiv1.DeployOutcome{Outcome: o, ExitCode: &code, DurationS: &took},
		}
		if atWarn {
			e.Peaks = map[string]apiv1.Level{cluster: apiv1.LevelWarn}
		}
		if _, err := srv.Store().Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// Two weeks ago: six deploys, four failed, three of them at warn.
	release(12, apiv1.OutcomeSucceeded, 0, 210, false)
	release(12, apiv1.OutcomeSucceeded, 0, 240, true)
	release(11, apiv1.OutcomeFailed, 1, 400, true)
	release(11, apiv1.OutcomeFailed, 1, 420, true)
	release(10, apiv1.OutcomeFailed, 1, 430, true)
	release(10, apiv1.OutcomeFailed, 1, 440, false)
	r := scaplock(ctx, as(t, "ro-reader"), "report", "--since", "28d")
	wantCode(t, r, exitOK)
	from := now.Add(-28 * 24 * time.Hour).Add(2 * 7 * 24 * time.Hour).UTC().Format("2006-01-02 15:04")
	for _, want := range []string{
		"deploys (outcomes recorded by scaplock run)",
		"duration p50/p90",
		from + "  6        4       67%            6m40s / 7m20s",
		"3 of 4 failures came while " + cluster + " was at warn or worse",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
}
