package web_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// The page shows the deploy impact trend with the service's flag, and the
// load advice on an allowed cluster at warn.
func TestPageShowsTrendAndAdvice(t *testing.T) {
	d := startDaemon(t, nil)
	store := d.srv.Store()
	ctx := context.Background()
	now := store.Now()
	for i, days := range []int{20, 19, 2, 1} {
		above := 10.0
		if days < 7 {
			above = 40
		}
		from := now.Add(-time.Duration(days) * 24 * time.Hour)
		imp := apiv1.DeployImpact{
			Cluster: "eqiad", Deploy: apiv1.DeployRef{ID: "dep" + string(rune('a'+i)), Owner: "alice"}, From: from, To: from.Add(time.Minute),
			SecondsAboveWarn: above,
			Signals:          map[apiv1.Signal]apiv1.SignalImpact{apiv1.SignalCPU: {Peak: 0.95, SecondsAboveWarn: above}},
		}
		if _, err := store.Record(ctx, apiv1.Event{Actor: "scaplock", Action: apiv1.ActionDeployImpact, Scope: "eqiad", Kind: apiv1.KindDeploy, Reason: "impact", Impact: &imp}); err != nil {
			t.Fatal(err)
		}
	}
	report := apiv1.ClusterHealth{Cluster: "eqiad", Status: apiv1.StatusOK, Since: now, UpdatedAt: now, Hosts: []apiv1.HostHealth{{
		Host:    "kubemaster1001.eqiad.wmnet:6443",
		Signals: map[apiv1.Signal]apiv1.SignalHealth{apiv1.SignalCPU: {Value: 0.85, Level: apiv1.LevelWarn, Warn: 0.8, Crit: 0.9, At: now, Since: now, Peak: 0.85}},
	}}}
	raw, err := json.Marshal(report)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := store.Client().Put(ctx, store.Keys().HealthReport("eqiad"), string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.WaitRevision(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	b.open(t, d.url+"/")
	waitFor(t, b, "ALLOWED for eqiad", verdictIs("eqiad", "ALLOWED"), 5*time.Second)
	waitFor(t, b, "the advice", `(document.querySelector("#verdict-list [data-scope=eqiad] .verdict-advice code") || {}).textContent === "-D k8s_max_concurrent_deployments_per_cluster:5"`, 5*time.Second)
	waitFor(t, b, "four weekly rows", `document.querySelectorAll("#trend-table tbody tr").length === 4`, 5*time.Second)
	want := "eqiad deploys now spend a median 40s above CPU warn (headroom 20s), up from 10s 2 weeks ago"
	if got := eval[string](t, b, `document.querySelector("#trend-flags .trend-flag").textContent`); got != want {
		t.Errorf("trend flag %q, want %q", got, want)
	}
	if got := eval[string](t, b, `document.querySelector("#trend-table tbody tr:last-child td:nth-child(6)").textContent`); got != "40 s / 40 s" {
		t.Errorf("last week's time above warn %q", got)
	}
	if p := b.problems(); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}

// The page says the last day's deploys and failures and the deploy success
// budget left over 28 days, from the releases' outcomes.
func TestPageShowsDeploysAndBudget(t *testing.T) {
	d := startDaemon(t, nil)
	store := d.srv.Store()
	ctx := context.Background()
	now := store.Now()
	release := func(ago time.Duration, o apiv1.Outcome) {
		t.Helper()
		code, took := 0, 240.0
		if o == apiv1.OutcomeFailed {
			code = 1
		}
		if _, err := store.Record(ctx, apiv1.Event{Time: now.Add(-ago), Actor: "alice", Action: apiv1.ActionReleased, Scope: "eqiad", Kind: apiv1.KindDeploy,
			Reason: "finished", DeployOutcome: apiv1.DeployOutcome{Outcome: o, ExitCode: &code, DurationS: &took}}); err != nil {
			t.Fatal(err)
		}
	}
	// 40 deploys in 28 days, two failed (the 5 % budget spent: 0 % left);
	// four of them in the last day, one failed.
	for i := range 37 {
		release(time.Duration(3+i*12)*time.Hour, apiv1.OutcomeSucceeded)
	}
	release(10*24*time.Hour, apiv1.OutcomeFailed)
	release(time.Hour, apiv1.OutcomeFailed)
	release(2*time.Hour, apiv1.OutcomeSucceeded)
	b := newBrowser(t)
	b.open(t, d.url+"/")
	want := "Last 24 h: 4 deploys, 1 failed · deploy success budget left (28 d, objective 95 %): 0 %"
	waitFor(t, b, "the deploys line", `document.querySelector("#deploys-24h").textContent.startsWith("Last 24 h")`, 5*time.Second)
	if got := eval[string](t, b, `document.querySelector("#deploys-24h").textContent`); got != want {
		t.Errorf("deploys line %q, want %q", got, want)
	}
	if p := b.problems(); len(p) > 0 {
		t.Errorf("browser problems: %v", p)
	}
}
