package replay_test

import (
	"context"
	"strings"
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

// The incident's deploys inside a saturation burst are retries of the
// deploy before them (12:16:15 after 12:16, 12:41:14 after 12:41). Each
// earlier deploy takes its deploy hold in the replay and ends as its burst
// begins; the gate, seeing the deploy end with the cluster above warn,
// refuses the retry with the "recovering" message.
func TestReplayIncidentRefusesTheRetriesAsRecovering(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	res := play(t, e, "incident-2024-05-28", 42*time.Minute)

	if want := int(42 * time.Minute / (5 * time.Second)); res.Evaluations != want {
		t.Fatalf("evaluations: %d, want %d", res.Evaluations, want)
	}
	var retries []replay.DeployOutcome
	for _, d := range res.Deploys {
		if d.Harmful {
			retries = append(retries, d)
		}
	}
	if len(retries) != 2 || retries[0].At != 16*time.Minute+15*time.Second || retries[1].At != 41*time.Minute+14*time.Second {
		t.Fatalf("deploys inside a harmful burst before 12:42: %+v, want the 16m15s and 41m14s retries", retries)
	}
	for _, d := range retries {
		if !d.Refused {
			t.Errorf("retry at %s inside %q was let through", d.At, d.Why)
			continue
		}
		first, rest, _ := strings.Cut(d.Message, "\n")
		if !strings.Contains(first, "incident-2024-05-28 is recovering from "+replay.DeployOwner+"'s deploy ") {
			t.Errorf("retry at %s refused with:\n%s\nwant the first line to say the cluster is recovering from the deploy", d.At, d.Message)
		}
		if second, _, _ := strings.Cut(rest, "\n"); !strings.Contains(second, "(warn ") {
			t.Errorf("retry at %s: the line under the first does not name a signal above warn:\n%s", d.At, d.Message)
		}
	}
	if len(res.Cooldown) == 0 {
		t.Fatal("no cooldown hold in the replay")
	}
	// Each cooldown ends once the burst is over (below warn on every
	// signal), far sooner than cooldown_max.
	for _, c := range res.Cooldown[:len(res.Cooldown)-1] {
		if c.To-c.From > 2*time.Minute {
			t.Errorf("cooldown %v lasted %s", c, c.To-c.From)
		}
	}
	if res.HarmfulUnheld() != 0 {
		t.Errorf("%d harmful bursts without a hold: %+v", res.HarmfulUnheld(), res.Bursts)
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
	// Before 12:20 every burst is a deploy's readyz at 2 s: harmful.
	if none.LetIntoHarmful() != 1 || none.HarmfulUnheld() != len(none.Bursts) || all.LetIntoHarmful() != 0 || all.HarmfulUnheld() != 0 {
		t.Fatalf("let into harmful %d/%d, harmful unheld %d/%d of %d", none.LetIntoHarmful(), all.LetIntoHarmful(), none.HarmfulUnheld(), all.HarmfulUnheld(), len(none.Bursts))
	}
	if got := all.RefusedWhileHealthy(); got <= 0 || got >= until {
		t.Fatalf("always on: refused while healthy %s, want the time outside the bursts", got)
	}
	if none.RefusedWhileHealthy() != 0 || all.HarmlessOnly(all.On) != 0 {
		t.Fatalf("never on refused %s; always on has %d harmless-only holds", none.RefusedWhileHealthy(), all.HarmlessOnly(all.On))
	}
}

// After the fix the incident's deploy bursts are harmless: a detector that
// holds only then engages for harmless spikes only.
func TestScoreHarmlessSpikes(t *testing.T) {
	s, err := sim.Load("incident-2024-05-28")
	if err != nil {
		t.Fatal(err)
	}
	d := replay.Score(s, s.Duration(), nil)
	var harmless []replay.Span
	for _, b := range d.Bursts {
		if !b.Harmful {
			harmless = append(harmless, b.Span)
		}
	}
	if len(harmless) == 0 {
		t.Fatal("no harmless burst in the incident")
	}
	held := replay.Score(s, s.Duration(), harmless)
	if got := held.HarmlessOnly(held.On); got != len(harmless) {
		t.Fatalf("holds for harmless spikes only: %d, want %d", got, len(harmless))
	}
	if got := held.RefusedWhileHealthy(); got <= 0 {
		t.Fatalf("refused while healthy %s, want the harmless spikes' length", got)
	}
}
