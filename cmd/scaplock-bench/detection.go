package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/health/sim"
	"github.com/scaplock/scaplock/server/embedetcd"
	"github.com/scaplock/scaplock/server/replay"
)

var scenarios = []string{"healthy", "incident-2024-05-28", "flapping", "creep-3-months"}

// creepWeek is one week of the compressed creep-3-months scenario.
const creepWeek = 10 * time.Minute

// episodeGap groups a flapping signal's swings into one episode: bursts
// closer than the default min_hold cannot be told apart by any gate that
// holds at least that long.
const episodeGap = health.DefaultMinHold

var (
	dashboardBaseline = dashboard{Average: time.Minute, Every: 3 * time.Minute, Timeout: health.DefaultTimeout}
	probeDownBaseline = probeDown{Every: 10 * time.Second, Timeout: health.DefaultTimeout, Window: time.Minute, For: 2 * time.Minute, Below: 0.75}
)

// detection replays each scenario through the real gate (server.Replay on
// an embedded etcd) and scores it, and the two baselines evaluated on the
// same scripted samples, against the scenario's ground truth.
func detection(ctx context.Context, dir string) []Row {
	cli, stop, err := replayEtcd(dir)
	if err != nil {
		return []Row{failed("detection", err)}
	}
	defer stop()

	var rows []Row
	for _, name := range scenarios {
		rows = append(rows, detectScenario(ctx, cli, name)...)
	}
	return rows
}

func detectScenario(ctx context.Context, cli *clientv3.Client, name string) []Row {
	s, err := sim.Load(name)
	if err != nil {
		return []Row{failed(name, err)}
	}
	next := 25
	res, err := replay.Run(ctx, replay.Config{Scenario: s, Etcd: cli, Progress: func(done, total time.Duration) {
		if pct := int(100 * done / total); pct >= next {
			progress("  %s: %d%% of %s replayed", name, pct, total)
			next = pct - pct%25 + 25
		}
	}})
	if err != nil {
		return []Row{failed(name+": replay through the gate", err)}
	}
	until := res.Until
	dash := dashboardBaseline
	dash.Limits = s.Limits()
	detectors := []struct {
		name string
		d    replay.Detection
	}{
		{fmt.Sprintf("gate (replayed: real gate + etcd, %s interval, default windows, latencies ×%g, deploys hold %s)", res.Interval, replay.DefaultLatencyScale, replay.DefaultDeployLength), res.Detection},
		{"baseline: dashboard, 1m avg every 3m vs crit", replay.Score(s, until, dash.Spans(s.At, s.Hosts(), until))},
		{"baseline: ProbeDown, avg_over_time(probe_success[1m]) < 0.75 for 2m, probe every 10s", replay.Score(s, until, probeDownBaseline.Spans(s.At, s.Hosts(), until))},
	}
	gate := res.Detection
	inside := gate.RefusedDegraded() + gate.LetThrough()
	harmfulDeploys, harmfulBursts := gate.HarmfulDeploys(), gate.HarmfulBursts()
	rows := []Row{info(name+": scenario",
		fmt.Sprintf("%d deploys, %d inside a degraded interval, %d inside a harmful one; %d bursts (merged degraded intervals), %d harmful; %d evaluations replayed in %s",
			len(gate.Deploys), inside, harmfulDeploys, len(gate.Bursts), harmfulBursts, res.Evaluations, res.Elapsed.Round(100*time.Millisecond)))}
	for i, det := range detectors {
		d := det.d
		value := fmt.Sprintf("let into a harmful burst %d of %d · harmful bursts with no hold %d of %d · holds for harmless spikes only %d of %d · deploy time refused while healthy %s",
			d.LetIntoHarmful(), harmfulDeploys, d.HarmfulUnheld(), harmfulBursts, d.HarmlessOnly(d.On), len(d.On), minutes(d.RefusedWhileHealthy()))
		if i > 0 {
			rows = append(rows, info(name+": "+det.name, value))
			continue
		}
		value += fmt.Sprintf(" · deploy cooldowns %d (%d during harmless spikes only)", len(d.Cooldown), d.HarmlessOnly(d.Cooldown))
		ok := d.LetIntoHarmful() == 0 && d.HarmfulUnheld() == 0 && d.HarmlessOnly(d.On) == 0
		rows = append(rows, check(name+": "+det.name, value, "let into harmful 0 · harmful with no hold 0 · holds for harmless only 0", ok))
	}
	for _, o := range gate.Deploys {
		if o.Harmful && !o.Refused {
			rows = append(rows, info(name+": a deploy the gate let into a harmful burst",
				fmt.Sprintf("%s, into %s", s.Start().Add(o.At).UTC().Format("15:04:05 UTC"), o.Why)))
		}
	}
	if res.FirstHeld >= 0 {
		lead := ""
		if len(gate.Bursts) > 0 {
			lead = fmt.Sprintf(", %s after the first burst began", res.FirstHeld-gate.Bursts[0].From)
		}
		rows = append(rows, info(name+": gate's first hold", s.Start().Add(res.FirstHeld).UTC().Format("15:04:05 UTC")+lead))
	}
	switch name {
	case "healthy":
		rows = append(rows, check("healthy: holds engaged by the gate", fmt.Sprint(len(gate.On)), "0", len(gate.On) == 0))
	case "creep-3-months":
		rows = append(rows, creepRow(res), outcomesRow(s, res))
	case "incident-2024-05-28":
		rows = append(rows, outcomesRow(s, res))
	case "flapping":
		eps := episodes(gate.Bursts, episodeGap)
		cycles := cyclesPerEpisode(eps, gate.On)
		worst := 0
		if len(cycles) > 0 {
			worst = slices.Max(cycles)
		}
		rows = append(rows, check("flapping: gate engage/clear cycles per episode",
			fmt.Sprintf("max %d (per episode: %s; %d episodes = bursts < %s apart)", worst, joinInts(cycles), len(eps), episodeGap),
			"≤ 1", worst <= 1))
	}
	return rows
}

