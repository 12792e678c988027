package replay_test

import (
	"context"
	"testing"
	"time"

	"github.com/scaplock/scaplock/health/sim"
	"github.com/scaplock/scaplock/lock/locktest"
	"github.com/scaplock/scaplock/server/replay"
)

func play(t *testing.T, cli *locktest.Etcd, name string, until time.Duration) replay.Result {
	t.Helper()
	s, err := sim.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := replay.Run(ctx, replay.Config{Scenario: s, Etcd: cli.Client(t), Until: until})
	if err != nil {
		t.Fatalf("replay %s: %v", name, err)
	}
	t.Logf("%s to %s: %d evaluations in %s, first held at %s, held %v", name, until, res.Evaluations, res.Elapsed, res.FirstHeld, res.On)
	return res
}

// The incident's first deploy inside a saturation burst is the 12:16:15
// retry. The gate, fed the scripted bursts of the deploys before it, holds
// deploys by then and refuses that one.
func TestReplayIncidentRefusesTheRetryInsideABurst(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	res := play(t, e, "incident-2024-05-28", 17*time.Minute)

	if want := int(17 * time.Minute / (5 * time.Second)); res.Evaluations != want {
		t.Fatalf("evaluations: %d, want %d", res.Evaluations, want)
	}
	first := -1
	for i, d := range res.Deploys {
		if d.Degraded {
			first = i
			break
		}
	}
	if first < 0 {
		t.Fatalf("no deploy inside a degraded interval before 12:17: %+v", res.Deploys)
	}
	d := res.Deploys[first]
	if d.At != 16*time.Minute+15*time.Second {
		t.Fatalf("first deploy inside a burst at %s, want 16m15s (%s)", d.At, d.Why)
	}
	if res.FirstHeld < 0 || res.FirstHeld >= d.At {
		t.Fatalf("hold first engaged at %s, want before the deploy at %s", res.FirstHeld, d.At)
	}
	if !d.Refused {
		t.Fatalf("deploy at %s inside %q was let through; held %v", d.At, d.Why, res.On)
	}
	if res.Missed() == len(res.Bursts) {
		t.Fatalf("every burst missed: %+v", res.Bursts)
	}
}

// A quiet stretch of the healthy scenario, deploys and their mild bumps
// included, never holds.
func TestReplayHealthyNeverHolds(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	res := play(t, e, "healthy", 15*time.Minute)
	if len(res.Deploys) < 2 {
		t.Fatalf("deploys replayed: %d, want the 4m and 11m ones", len(res.Deploys))
	}
	if res.FirstHeld >= 0 || len(res.On) != 0 {
		t.Fatalf("healthy held at %s: %v", res.FirstHeld, res.On)
	}
	for _, d := range res.Deploys {
		if d.Refused || d.Degraded {
			t.Fatalf("deploy %+v", d)
		}
	}
}

// Score is the same judge for the gate and the baselines.
func TestScoreCountsDeploysAndBursts(t *testing.T) {
	s, err := sim.Load("incident-2024-05-28")
	if err != nil {
		t.Fatal(err)
	}
	until := 20 * time.Minute
	none := replay.Score(s, until, nil)
	all := replay.Score(s, until, []replay.Span{{From: 0, To: until}})
	if len(none.Deploys) != 4 || len(all.Deploys) != 4 {
		t.Fatalf("deploys before 12:20: %d, %d, want 4", len(none.Deploys), len(all.Deploys))
	}
	if none.LetThrough() != 1 || none.RefusedDegraded() != 0 || none.RefusedHealthy() != 0 || none.Missed() != len(none.Bursts) || len(none.Bursts) == 0 {
		t.Fatalf("never on: let through %d, refused %d, missed %d of %d", none.LetThrough(), none.RefusedDegraded(), none.Missed(), len(none.Bursts))
	}
	if all.LetThrough() != 0 || all.RefusedDegraded() != 1 || all.RefusedHealthy() != 3 || all.Missed() != 0 {
		t.Fatalf("always on: let through %d, refused %d/%d, missed %d", all.LetThrough(), all.RefusedDegraded(), all.RefusedHealthy(), all.Missed())
	}
	for _, b := range none.Bursts {
		if b.To <= b.From || b.To > until {
			t.Fatalf("burst %+v", b)
		}
	}
}
