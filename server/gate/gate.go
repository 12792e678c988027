// Package gate is the automatic gate: the replicas elect one leader
// (concurrency.Election), which probes every cluster's control plane each
// interval, evaluates it (health.Evaluate), publishes the report, and holds
// deploys to a degraded cluster with its one auto hold until it recovers.
package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
)

// Actor is the owner of auto holds and the actor of the gate's events.
const Actor = "scaplock"

// AutoHoldID is the one auto hold a cluster can have: a fixed id per
// scope, so two leaders racing can never create two.
func AutoHoldID(cluster string) string { return "auto-" + cluster }

// Gate probes each cluster's control plane and holds deploys while it is
// degraded. Only the elected leader among replicas probes and writes.
type Gate struct {
	cfg     health.Config
	store   *lock.Store
	view    *View
	log     *slog.Logger
	name    string
	metrics *health.Metrics
	state   *prometheus.GaugeVec
	leading prometheus.Gauge

	mu      sync.Mutex
	probers map[string]*health.Prober
	states  map[string]health.State
	guard   *lock.Leadership
	// published is the last report written per cluster, quiet how many
	// rounds have passed since without one.
	published map[string]apiv1.ClusterHealth
	quiet     map[string]int
	// told is the reason readers last had per cluster: the last report's,
	// or that of samples published since.
	told map[string]string
	// deploys are the deploy holds covering each cluster at its last
	// evaluation, to notice when one ends; absorbed says the cluster's
	// current trip was answered by a deploy or its cooldown.
	deploys  map[string]map[string]lock.Hold
	absorbed map[string]bool
	// impacts are the deploys being tallied per cluster.
	impacts map[string]*health.ImpactTally
}

// New builds a gate for cfg; name identifies this replica.
//
// view must be fed by store's watch (lock.Options.Parts = view.Parts()).
func New(cfg health.Config, store *lock.Store, view *View, name string, reg prometheus.Registerer, log *slog.Logger) (*Gate, error) {
	g := &Gate{
		cfg: cfg, store: store, view: view, log: log, name: name, metrics: health.NewMetrics(reg),
		probers: map[string]*health.Prober{}, states: map[string]health.State{},
		published: map[string]apiv1.ClusterHealth{}, quiet: map[string]int{}, told: map[string]string{}, deploys: map[string]map[string]lock.Hold{}, absorbed: map[string]bool{},
		impacts: map[string]*health.ImpactTally{},
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scaplock_gate_state",
			Help: "The gate's view of each cluster: 1 for the current state (ok, degraded, unknown), 0 otherwise.",
		}, []string{"cluster", "state"}),
		leading: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scaplock_gate_leader", Help: "1 while this replica leads the gate (probes and holds).",
		}),
	}
	reg.MustRegister(g.state, g.leading)
	for _, c := range cfg.Clusters {
		p, err := health.NewProber(c)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		g.probers[c.Name] = p
		g.metrics.Init(c)
	}
	return g, nil
}

// Config is the configuration the gate runs with, defaults applied.
func (g *Gate) Config() health.Config { return g.cfg }

// Run campaigns for leadership and, while leading, evaluates every cluster
// each interval. It returns when ctx is cancelled; a lost session (etcd
// unreachable, lease gone) means campaigning again.
func (g *Gate) Run(ctx context.Context, cli *clientv3.Client) {
	for ctx.Err() == nil {
		if err := g.lead(ctx, cli); err != nil && ctx.Err() == nil {
			g.log.Warn("gate leadership lost; campaigning again", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (g *Gate) lead(ctx context.Context, cli *clientv3.Client) error {
	session, err := concurrency.NewSession(cli, concurrency.WithTTL(5), concurrency.WithContext(ctx))
	if err != nil {
		return err
	}
	defer session.Close()
	election := concurrency.NewElection(session, g.store.Keys().Election())
	if err := election.Campaign(ctx, g.name); err != nil {
		return err
	}
	g.log.Info("leading the gate", "replica", g.name)
	g.leading.Set(1)
	defer g.leading.Set(0)
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = election.Resign(rctx)
	}()
	g.mu.Lock()
	g.guard = &lock.Leadership{Key: election.Key(), Rev: election.Rev()}
	g.mu.Unlock()
	g.Adopt()

	tick := time.NewTicker(g.cfg.Interval)
	defer tick.Stop()
	for {
		g.Step(ctx, time.Now())
		select {
		case <-ctx.Done():
			return nil
		case <-session.Done():
			return errors.New("etcd session expired")
		case <-tick.C:
		}
	}
}

// Adopt takes over what a previous leader left: the last published health
// of each cluster, and any auto hold, which keeps the cluster degraded
// until this leader's own evaluations clear it.
func (g *Gate) Adopt() {
	reports, _ := g.view.Reports()
	recent := g.view.Samples()
	holds := g.store.Snapshot().Holds
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.published) // a new term writes its first report in full
	for _, c := range g.cfg.Clusters {
		st := health.State(reports[c.Name])
		// The cached report is shared: build this leader's own hosts, with
		// the recent samples every replica kept.
		hosts := make([]health.HostState, len(st.Hosts))
		for i, h := range st.Hosts {
			hosts[i] = health.HostState{Host: h.Host, Signals: make(map[health.Signal]health.SignalState, len(h.Signals))}
			for sig, ss := range h.Signals {
				ss.Recent = recent[c.Name][h.Host][sig]
				hosts[i].Signals[sig] = ss
			}
		}
		st.Hosts = hosts
		if h, err := g.store.Get(AutoHoldID(c.Name)); err == nil && st.Status != health.StatusDegraded {
			st.Status, st.Since, st.TrippedAt, st.ClearStreak = health.StatusDegraded, h.CreatedAt, h.CreatedAt, 0
		}
		g.states[c.Name] = st
		g.deploys[c.Name] = deploysCovering(holds, c.Name, g.store.Now())
	}
}

// Step runs one probe round and evaluation for every cluster at now, in
// parallel, and acts on the outcome.
func (g *Gate) Step(ctx context.Context, now time.Time) {
	var wg sync.WaitGroup
	for _, c := range g.cfg.Clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.step(ctx, c, now)
		}()
	}
	wg.Wait()
}

