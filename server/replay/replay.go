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

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/health/sim"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/server/gate"
)

// DefaultLatencyScale shrinks every scripted readyz latency, and the
// latency thresholds with it, so an hour of scenario replays in seconds
// while the gate still compares real, timed HTTP answers with its limits.
const DefaultLatencyScale = 0.05

// DefaultDeployLength is how long a replayed deploy holds its deploy hold:
// as long as the scenarios' deploy-burst delay, so the hold ends as the
// load it caused begins — as at 12:23, when helmfile apply gave up while
// the apiservers were still saturated. It is the hardest case for the
// gate: nothing but the deploy-aware cooldown stands between a retry and
// the burst.
const DefaultDeployLength = 10 * time.Second

// DeployOwner owns the replay's deploy holds.
const DeployOwner = "deployer"

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
	// DeployLength is how long each scripted deploy that preflight allows
	// holds its deploy hold (DefaultDeployLength by default).
	DeployLength time.Duration
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
	// Degraded: the deploy started inside a ground-truth degraded interval;
	// Harmful: inside a harmful one.
	Degraded, Harmful bool
	Why               string // the ground truth's reason when Degraded
	Refused           bool
	// Message is the refusal a deployer read (replays only).
	Message string
}

// Burst is one stretch of ground-truth degradation: overlapping degraded
// intervals of any host, merged.
type Burst struct {
	Span
	Why string
	// Harmful: some interval merged into it is harmful.
	Harmful bool
	// Caught: the detector was on at some moment of the burst.
	Caught bool
}

// Detection scores a detector's on-spans against a scenario's ground truth.
type Detection struct {
	Until   time.Duration
	Deploys []DeployOutcome
	Bursts  []Burst
	// On are the stretches the detector held (refused deploys), in order:
	// for the gate, its health holds (trips).
	On []Span
	// Cooldown are the stretches the gate's deploy-aware cooldown held;
	// none for a detector that does not know about deploys.
	Cooldown []Span
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
			if i := slices.IndexFunc(cov, func(iv sim.Interval) bool { return iv.Harmful }); i >= 0 {
				o.Harmful, o.Why = true, cov[i].Host+": "+cov[i].Why
			}
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
			if iv.Harmful && !out[n-1].Harmful {
				out[n-1].Harmful, out[n-1].Why = true, iv.Host+": "+iv.Why
			}
			continue
		}
		out = append(out, Burst{Span: Span{iv.From, iv.To}, Why: iv.Host + ": " + iv.Why, Harmful: iv.Harmful})
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

// HarmfulDeploys counts deploys made inside a harmful interval, refused or
// not.
func (d Detection) HarmfulDeploys() int {
	return count(d.Deploys, func(o DeployOutcome) bool { return o.Harmful })
}

// HarmfulBursts counts the harmful bursts.
func (d Detection) HarmfulBursts() int {
	return count(d.Bursts, func(b Burst) bool { return b.Harmful })
}

// LetIntoHarmful counts deploys let through into a harmful interval.
func (d Detection) LetIntoHarmful() int {
	return count(d.Deploys, func(o DeployOutcome) bool { return o.Harmful && !o.Refused })
}

// HarmfulUnheld counts harmful bursts during which no hold (trip or
// cooldown) was in force at any moment.
func (d Detection) HarmfulUnheld() int {
	return count(d.Bursts, func(b Burst) bool {
		return b.Harmful && !slices.ContainsFunc(d.On, b.Overlaps) && !slices.ContainsFunc(d.Cooldown, b.Overlaps)
	})
}

// HarmlessOnly counts the spans of on that overlap no harmful burst: holds
// engaged for harmless spikes only (or for nothing at all).
func (d Detection) HarmlessOnly(on []Span) int {
	return count(on, func(sp Span) bool {
		return !slices.ContainsFunc(d.Bursts, func(b Burst) bool { return b.Harmful && b.Overlaps(sp) })
	})
}

