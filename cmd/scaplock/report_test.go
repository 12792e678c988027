package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Deploy impacts recorded over four weeks, the last week's well above the
// headroom: scaplock report shows the weeks and the service's flag.
func TestReportShowsTheTrendAndFlagsIt(t *testing.T) {
	ctx := context.Background()
	cluster := unique("rp")
	now := srv.Store().Now()
	record := func(daysAgo int, aboveWarn, peakCPU float64) {
		t.Helper()
		from := now.Add(-time.Duration(daysAgo)*24*time.Hour - time.Hour)
		imp := apiv1.DeployImpact{
			Cluster: cluster, Deploy: apiv1.DeployRef{ID: "d" + unique("x"), Owner: "alice"}, From: from, To: from.Add(time.Minute),
			SecondsAboveWarn: aboveWarn,
			Signals: map[apiv1.Signal]apiv1.SignalImpact{
				apiv1.SignalCPU:     {Peak: peakCPU, SecondsAboveWarn: aboveWarn},
				apiv1.SignalLatency: {Peak: 0.2},
			},
		}
		if _, err := srv.Store().Record(ctx, apiv1.Event{
			Actor: "scaplock", Action: apiv1.ActionDeployImpact, Scope: apiv1.Scope(cluster), Kind: apiv1.KindDeploy,
			Reason: "test impact", Impact: &imp,
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []int{27, 26, 25} {
		record(d, 12, 0.85)
	}
	for _, d := range []int{3, 2, 1} {
		record(d, 35, 0.97)
	}
	reader := as(t, "rp-reader")
	r := scaplock(ctx, reader, "report", "--since", "28d")
	wantCode(t, r, exitOK)
	for _, want := range []string{
		cluster + "\n",
		"peak CPU p50/p90",
		"85% / 85%",
		"97% / 97%",
		"! " + cluster + " deploys now spend a median 35s above CPU warn (headroom 20s), up from 12s 3 weeks ago",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	r = scaplock(ctx, reader, "report", "--since", "28d", "--headroom", "40s", "--json")
	wantCode(t, r, exitOK)
	var rep apiv1.ImpactReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, r)
	}
	for _, ct := range rep.Clusters {
		if ct.Cluster == cluster && ct.Flag != "" {
			t.Errorf("flagged below a 40s headroom: %q", ct.Flag)
		}
	}
	wantCode(t, scaplock(ctx, reader, "report", "--since", "30 days"), exitMisuse)
}
