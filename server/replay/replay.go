// Package replay plays a simulated scenario (health/sim) through the real
// gate on a real etcd with a manual clock, and scores when the gate held
// against the scenario's ground truth. The bench and the tests use it.
package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/health/sim"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/server/gate"
)

// DefaultLatencyScale shrinks every scripted readyz latency, and the
// latency thresholds with it, so an hour of scenario replays in seconds
// while the gate still compares real, timed HTTP answers with its limits.
const DefaultLatencyScale = 0.05

// Config says what to replay through the gate.
type Config struct {
	Scenario *sim.Scenario
	// Etcd is the etcd the replay's store writes to.
	Etcd *clientv3.Client
	// Prefix is the store's key prefix; a fresh one per replay by default,
	// so replays never see each other's holds.
	Prefix string
	// Until ends the replay early; 0 replays the whole scenario.
	Until time.Duration
	// Interval is the gate's evaluation interval in scenario time
	// (health.DefaultInterval by default). Every other setting of the
	// cluster is the clusters file's default.
	Interval time.Duration
	// LatencyScale multiplies scripted readyz latencies and the latency
	// thresholds alike (DefaultLatencyScale by default). The real
	// overhead of a loopback request (a fraction of a millisecond, more under
	// load) is magnified by 1/LatencyScale, so too small a scale makes
	// healthy latencies look like warn.
	LatencyScale float64
	Logger       *slog.Logger
	// Progress, when set, is called after each evaluation.
	Progress func(done, total time.Duration)
}

// Span is a stretch [From, To) of scenario time.
type Span struct{ From, To time.Duration }

// Contains reports whether t falls inside the span.
func (s Span) Contains(t time.Duration) bool { return t >= s.From && t < s.To }

// Overlaps reports whether the spans share a moment.
func (s Span) Overlaps(o Span) bool { return s.From < o.To && o.From < s.To }

// DeployOutcome is what happened to one scripted deploy.
type DeployOutcome struct {
	At time.Duration
	// Degraded: the deploy started inside a ground-truth degraded interval.
	Degraded bool
	Why      string // the ground truth's reason when Degraded
	Refused  bool
}

// Burst is one stretch of ground-truth degradation: overlapping degraded
// intervals of any host, merged.
type Burst struct {
	Span
	Why string
	// Caught: the detector was on at some moment of the burst.
	Caught bool
}

// Detection scores a detector's on-spans against a scenario's ground truth.
type Detection struct {
	Until   time.Duration
	Deploys []DeployOutcome
	Bursts  []Burst
	// On are the stretches the detector held (refused deploys), in order.
	On []Span
}

// Score judges a detector that was on during the spans on (sorted, not
// overlapping) against s's ground truth up to until.
func Score(s *sim.Scenario, until time.Duration, on []Span) Detection {
	d := Detection{Until: until, On: on}
	truth := s.Degraded()
	onAt := func(t time.Duration) bool {
		return slices.ContainsFunc(on, func(sp Span) bool { return sp.Contains(t) })
	}
	for _, at := range s.Deploys() {
		if at >= until {
			break
		}
		o := DeployOutcome{At: at, Refused: onAt(at)}
		if cov := sim.Covering(truth, at); len(cov) > 0 {
			o.Degraded, o.Why = true, cov[0].Host+": "+cov[0].Why
		}
		d.Deploys = append(d.Deploys, o)
	}
	for _, b := range MergeIntervals(truth, until) {
		b.Caught = slices.ContainsFunc(on, b.Overlaps)
		d.Bursts = append(d.Bursts, b)
	}
	return d
}

// MergeIntervals merges overlapping or touching intervals (of any host)
// into bursts, clipped to [0, until).
func MergeIntervals(ivs []sim.Interval, until time.Duration) []Burst {
	ivs = slices.Clone(ivs)
	slices.SortFunc(ivs, func(a, b sim.Interval) int { return cmp.Compare(a.From, b.From) })
	var out []Burst
	for _, iv := range ivs {
		if iv.From >= until {
			break
		}
		iv.To = min(iv.To, until)
		if n := len(out); n > 0 && iv.From <= out[n-1].To {
			out[n-1].To = max(out[n-1].To, iv.To)
			continue
		}
		out = append(out, Burst{Span: Span{iv.From, iv.To}, Why: iv.Host + ": " + iv.Why})
	}
	return out
}

// RefusedDegraded counts deploys refused while the control plane was degraded.
func (d Detection) RefusedDegraded() int {
	return count(d.Deploys, func(o DeployOutcome) bool { return o.Degraded && o.Refused })
}

// LetThrough counts deploys let through into a degraded control plane.
func (d Detection) LetThrough() int {
	return count(d.Deploys, func(o DeployOutcome) bool { return o.Degraded && !o.Refused })
}

// RefusedHealthy counts deploys refused while the control plane was fine.
func (d Detection) RefusedHealthy() int {
	return count(d.Deploys, func(o DeployOutcome) bool { return !o.Degraded && o.Refused })
}

// Missed counts bursts during which the detector never held.
func (d Detection) Missed() int {
	return count(d.Bursts, func(b Burst) bool { return !b.Caught })
}

func count[T any](xs []T, f func(T) bool) int {
	n := 0
	for _, x := range xs {
		if f(x) {
			n++
		}
	}
	return n
}