func (g *Gate) step(ctx context.Context, c health.Cluster, now time.Time) {
	began := time.Now()
	g.mu.Lock()
	prev, guard := g.states[c.Name], g.guard
	g.mu.Unlock()
	samples := g.probers[c.Name].Probe(ctx, now)
	if ctx.Err() != nil {
		return // a round cut short by shutdown fails every probe: not evidence
	}
	next := health.Evaluate(prev, samples, c, now)
	g.metrics.Observe(c, samples, next, time.Since(began))
	for _, s := range []health.Status{health.StatusOK, health.StatusDegraded, health.StatusUnknown} {
		v := 0.0
		if next.Status == s {
			v = 1
		}
		g.state.WithLabelValues(c.Name, string(s)).Set(v)
	}
	g.mu.Lock()
	g.states[c.Name] = next
	g.mu.Unlock()
	if err := g.publish(ctx, c.Name, next, health.RoundSamples(c.Name, samples, now), guard); err != nil && ctx.Err() == nil {
		g.log.Warn("publishing health failed", "cluster", c.Name, "err", err)
	}
	aware, err := g.cooldown(ctx, c, next, now, guard)
	if err != nil && ctx.Err() == nil {
		g.log.Warn("deploy cooldown failed; retrying next interval", "cluster", c.Name, "err", err)
	}
	if err := g.act(ctx, c, prev, next, aware, guard); err != nil && ctx.Err() == nil {
		g.log.Warn("gate action failed; retrying next interval", "cluster", c.Name, "err", err)
	}
}

// act turns a cluster's evaluation into holds (enforce) or history
// (observe). A trip that a deploy or its cooldown answers takes no auto
// hold (autoHoldNeeded).
func (g *Gate) act(ctx context.Context, c health.Cluster, prev, next health.State, aware deployAware, guard *lock.Leadership) error {
	id := AutoHoldID(c.Name)
	held, err := g.store.Get(id)
	isHeld := err == nil
	degraded := next.Status == health.StatusDegraded
	g.mu.Lock()
	need, absorbed := autoHoldNeeded(degraded, aware.Deploying || aware.Cooling, g.absorbed[c.Name] && !aware.Expired, next.CritHosts() > 0)
	g.absorbed[c.Name] = absorbed
	g.mu.Unlock()
	desc := g.describe(c, next)
	switch {
	case g.cfg.Mode == health.ModeObserve:
		if degraded != (prev.Status == health.StatusDegraded) {
			action := lock.ActionWouldTrip
			if !degraded {
				action = lock.ActionWouldClear
			}
			_, err := g.store.Record(ctx, lock.Event{
				Actor: Actor, Action: action, Scope: lock.Scope(c.Name), Kind: lock.KindAuto, Reason: next.Reason,
			})
			g.log.Info("gate would act (observe mode)", "cluster", c.Name, "action", action, "reason", next.Reason)
			return err
		}
		if isHeld && !degraded {
			return g.release(ctx, c, held, next, guard)
		}
		return nil
	case need && !isHeld:
		return g.createAuto(ctx, lock.HoldRequest{ID: id, Scope: lock.Scope(c.Name), Guard: guard}, desc, next.Reason)
	case degraded && isHeld:
		if !desc.Describes(held) {
			_, err := g.store.Describe(ctx, id, desc, guard)
			return err
		}
	case !degraded && isHeld && next.Status == health.StatusOK:
		return g.release(ctx, c, held, next, guard)
	}
	return nil
}

