package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scaplock/scaplock/api"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/server/servertest"
)

const (
	// outcomeRounds follow one warm-up round, not counted; in rotating
	// order each daemon is measured first, second and third equally often.
	outcomeRounds = 9
	// outcomeCycleEvery paces each daemon's deploys while it is measured:
	// far more than production's tens a day, so recording's cost shows.
	outcomeCycleEvery = 250 * time.Millisecond
	// outcomeRSSSlack is the RSS difference below which two daemons count
	// as equal when the A/A pair differs by less.
	outcomeRSSSlack = 0.05
)

// outcomeWindows keep the healthy apiserver healthy on a loaded machine:
// a probe answered slowly because the CPUs are busy with the preflight load
// would engage the cooldown after each deploy and refuse the next.
var outcomeWindows = gateWindows{
	interval: time.Second, tripAfter: 3, clearAfter: 2,
	timeout: 900 * time.Millisecond, warn: 700 * time.Millisecond, crit: 850 * time.Millisecond,
}

// outcomeDaemon is one scaplockd of the cost figure and what it gathered.
type outcomeDaemon struct {
	name      string
	recording bool // its deploys record outcomes and the bridge its syncs
	p         *process
	deployer  *client
	bridge    *client
	rss       *rssSampler
	preflight loadResult
	perRound  []float64 // preflight req/s in each round
	cycles    int
	refused   int // deploys the gate refused all the same (a slow probe, a cooldown)
	cycleTime time.Duration
}

