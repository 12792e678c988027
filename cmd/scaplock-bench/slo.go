package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/health/sim"
	"github.com/scaplock/scaplock/server/replay"
)

// sloRules are the generated multi-window, multi-burn-rate rules contrib
// ships (cmd/scaplock-slo writes them from contrib/pyrra).
const sloRules = "contrib/prometheus/scaplock-slo.rules.yaml"

const (
	// sloStretch turns the creep's compressed time into the rules' time:
	// a compressed week (creepWeek) becomes seven days, so the alerts'
	// windows (5 minutes to 28 days) see the same share of slow probes in
	// each week as the scenario scripts.
	sloStretch = int64(7 * 24 * time.Hour / creepWeek)
	// sloStep is the rules' time between two samples of every series: short
	// enough for the 5-minute windows to hold two, long enough for the
	// 3-day windows of six series to stay under the 10,000 samples
	// promtool's test engine loads for one query.
	sloStep = 3 * time.Minute
	// sloProbesPerStep: scaplockd probes each apiserver every 5 s.
	sloProbesPerStep = int(sloStep / (5 * time.Second))
	// sloEvalEvery is promtool's evaluation interval: how precisely the
	// figure knows when an alert first fired.
	sloEvalEvery = time.Hour
	// sloSyncLimit is the sync-duration objective's bucket, in seconds.
	sloSyncLimit = 300
	// sloSyncHost labels the bridge's sync histogram.
	sloSyncHost = "deploy1002"
)

// sloAlert is one alert severity of one objective whose first firing the
// figure reads.
type sloAlert struct{ slo, severity string }

var sloAlerts = []sloAlert{
	{"scaplock-k8s-api-availability", "ticket"}, {"scaplock-k8s-api-availability", "page"},
	{"scaplock-deploy-success", "ticket"}, {"scaplock-deploy-success", "page"},
	{"scaplock-scap-sync-duration", "ticket"}, {"scaplock-scap-sync-duration", "page"},
}

// creepSLO replays creep-3-months through the real gate, turns the
// scenario into the series the SLO rules read (readyz probes by result from
// the scenario's scripted apiservers, deploys and their durations from the
// outcomes the replay recorded on the deploy holds' releases), evaluates the
// generated rules on them with Debian's promtool, and sets the first
// ticket-level alert beside the first deploy the ground truth fails and the
// report's headroom flag.
func creepSLO(ctx context.Context, dir string) []Row {
	const figure = "creep-3-months: SLO burn alerts"
	s, err := sim.Load("creep-3-months")
	if err != nil {
		return []Row{failed(figure, err)}
	}
	cli, stop, err := replayEtcd(dir)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer stop()
	progress("  replaying %s through the gate", s.Name())
	res, err := replay.Run(ctx, replay.Config{Scenario: s, Etcd: cli})
	if err != nil {
		return []Row{failed(figure+": replay", err)}
	}
	rules, dropped, err := alertRules(sloRules, filepath.Join(dir, "slo-alerts.rules.yaml"))
	if err != nil {
		return []Row{failed(figure, err)}
	}
	in := creepSeries(s, res.Releases, health.DefaultThresholds.Latency.Warn)
	progress("  evaluating %s with promtool over %s (%d series of %d samples)", sloRules, in.span(), len(in.series), in.steps)
	began := time.Now()
	fired, err := firstFirings(ctx, dir, rules, in)
	if err != nil {
		return []Row{failed(figure+": promtool", err)}
	}
	took := time.Since(began)

	firstFailed := time.Duration(-1)
	for _, at := range s.Deploys() {
		if bad, _ := s.DeployOutcome(at); bad {
			firstFailed = at
			break
		}
	}
	if firstFailed < 0 {
		return []Row{failed(figure, errors.New("the scenario's ground truth fails no deploy"))}
	}
	recorded, firstSlow := 0, time.Duration(-1)
	for _, e := range res.Releases {
		if e.Outcome == apiv1.OutcomeFailed {
			recorded++
		}
		if at := e.Time.Sub(s.Start()); e.DurationS != nil && *e.DurationS > sloSyncLimit && (firstSlow < 0 || at < firstSlow) {
			firstSlow = at
		}
	}
	weeks := func(d time.Duration) float64 { return float64(d) / float64(creepWeek) }
	at := func(a sloAlert) string {
		if t, ok := fired[a]; ok {
			return fmt.Sprintf("%.2f", weeks(t))
		}
		return "never"
	}
	slowSyncs := fmt.Sprintf("; no deploy took over %s", time.Duration(sloSyncLimit)*time.Second)
	if firstSlow >= 0 {
		slowSyncs = fmt.Sprintf("; the first deploy over %s ended at %.2f", time.Duration(sloSyncLimit)*time.Second, weeks(firstSlow))
	}
	var perSLO []string
	for _, a := range sloAlerts {
		perSLO = append(perSLO, fmt.Sprintf("%s %s %s", strings.TrimPrefix(a.slo, "scaplock-"), a.severity, at(a)))
	}
	ticket, ticketOK := earliest(fired, "ticket")
	page, pageOK := earliest(fired, "page")
	flagWeek, flag, flagged := firstFlag(res)
	headroom := "the report never flags it"
	if flagged {
		headroom = fmt.Sprintf("the report's headroom flag at %d.00 (%q), %.1f weeks before", flagWeek, flag, weeks(firstFailed)-float64(flagWeek))
	}
	value := fmt.Sprintf("no ticket fired; first failed deploy (ground truth) at %.2f; %s", weeks(firstFailed), headroom)
	lead := 0.0
	if ticketOK {
		lead = weeks(firstFailed - ticket)
		value = fmt.Sprintf("%.2f weeks: first ticket at %.2f, first failed deploy (ground truth) at %.2f; %s", lead, weeks(ticket), weeks(firstFailed), headroom)
	}
	pageAt := "never"
	if pageOK {
		pageAt = fmt.Sprintf("%.2f (%.2f weeks before the first failed deploy)", weeks(page), weeks(firstFailed-page))
	}
	return []Row{
		info("creep-3-months through the SLO rules: input", fmt.Sprintf("%s stretched ×%d (a compressed week is 7 days); readyz of %d apiservers every 5 s from the scripted scenario (slow at or above %gs); %d deploys run (of %d scripted; the gate refused the rest), %d failed, as the replay recorded them on their releases; %s minus the %d records no alert reads (28-day windows: more samples than promtool's test engine loads), evaluated every %s by promtool test rules in %s",
			s.Name(), sloStretch, len(s.Hosts()), health.DefaultThresholds.Latency.Warn, len(res.Releases), len(s.Deploys()), recorded, sloRules, dropped, sloEvalEvery, took.Round(100*time.Millisecond))),
		check("creep-3-months: compressed weeks between the first ticket-level SLO burn alert and the first failed deploy, beside the report's headroom flag (times in compressed weeks from the start)",
			value, "≥ 1 week before", ticketOK && lead >= 1),
		info("creep-3-months: first page-level SLO burn alert", pageAt),
		info("creep-3-months: first firing of each SLO alert (the deploy objectives need 5 deploys in an alert's long window; the scenario has 3 a week)",
			strings.Join(perSLO, " · ")+slowSyncs),
	}
}