func (g *Gate) release(ctx context.Context, c health.Cluster, held lock.Hold, next health.State, guard *lock.Leadership) error {
	summary := fmt.Sprintf("recovered: every apiserver below warn for %s; held %s",
		apiv1.Span(c.ClearWindow(g.cfg.Interval)), apiv1.Span(next.UpdatedAt.Sub(held.CreatedAt)))
	_, err := g.store.Release(ctx, lock.ReleaseRequest{
		ID: held.ID, Actor: Actor, Reason: summary, Kinds: []lock.Kind{lock.KindAuto}, Guard: guard,
	})
	if err == nil {
		g.log.Info("deploys released: control plane recovered", "cluster", c.Name, "summary", summary)
	}
	return err
}

// describe is what the auto hold of a degraded cluster says: the hosts at
// crit, or while it recovers what is not yet below warn, and what clears it.
func (g *Gate) describe(c health.Cluster, s health.State) lock.Description {
	signals := s.Breaching()
	if len(signals) == 0 {
		signals = s.NotBelowWarn()
	}
	clears := apiv1.Clears{
		On: apiv1.ClearsOnHealthy, After: apiv1.Duration(c.ClearWindow(g.cfg.Interval)),
		Evaluations: c.ClearAfter, Streak: min(s.ClearStreak, c.ClearAfter),
	}
	if end := s.TrippedAt.Add(c.MinHold); end.After(s.UpdatedAt) {
		clears.NotBefore = &end
	}
	return description(apiv1.Reason{Kind: apiv1.ReasonAuto, Reason: "control plane degraded", Signals: signals, Clears: clears}, s.UpdatedAt)
}

// description is the hold's description of what r says at now, with its
// prose for older replicas rendered from it.
func description(r apiv1.Reason, now time.Time) lock.Description {
	r.Refuses = true
	return lock.Description{
		Reason: apiv1.Summary([]apiv1.Reason{r}), Details: r.GateLines(now), Hint: r.ClearsText(now),
		Signals: r.Signals, Clears: &r.Clears,
	}
}

// createAuto creates one of the gate's holds as req says, with desc, and
// logs why.
func (g *Gate) createAuto(ctx context.Context, req lock.HoldRequest, desc lock.Description, why string) error {
	req.Kind, req.Owner, req.Reason, req.Details, req.Hint = lock.KindAuto, Actor, desc.Reason, desc.Details, desc.Hint
	req.Signals, req.Clears = desc.Signals, desc.Clears
	h, err := g.store.Create(ctx, req)
	if err != nil {
		return err
	}
	g.log.Warn("deploys held: "+desc.Reason, "cluster", string(h.Scope), "hold", h.ID, "why", why)
	return nil
}

// HeartbeatEvery is how many evaluations may pass without the full report
// being written when no level in it changed: the samples carry the values
// (and the reason, when it reads otherwise) every interval, the report
// follows at least this often. A quiet cluster's (ok, every signal at ok)
// follows every QuietHeartbeatEvery: its streaks matter to no one, and a
// fleet is mostly quiet clusters.
const (
	HeartbeatEvery      = 12
	QuietHeartbeatEvery = 60
)

// publish writes a round's samples every interval and the cluster's report
// when a level or its status changed (health.ReportChanged) or
// HeartbeatEvery rounds have passed, in one transaction; guard keeps a
// deposed leader from writing. Between reports the samples carry the
// reason when it reads otherwise than the one readers have: a degraded
// cluster's quotes its values.
func (g *Gate) publish(ctx context.Context, cluster string, st health.State, smp apiv1.Samples, guard *lock.Leadership) error {
	keys := g.store.Keys()
	report := st.Report()
	every := HeartbeatEvery
	if quiet(report) {
		every = QuietHeartbeatEvery
	}
	g.mu.Lock()
	last, ok := g.published[cluster]
	// Only a changed report reaches the stream (View.putReport): a
	// heartbeat's new reason travels with its samples, like any other
	// round's.
	changed := !ok || health.ReportChanged(last, report)
	full := changed || g.quiet[cluster]+1 >= every
	if !changed && report.Reason != g.told[cluster] {
		smp.Reason = report.Reason
	}
	g.mu.Unlock()
	smp.Cluster = "" // the key names it
	smp.At = smp.At.Truncate(time.Millisecond)
	raw, err := json.Marshal(smp)
	if err != nil {
		return err
	}
	kvs := []lock.KV{{Key: keys.ClusterSamples(cluster), Value: string(raw)}}
	if full {
		raw, err := json.Marshal(report)
		if err != nil {
			return err
		}
		kvs = append(kvs, lock.KV{Key: keys.HealthReport(cluster), Value: string(raw)})
	}
	if err := g.store.Publish(ctx, guard, kvs...); err != nil {
		return fmt.Errorf("health of %s: %w", cluster, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.told[cluster] = report.Reason
	if full {
		g.published[cluster], g.quiet[cluster] = report, 0
	} else {
		g.quiet[cluster]++
	}
	return nil
}