// Result is a replay's outcome: the gate's spans scored against the
// ground truth, with each deploy's Refused taken from the store's verdict.
type Result struct {
	Detection
	Scenario string
	Interval time.Duration
	// Evaluations is the number of gate steps.
	Evaluations int
	// FirstHeld is the scenario time of the first evaluation that held, -1
	// when none did.
	FirstHeld time.Duration
	// Elapsed is the wall time the replay took.
	Elapsed time.Duration
}

// Run plays cfg.Scenario through the real gate: a simulated control
// plane on loopback driven by a manual clock, a Gate on a real lock.Store,
// one Gate.Step per interval of scenario time. After each step it records
// whether the cluster's auto hold is active, and for each scripted deploy
// before the next step whether preflight (Store.Verdict) refuses it.
// Cancelling ctx stops the replay and returns ctx's error.
func Run(ctx context.Context, cfg Config) (Result, error) {
	s := cfg.Scenario
	if s == nil || cfg.Etcd == nil {
		return Result{}, errors.New("replay: Scenario and Etcd are required")
	}
	cfg.Interval = cmp.Or(cfg.Interval, health.DefaultInterval)
	cfg.LatencyScale = cmp.Or(cfg.LatencyScale, DefaultLatencyScale)
	if cfg.Until <= 0 || cfg.Until > s.Duration() {
		cfg.Until = s.Duration()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = fmt.Sprintf("/scaplock-replay/%s-%d/", s.Name(), time.Now().UnixNano())
	}

	var clock sim.ManualClock
	// The prober divides counter deltas by the scenario time between the
	// `now`s it is given, so counters advance at the scripted rates (no
	// compression). The no-answer windows drop the connection after the
	// scaled default timeout.
	cp, err := sim.Serve(s, clock.Now, sim.LatencyScale(cfg.LatencyScale), sim.CounterCompression(1),
		sim.MaxLatency(time.Duration(float64(health.DefaultTimeout)*cfg.LatencyScale)))
	if err != nil {
		return Result{}, err
	}
	defer cp.Close()
	hc, err := replayClusters(s.Name(), cp.Endpoints(), cfg.Interval, cfg.LatencyScale)
	if err != nil {
		return Result{}, err
	}
	scenarioNow := func() time.Time { return s.Start().Add(clock.Now()) }
	view := gate.NewView(lock.NewKeys(cfg.Prefix), cfg.Logger)
	store, err := lock.Open(ctx, cfg.Etcd, lock.Options{Prefix: cfg.Prefix, Logger: cfg.Logger, Now: scenarioNow, Parts: view.Parts()})
	if err != nil {
		return Result{}, fmt.Errorf("replay: %w", err)
	}
	defer store.Close()
	g, err := gate.New(hc, store, view, "replay", prometheus.NewRegistry(), cfg.Logger)
	if err != nil {
		return Result{}, err
	}

	began := time.Now()
	res := Result{Scenario: s.Name(), Interval: cfg.Interval, FirstHeld: -1}
	scope := []lock.Scope{lock.Scope(hc.Clusters[0].Name)}
	deploys := s.Deploys()
	refused := map[time.Duration]bool{}
	var on []Span
	for t := time.Duration(0); t < cfg.Until; t += cfg.Interval {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		clock.Set(t)
		g.Step(ctx, scenarioNow())
		res.Evaluations++
		held := !store.Verdict(scope).Allowed
		if held {
			if res.FirstHeld < 0 {
				res.FirstHeld = t
			}
			if n := len(on); n > 0 && on[n-1].To == t {
				on[n-1].To = t + cfg.Interval
			} else {
				on = append(on, Span{t, t + cfg.Interval})
			}
		}
		for len(deploys) > 0 && deploys[0] < t+cfg.Interval {
			refused[deploys[0]] = !store.Verdict(scope).Allowed
			deploys = deploys[1:]
		}
		if cfg.Progress != nil {
			cfg.Progress(t+cfg.Interval, cfg.Until)
		}
	}
	for i := range on {
		on[i].To = min(on[i].To, cfg.Until)
	}
	res.Detection = Score(s, cfg.Until, on)
	for i := range res.Deploys {
		res.Deploys[i].Refused = refused[res.Deploys[i].At]
	}
	res.Elapsed = time.Since(began)
	return res, nil
}

// replayClusters is the configuration a replay's gate runs with: one
// cluster named after the scenario, the simulated hosts, every default, and
// the latency limits scaled like the simulated latencies.
func replayClusters(name string, eps []sim.Endpoint, interval time.Duration, scale float64) (health.Config, error) {
	d := health.DefaultThresholds.Latency
	c := health.Cluster{
		Name: strings.ToLower(name),
		// A real-time bound on each request; the no-answer windows end
		// sooner (MaxLatency), and a round must end within the interval.
		Timeout:    min(time.Second, interval),
		Thresholds: health.Thresholds{Latency: health.Limits{Warn: d.Warn * scale, Crit: d.Crit * scale}},
	}
	for _, e := range eps {
		c.APIServers = append(c.APIServers, health.APIServer{URL: e.APIServerURL, NodeExporter: e.NodeExporterURL})
	}
	hc := health.Config{Interval: interval, Clusters: []health.Cluster{c}}.WithDefaults()
	if err := hc.Validate(); err != nil {
		return health.Config{}, fmt.Errorf("replay: %w", err)
	}
	return hc, nil
}