// RefusedWhileHealthy is the time deploys were refused (any span of On or
// Cooldown) while no harmful burst was under way.
func (d Detection) RefusedWhileHealthy() time.Duration {
	var total time.Duration
	for _, sp := range Union(append(slices.Clone(d.On), d.Cooldown...)) {
		total += sp.To - sp.From
		for _, b := range d.Bursts {
			if b.Harmful && b.Overlaps(sp) {
				total -= min(sp.To, b.To) - max(sp.From, b.From)
			}
		}
	}
	return total
}

// Union sorts spans and merges those that overlap or touch.
func Union(spans []Span) []Span {
	spans = slices.Clone(spans)
	slices.SortFunc(spans, func(a, b Span) int { return cmp.Compare(a.From, b.From) })
	var out []Span
	for _, s := range spans {
		if n := len(out); n > 0 && s.From <= out[n-1].To {
			out[n-1].To = max(out[n-1].To, s.To)
			continue
		}
		out = append(out, s)
	}
	return out
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
	// Impacts are the deploy impacts the gate recorded, oldest first.
	Impacts []apiv1.DeployImpact
	// Releases are the deploy holds' releases with their outcomes.
	Releases []apiv1.Event
}

// Run plays cfg.Scenario through the real gate: a simulated control
// plane on loopback driven by a manual clock, a Gate on a real lock.Store,
// one Gate.Step per interval of scenario time. After each step it records
// whether the cluster's auto hold and cooldown hold are active, and for
// each scripted deploy before the next step whether preflight
// (Store.Verdict) refuses it; a deploy it allows takes the deploy hold for
// cfg.DeployLength, so the gate sees deploys as it does in production.
// Cancelling ctx stops the replay and returns ctx's error.
func Run(ctx context.Context, cfg Config) (Result, error) {
	s := cfg.Scenario
	if s == nil || cfg.Etcd == nil {
		return Result{}, errors.New("replay: Scenario and Etcd are required")
	}
	cfg.Interval = cmp.Or(cfg.Interval, health.DefaultInterval)
	cfg.LatencyScale = cmp.Or(cfg.LatencyScale, DefaultLatencyScale)
	cfg.DeployLength = cmp.Or(cfg.DeployLength, DefaultDeployLength)
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
	cluster := hc.Clusters[0].Name
	scope := []lock.Scope{lock.Scope(cluster)}
	deploys := s.Deploys()
	outcomes := map[time.Duration]DeployOutcome{}
	running := map[string]Span{} // deploy hold id -> from its start to the scenario time it ends
	var on, cooling []Span
	extend := func(spans []Span, t time.Duration) []Span {
		if n := len(spans); n > 0 && spans[n-1].To == t {
			spans[n-1].To = t + cfg.Interval
			return spans
		}
		return append(spans, Span{t, t + cfg.Interval})
	}
	for t := time.Duration(0); t < cfg.Until; t += cfg.Interval {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		clock.Set(t)
		for id, d := range running {
			if d.To <= t {
				if err := release(ctx, store, s, id, d); err != nil {
					return Result{}, err
				}
				delete(running, id)
			}
		}
		g.Step(ctx, scenarioNow())
		res.Evaluations++
		if _, err := store.Get(gate.AutoHoldID(cluster)); err == nil {
			if res.FirstHeld < 0 {
				res.FirstHeld = t
			}
			on = extend(on, t)
		}
		if _, err := store.Get(gate.CooldownHoldID(cluster)); err == nil {
			cooling = extend(cooling, t)
		}
		for len(deploys) > 0 && deploys[0] < t+cfg.Interval {
			at := deploys[0]
			deploys = deploys[1:]
			o, id, err := deploy(ctx, store, scope, s.Start().Add(at))
			if err != nil {
				return Result{}, fmt.Errorf("replay: the deploy at %s: %w", at, err)
			}
			if id != "" {
				running[id] = Span{at, at + cfg.DeployLength}
			}
			outcomes[at] = o
		}
		if cfg.Progress != nil {
			cfg.Progress(t+cfg.Interval, cfg.Until)
		}
	}
	for id, d := range running { // the deploys still running when the replay ends finish too
		if err := release(ctx, store, s, id, d); err != nil {
			return Result{}, err
		}
	}
	for i := range on {
		on[i].To = min(on[i].To, cfg.Until)
	}
	for i := range cooling {
		cooling[i].To = min(cooling[i].To, cfg.Until)
	}
	res.Detection = Score(s, cfg.Until, on)
	res.Cooldown = cooling
	for i := range res.Deploys {
		o := outcomes[res.Deploys[i].At]
		res.Deploys[i].Refused, res.Deploys[i].Message = o.Refused, o.Message
	}
	res.Elapsed = time.Since(began)
	if res.Impacts, err = impacts(ctx, store); err != nil {
		return Result{}, err
	}
	if res.Releases, err = releases(ctx, store); err != nil {
		return Result{}, err
	}
	return res, nil
}