// outcomeCost measures what recording deploy outcomes costs preflight.
// scaplockd has no switch to turn recording off, so three identical
// daemons (own process, embedded etcd, one healthy apiserver probed every
// 500 ms) run two workloads: "on" releases each deploy hold as scaplock
// run does, with outcome, exit code and duration (the release then also
// records the peak health of the cluster), and records a synced event as
// the bridge does; "off" and "off B" release their deploy holds without
// an outcome and record no sync. Each daemon is measured in turn, in
// rotating order over outcomeRounds rounds, with 64 keep-alive preflight
// clients on codfw while its own deploys cycle on eqiad; off B against
// off is the A/A comparison that says how far two equal daemons differ.
func outcomeCost(ctx context.Context, dir string) []Row {
	const figure = "outcome recording cost"
	a, clusters, err := oneAPIServer(dir, outcomeWindows)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer a.Close()
	secret := filepath.Join(dir, "jwt.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("o", 40)), 0o600); err != nil {
		return []Row{failed(figure, err)}
	}
	deployer, err := servertest.Token(secret, "deployer", api.RoleDeployer)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	bridge, err := servertest.Token(secret, "scap-bridge", api.RoleDeployer)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	ds := []*outcomeDaemon{{name: "off"}, {name: "on", recording: true}, {name: "off B"}}
	for _, d := range ds {
		p, err := startChild(ctx, "scaplockd", map[string]string{
			"SCAPLOCK_DATA_DIR": filepath.Join(dir, strings.ReplaceAll(d.name, " ", "")), "SCAPLOCK_SCOPES": "eqiad,codfw",
			"SCAPLOCK_JWT_SECRET_FILE": secret, "SCAPLOCK_CLUSTERS_FILE": clusters,
		})
		if err != nil {
			return []Row{failed(figure, err)}
		}
		defer p.stop()
		d.p, d.deployer, d.bridge = p, newClient(p.url, deployer), newClient(p.url, bridge)
		if err := waitHealthy(ctx, d.deployer, "eqiad", 20*time.Second); err != nil {
			return []Row{failed(figure, fmt.Errorf("%s: %w", d.name, err))}
		}
		d.rss = sampleRSS(p.cmd.Process.Pid, 100*time.Millisecond)
		defer d.rss.stop()
	}
	for round := range outcomeRounds + 1 {
		for i := range ds {
			d := ds[(round+i)%len(ds)]
			if err := d.measure(ctx, round); err != nil {
				return []Row{failed(figure, fmt.Errorf("%s, round %d: %w", d.name, round, err))}
			}
		}
		progress("  round %d: preflight %s", round, roundRates(ds))
		if round == 0 { // the warm-up
			for _, d := range ds {
				*d = outcomeDaemon{name: d.name, recording: d.recording, p: d.p, deployer: d.deployer, bridge: d.bridge, rss: d.rss}
			}
		}
	}
	for _, d := range ds {
		if err := d.verify(ctx); err != nil {
			return []Row{failed(figure, err)}
		}
	}
	off, on, offB := ds[0], ds[1], ds[2]
	// Per round, on and off B against off: the machine's other work weighs
	// on a round's three slices alike, and the A/A ratios' range is the
	// spread two equal daemons show.
	var ratios, aas []float64
	for r := range outcomeRounds {
		ratios = append(ratios, on.perRound[r]/off.perRound[r])
		aas = append(aas, offB.perRound[r]/off.perRound[r])
	}
	ratio, aa := medianOf(ratios), medianOf(aas)
	lo, hi := slices.Min(aas), slices.Max(aas)
	offRSS := (off.rss.max() + offB.rss.max()) / 2
	rssSpread := max(math.Abs(off.rss.max()-offB.rss.max()), outcomeRSSSlack*offRSS)
	describe := func(d *outcomeDaemon) string {
		return fmt.Sprintf("%.0f req/s, p99 %s; %d deploy cycles (%.1f/s, mean %s; %d refused by the gate); peak RSS %.1f MB", d.preflight.rate(), fmtDur(percentile(d.preflight.lat, 99)),
			d.cycles, float64(d.cycles)/d.preflight.took.Seconds(), fmtDur(d.cycleTime/time.Duration(max(d.cycles, 1))), d.refused, d.rss.max())
	}
	return []Row{
		info("outcome recording cost, setup (no switch turns recording off: the same daemons with and without it in their workload)",
			fmt.Sprintf("3 scaplockd, own process and embedded etcd, one apiserver probed every %s; in each of %d rounds (after a warm-up round) each daemon in turn, in rotating order: %d keep-alive preflight clients on codfw for %s while a deploy hold on eqiad cycles every %s — on: released with outcome, exit code and duration, plus a synced event; off, off B: released without",
				outcomeWindows.interval, outcomeRounds, verdictClients, verdictDuration/verdictSlices, outcomeCycleEvery)),
		info("outcome recording: off / on / off B", fmt.Sprintf("%s · %s · %s", describe(off), describe(on), describe(offB))),
		check(fmt.Sprintf("preflight throughput with outcome recording on vs off, median of %d rounds' ratios (A/A: off B vs off)", outcomeRounds),
			fmt.Sprintf("%.2f× (overall %.2f×); A/A %.2f×, from %.2f× to %.2f× round by round; load average %s", ratio, on.preflight.rate()/off.preflight.rate(), aa, lo, hi, loadAverage()),
			"no measurable change: within the A/A range", ratio >= lo && ratio <= hi),
		check("scaplockd peak RSS with outcome recording on vs off",
			fmt.Sprintf("%.1f vs %.1f MB (A/A: %.1f vs %.1f MB)", on.rss.max(), off.rss.max(), offB.rss.max(), off.rss.max()),
			fmt.Sprintf("no measurable change: within the A/A difference or %.0f%%", 100*outcomeRSSSlack), math.Abs(on.rss.max()-offRSS) <= rssSpread),
	}
}

// measure runs one slice of preflight load on d while its deploys cycle.
func (d *outcomeDaemon) measure(ctx context.Context, round int) error {
	url := d.deployer.base + "/api/v1/preflight?scope=codfw"
	loadFor(ctx, url, 300*time.Millisecond, nil)
	wctx, stop := context.WithCancel(ctx)
	var werr error
	var wg sync.WaitGroup
	wg.Go(func() { werr = d.cycle(wctx, round) })
	before := len(d.preflight.lat)
	took := d.preflight.took
	err := d.preflight.add(ctx, url)
	stop()
	wg.Wait()
	d.perRound = append(d.perRound, float64(len(d.preflight.lat)-before)/(d.preflight.took-took).Seconds())
	if err != nil {
		return err
	}
	return werr
}

