package gate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/server/gate"
)

// A degraded cluster whose value moves while its level stays at crit
// publishes the round as samples, not as its full report: the stream
// carries a "samples" message and no "health" one. Status (the view) still
// quotes the value that the auto hold, which preflight shows, quotes: in
// the host's signal and in the cluster's reason.
func TestDegradedValueChangeIsPublishedAsSamples(t *testing.T) {
	// Low limits: the scripted latencies are at crit however slow the
	// machine, and a slower machine only adds to them.
	f := newGateFixture(t, health.Limits{Warn: 0.01, Crit: 0.02})
	apiserver, cli, view, store, g := f.apiserver, f.cli, f.view, f.store, f.gate
	const host = "kubemaster1001:6443"
	changes, cancel := store.Subscribe()
	defer cancel()
	ctx := context.Background()
	keys := store.Keys()
	now := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	// round probes at latency and returns what the stream announced for it.
	round := func(latency time.Duration) []lock.Change {
		t.Helper()
		apiserver.SetLatency(latency)
		now = now.Add(5 * time.Second)
		g.Step(ctx, now)
		resp, err := cli.Get(ctx, keys.HealthReport("eqiad"))
		if err != nil {
			t.Fatal(err)
		}
		if err := store.WaitRevision(ctx, resp.Header.Revision); err != nil {
			t.Fatal(err)
		}
		// The store announces a revision's changes as it applies it: once
		// it has, what is queued is all the round said.
		var got []lock.Change
		for {
			select {
			case c := <-changes:
				got = append(got, c)
			case <-time.After(200 * time.Millisecond):
				return got
			}
		}
	}
	shown := func() (status, reason, preflight string) {
		t.Helper()
		reports, _ := view.Reports()
		r := reports["eqiad"]
		hold, err := store.Get(gate.AutoHoldID("eqiad"))
		if err != nil {
			t.Fatalf("no auto hold: %v", err)
		}
		if r.Status != apiv1.StatusDegraded || len(r.Hosts) != 1 || len(hold.Signals) != 1 {
			t.Fatalf("report %+v, hold signals %+v: want eqiad degraded on one host, its latency at crit", r, hold.Signals)
		}
		return apiv1.FormatValue(apiv1.SignalLatency, r.Hosts[0].Signals[apiv1.SignalLatency].Value), r.Reason,
			apiv1.FormatValue(apiv1.SignalLatency, hold.Signals[0].Value)
	}

	round(50 * time.Millisecond) // trips: the report, the auto hold
	if v := f.version(t, keys.HealthReport("eqiad")); v != 1 {
		t.Fatalf("report written %d times after the trip, want 1", v)
	}
	tripped, _, _ := shown()

	announced := round(300 * time.Millisecond)
	if v := f.version(t, keys.HealthReport("eqiad")); v != 1 {
		t.Errorf("report written %d times; a value moving within crit must not rewrite it", v)
	}
	if v := f.version(t, keys.ClusterSamples("eqiad")); v != 2 {
		t.Errorf("samples written %d times in 2 rounds, want 2", v)
	}
	var kinds []apiv1.ChangeKind
	var smp *apiv1.Samples
	for _, c := range announced {
		if c.Cluster == "eqiad" && (c.Type == apiv1.ChangeHealth || c.Type == apiv1.ChangeSamples) {
			kinds = append(kinds, c.Type)
		}
		if c.Type == apiv1.ChangeSamples {
			smp = c.Samples
		}
	}
	if len(kinds) != 1 || kinds[0] != apiv1.ChangeSamples || smp == nil {
		t.Fatalf("the round announced %v for eqiad, want only samples", kinds)
	}
	if v := smp.Hosts[0].Values[apiv1.SignalLatency]; v < 0.3 {
		t.Errorf("the samples carry latency %v, want the round's (at least 0.3 s)", v)
	}

	status, reason, preflight := shown()
	if status == tripped {
		t.Fatalf("status still shows %s from the trip; the round measured at least 300ms", status)
	}
	if status != preflight {
		t.Errorf("status shows readyz %s, the auto hold (preflight) %s", status, preflight)
	}
	if !strings.Contains(reason, "readyz "+preflight) || smp.Reason != reason {
		t.Errorf("status's reason %q (samples' %q), want it to quote readyz %s as the hold does", reason, smp.Reason, preflight)
	}
}