// sloUnread are the generated records that no alert reads: the 28-day
// error ratio and the budget left, made of it.
var sloUnread = []string{"scaplock_slo:error_ratio:rate28d", "scaplock_slo:error_budget_remaining:ratio"}

// alertRules writes to out the rule file at path without its sloUnread
// records and returns out's absolute path and how many rules it dropped.
// It fails if a rule it keeps reads one of them.
func alertRules(path, out string) (string, int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", 0, err
	}
	var f struct {
		Groups []struct {
			Name  string           `yaml:"name"`
			Rules []map[string]any `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	dropped := 0
	for g := range f.Groups {
		kept := f.Groups[g].Rules[:0]
		for _, r := range f.Groups[g].Rules {
			if rec, _ := r["record"].(string); slices.Contains(sloUnread, rec) {
				dropped++
				continue
			}
			expr, _ := r["expr"].(string)
			for _, u := range sloUnread {
				if strings.Contains(expr, u) {
					return "", 0, fmt.Errorf("%s: a rule kept reads %s", path, u)
				}
			}
			kept = append(kept, r)
		}
		f.Groups[g].Rules = kept
	}
	b, err := yaml.Marshal(f)
	if err != nil {
		return "", 0, err
	}
	if err := os.WriteFile(out, b, 0o600); err != nil {
		return "", 0, err
	}
	abs, err := filepath.Abs(out)
	return abs, dropped, err
}

// earliest is the first firing of any alert of severity.
func earliest(fired map[sloAlert]time.Duration, severity string) (time.Duration, bool) {
	first, ok := time.Duration(0), false
	for a, t := range fired {
		if a.severity == severity && (!ok || t < first) {
			first, ok = t, true
		}
	}
	return first, ok
}

// sloInput is promtool's input: cumulative counters, one sample per sloStep.
type sloInput struct {
	steps  int
	series map[string][]float64 // by series selector
}

func (in sloInput) span() time.Duration { return time.Duration(in.steps-1) * sloStep }

// creepSeries builds the counters scaplockd would export over the stretched
// scenario: each apiserver's probes by result, each probe classified as the
// gate classifies a readyz answer (error: no 2xx answer; slow: at or above
// warn seconds; good: the rest), and the deploys of releases (counted when
// they were released) by outcome, with their durations in the bridge's sync
// histogram — each deploy is one scap sync the bridge would see.
func creepSeries(s *sim.Scenario, releases []apiv1.Event, warn float64) sloInput {
	steps := int(time.Duration(int64(s.Duration())*sloStretch)/sloStep) + 1
	in := sloInput{steps: steps, series: map[string][]float64{}}
	// add counts n events at step; the counters are summed up at the end.
	add := func(name string, step int, n float64) {
		c, ok := in.series[name]
		if !ok {
			c = make([]float64, steps)
			in.series[name] = c
		}
		c[step] += n
	}
	cluster := strings.ToLower(s.Name())
	for _, h := range s.Hosts() {
		probes := func(result string) string {
			return fmt.Sprintf(`scaplock_apiserver_probes_total{cluster=%q,apiserver=%q,result=%q}`, cluster, h, result)
		}
		for _, r := range []string{health.ProbeGood, health.ProbeSlow, health.ProbeError} {
			add(probes(r), 0, 0)
		}
		for i := 1; i < steps; i++ {
			add(probes(probeClass(s.At(h, unstretch(i)), warn)), i, float64(sloProbesPerStep))
		}
	}
	deploys := func(outcome apiv1.Outcome) string {
		return fmt.Sprintf(`scaplock_deploys_total{scope=%q,outcome=%q}`, cluster, outcome)
	}
	add(deploys(apiv1.OutcomeSucceeded), 0, 0)
	add(deploys(apiv1.OutcomeFailed), 0, 0)
	syncs := fmt.Sprintf(`scaplock_scap_sync_duration_seconds_count{host=%q}`, sloSyncHost)
	fast := fmt.Sprintf(`scaplock_scap_sync_duration_seconds_bucket{host=%q,le="%d"}`, sloSyncHost, sloSyncLimit)
	add(syncs, 0, 0)
	add(fast, 0, 0)
	for _, e := range releases {
		if e.Outcome == "" || e.DurationS == nil {
			continue
		}
		step := min(int(time.Duration(int64(e.Time.Sub(s.Start()))*sloStretch)/sloStep)+1, steps-1)
		add(deploys(e.Outcome), step, 1)
		add(syncs, step, 1)
		if *e.DurationS <= sloSyncLimit {
			add(fast, step, 1)
		}
	}
	for _, c := range in.series {
		for i := 1; i < len(c); i++ {
			c[i] += c[i-1]
		}
	}
	return in
}

// unstretch is the scenario time of step i of the stretched series.
func unstretch(i int) time.Duration {
	return time.Duration(int64(time.Duration(i)*sloStep) / sloStretch)
}

// probeClass is the SLI's result for a readyz answer the scenario scripts.
func probeClass(v sim.Values, warn float64) string {
	switch {
	case v.ReadyzStatus < 200 || v.ReadyzStatus > 299:
		return health.ProbeError
	case v.ReadyzLatency.Seconds() >= warn:
		return health.ProbeSlow
	}
	return health.ProbeGood
}

// firstFirings runs promtool test rules on in with the rules file and
// returns when each alert of sloAlerts first fired (missing: never).
// promtool test rules only says pass or fail, so each question is a test
// whose expectation (-2) no answer can meet: promtool's failure report then
// prints the answer it got, the earliest firing timestamp or -1.
func firstFirings(ctx context.Context, dir, rules string, in sloInput) (map[sloAlert]time.Duration, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "rule_files:\n  - %s\nevaluation_interval: %s\ntests:\n  - interval: %s\n    input_series:\n", rules, promDur(sloEvalEvery), promDur(sloStep))
	for name, c := range in.series {
		fmt.Fprintf(&b, "      - series: '%s'\n        values: '", name)
		for i, v := range c {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
		}
		b.WriteString("'\n")
	}
	end := in.span().Truncate(sloEvalEvery)
	b.WriteString("    promql_expr_test:\n")
	for _, a := range sloAlerts {
		fmt.Fprintf(&b, "      - expr: min(min_over_time(timestamp(ALERTS{alertname=\"ScaplockSLOBudgetBurn\",alertstate=\"firing\",slo=%q,severity=%q})[%s:%s])) or vector(-1)\n        eval_time: %s\n        exp_samples:\n          - value: -2\n",
			a.slo, a.severity, promDur(end), promDur(sloEvalEvery), promDur(end))
	}
	test := filepath.Join(dir, "creep-slo.test.yaml")
	if err := os.WriteFile(test, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "promtool", "test", "rules", test)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, err
	}
	got, perr := parseGots(out)
	if perr != nil || len(got) != len(sloAlerts) {
		return nil, fmt.Errorf("read %d answers of %d from promtool (%v): %s", len(got), len(sloAlerts), perr, lastLines(out, 5))
	}
	fired := map[sloAlert]time.Duration{}
	for i, a := range sloAlerts {
		if got[i] >= 0 {
			fired[a] = time.Duration(int64(got[i]*float64(time.Second)) / sloStretch)
		}
	}
	return fired, nil
}

// parseGots reads the value of each "got: {} V" line of promtool's failure
// report, in the order of the tests.
func parseGots(out []byte) ([]float64, error) {
	var got []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "got: {}")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return got, fmt.Errorf("promtool's answer %q: %w", sc.Text(), err)
		}
		got = append(got, v)
	}
	return got, sc.Err()
}

// promDur writes d in whole minutes, which promtool reads.
func promDur(d time.Duration) string { return fmt.Sprintf("%dm", int64(d/time.Minute)) }