// cycle takes and releases a deploy hold on eqiad every outcomeCycleEvery
// until ctx ends; when d records, the release carries the outcome and the
// bridge records the sync.
func (d *outcomeDaemon) cycle(ctx context.Context, round int) error {
	t := time.NewTicker(outcomeCycleEvery)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		began := time.Now()
		var h apiv1.Hold
		// A cycle begun finishes even when the slice ends: a hold left
		// behind would refuse the next slice's deploys.
		whole := context.WithoutCancel(ctx)
		err := d.deployer.do(whole, http.MethodPost, "/api/v1/deploys", apiv1.DeployBody{Scope: "eqiad", Reason: "bench: sync-prod-k8s", TTL: "1m"}, &h, http.StatusCreated)
		if se := (*statusError)(nil); errors.As(err, &se) && se.Code == http.StatusLocked {
			d.refused++
			continue
		}
		if err != nil {
			return err
		}
		release := apiv1.ReleaseBody{Reason: "bench: done"}
		if d.recording {
			code, secs := n%2, 210+float64(n%200)
			release.Outcome, release.ExitCode, release.DurationS = apiv1.OutcomeSucceeded, &code, &secs
			if code != 0 {
				release.Outcome = apiv1.OutcomeFailed
			}
		}
		if err := d.deployer.do(whole, http.MethodDelete, "/api/v1/deploys/"+h.ID, release, nil, http.StatusOK); err != nil {
			return err
		}
		if d.recording {
			sync := apiv1.SyncBody{ID: fmt.Sprintf("bench-%d-%d", round, n), Host: "deploy1002", Pid: 4242, User: "bench", EndedAt: time.Now(), DurationS: *release.DurationS}
			if err := d.bridge.do(whole, http.MethodPost, "/api/v1/syncs", sync, nil, http.StatusCreated); err != nil {
				return err
			}
		}
		d.cycles++
		d.cycleTime += time.Since(began)
	}
}

// verify checks that d recorded what its workload says: outcomes and
// synced events when it records, none otherwise.
func (d *outcomeDaemon) verify(ctx context.Context) error {
	var released, synced struct{ Events []apiv1.Event }
	if err := d.deployer.do(ctx, http.MethodGet, "/api/v1/history?action=released&limit=50", nil, &released, http.StatusOK); err != nil {
		return err
	}
	if err := d.deployer.do(ctx, http.MethodGet, "/api/v1/history?action=synced&limit=50", nil, &synced, http.StatusOK); err != nil {
		return err
	}
	withOutcome := 0
	for _, e := range released.Events {
		if e.Outcome != "" {
			withOutcome++
		}
	}
	switch {
	case len(released.Events) == 0:
		return fmt.Errorf("%s: no deploy hold was released", d.name)
	case d.recording && (withOutcome != len(released.Events) || len(synced.Events) == 0):
		return fmt.Errorf("%s: %d of %d releases carry an outcome, %d synced events", d.name, withOutcome, len(released.Events), len(synced.Events))
	case !d.recording && (withOutcome != 0 || len(synced.Events) != 0):
		return fmt.Errorf("%s: %d releases carry an outcome, %d synced events, want none", d.name, withOutcome, len(synced.Events))
	}
	return nil
}

func roundRates(ds []*outcomeDaemon) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%s %.0f req/s", d.name, d.perRound[len(d.perRound)-1]))
	}
	return strings.Join(parts, ", ")
}

// medianOf is the median of xs (the mean of the middle two for an even
// count); 0 for none.
func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	return (s[(n-1)/2] + s[n/2]) / 2
}