// release ends the deploy hold id of the deploy d with the outcome the
// scenario's ground truth gives it, as scaplock run records it.
func release(ctx context.Context, store *lock.Store, s *sim.Scenario, id string, d Span) error {
	failed, took := s.DeployOutcome(d.From)
	o := lock.DeployOutcome{Outcome: apiv1.OutcomeSucceeded}
	code, secs := 0, took.Seconds()
	if failed {
		o.Outcome, code = apiv1.OutcomeFailed, 1
	}
	o.ExitCode, o.DurationS = &code, &secs
	if _, err := store.Release(ctx, lock.ReleaseRequest{
		ID: id, Actor: DeployOwner, Reason: "scripted deploy finished", Kinds: []lock.Kind{lock.KindDeploy}, Owner: DeployOwner,
		Outcome: &lock.ReleaseOutcome{DeployOutcome: o},
	}); err != nil {
		return fmt.Errorf("replay: ending the deploy at %s: %w", d.From, err)
	}
	return nil
}

// releases reads the deploy holds' releases of the replay's history.
func releases(ctx context.Context, store *lock.Store) ([]apiv1.Event, error) {
	var out []apiv1.Event
	q := lock.HistoryQuery{Action: apiv1.ActionReleased, Kind: lock.KindDeploy, Limit: lock.MaxHistoryLimit}
	for {
		page, err := store.History(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("replay: reading the releases: %w", err)
		}
		out = append(out, page.Events...)
		if page.Next == "" {
			return out, nil
		}
		q.Cursor = page.Next
	}
}

// impacts reads the deploy_impact events of the replay's history.
func impacts(ctx context.Context, store *lock.Store) ([]apiv1.DeployImpact, error) {
	var out []apiv1.DeployImpact
	q := lock.HistoryQuery{Action: apiv1.ActionDeployImpact, Limit: lock.MaxHistoryLimit}
	for {
		page, err := store.History(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("replay: reading the deploy impacts: %w", err)
		}
		for _, e := range page.Events {
			if e.Impact != nil {
				out = append(out, *e.Impact)
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	slices.SortFunc(out, func(a, b apiv1.DeployImpact) int { return a.From.Compare(b.From) })
	return out, nil
}

// deploy is one scripted deploy: preflight, and when allowed, the deploy
// hold (whose id it returns) as scaplock run takes it.
func deploy(ctx context.Context, store *lock.Store, scope []lock.Scope, at time.Time) (DeployOutcome, string, error) {
	v := store.Verdict(scope)
	if !v.Allowed {
		return DeployOutcome{Refused: true, Message: apiv1.RenderRefusal(v.Scopes, v.Reasons(), "", at)}, "", nil
	}
	h, err := store.AcquireDeploy(ctx, lock.DeployRequest{
		Scope: scope[0], Owner: DeployOwner, Reason: "scripted deploy at " + apiv1.At(at, at),
	})
	var refused *lock.RefusedError
	var conflict *lock.DeployConflictError
	switch {
	case errors.As(err, &refused), errors.As(err, &conflict):
		return DeployOutcome{Refused: true, Message: err.Error()}, "", nil
	case err != nil:
		return DeployOutcome{}, "", err
	}
	return DeployOutcome{}, h.ID, nil
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