// replayEtcd starts an embedded etcd in dir for replays and a client of
// it; stop closes both.
func replayEtcd(dir string) (*clientv3.Client, func(), error) {
	etcd, err := embedetcd.Start(filepath.Join(dir, "etcd"))
	if err != nil {
		return nil, nil, fmt.Errorf("embedded etcd: %w", err)
	}
	cli, err := etcd.Client()
	if err != nil {
		etcd.Close()
		return nil, nil, fmt.Errorf("etcd client: %w", err)
	}
	return cli, func() { cli.Close(); etcd.Close() }, nil
}

func minutes(d time.Duration) string {
	return fmt.Sprintf("%.1f min", d.Minutes())
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// creepRow reads the deploy impact report as it would have read at the end
// of each (compressed) week, and says how long before the first harmful
// burst it first flagged the creep.
func creepRow(res replay.Result) Row {
	const figure = "creep-3-months: weeks between the report's first flag and the first harmful burst"
	firstHarm := time.Duration(-1)
	for _, b := range res.Bursts {
		if b.Harmful {
			firstHarm = b.From
			break
		}
	}
	if len(res.Impacts) == 0 || firstHarm < 0 {
		return Row{Figure: figure, Value: fmt.Sprintf("not measured: %d impacts recorded, first harmful burst %s", len(res.Impacts), firstHarm), Target: "—", Verdict: NotMeasured}
	}
	week, flag, ok := firstFlag(res)
	if !ok {
		return check(figure, "never flagged", "flag before the first harmful burst", false)
	}
	lead := float64(firstHarm-time.Duration(week)*creepWeek) / float64(creepWeek)
	return check(figure, fmt.Sprintf("%.1f weeks: flagged at the end of week %d (%q), first harmful burst in week %d; %d deploy impacts recorded",
		lead, week-1, flag, int(firstHarm/creepWeek), len(res.Impacts)), "flag before the first harmful burst", lead > 0)
}

// firstFlag reads the deploy impact report as it would have read at the
// end of each compressed week of a replay and returns the first week
// (counted from 1: the report read at creepWeek×week) whose report flags
// the cluster, with the flag.
func firstFlag(res replay.Result) (week int, flag string, ok bool) {
	if len(res.Impacts) == 0 {
		return 0, "", false
	}
	since := res.Impacts[0].From.Truncate(creepWeek)
	for week := 1; week <= int(res.Until/creepWeek); week++ {
		r := health.Trend(res.Impacts, since, since.Add(time.Duration(week)*creepWeek), creepWeek, health.DefaultHeadroom)
		if len(r.Clusters) > 0 && r.Clusters[0].Flag != "" {
			return week, r.Clusters[0].Flag, true
		}
	}
	return 0, "", false
}

// outcomesRow checks the report's deploy figures over the replay (the
// outcomes recorded on the deploy holds' releases, read back from the
// history) against the scenario's ground truth for the deploys preflight
// allowed: the same report made of events built from the truth alone.
func outcomesRow(s *sim.Scenario, res replay.Result) Row {
	figure := s.Name() + ": report's deploys, failures and durations vs ground truth"
	var truth []apiv1.Event
	for _, o := range res.Deploys {
		if o.Refused {
			continue
		}
		failed, took := s.DeployOutcome(o.At)
		e := apiv1.Event{Time: s.Start().Add(o.At), DeployOutcome: apiv1.DeployOutcome{Outcome: apiv1.OutcomeSucceeded}}
		if failed {
			e.Outcome = apiv1.OutcomeFailed
		}
		secs := took.Seconds()
		e.DurationS = &secs
		truth = append(truth, e)
	}
	since, until := s.Start(), s.Start().Add(res.Until+time.Hour)
	got := health.Outcomes(res.Releases, since, until, until.Sub(since))[0]
	want := health.Outcomes(truth, since, until, until.Sub(since))[0]
	value := fmt.Sprintf("report: %d deploys, %d failed, duration p50 %s p90 %s · truth: %d, %d, %s, %s",
		got.Deploys, got.Failed, seconds(got.Duration.P50), seconds(got.Duration.P90),
		want.Deploys, want.Failed, seconds(want.Duration.P50), seconds(want.Duration.P90))
	ok := got.Deploys == want.Deploys && got.Failed == want.Failed && got.Duration == want.Duration
	return check(figure, value, "equal", ok)
}

func seconds(s float64) string { return (time.Duration(s) * time.Second).String() }
