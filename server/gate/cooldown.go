package gate

import (
	"context"
	"strings"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
)

// cooldown applies the deploy-aware rule (decideRecovery) to one cluster
// after an evaluation: it notices deploys that ended since the previous
// evaluation and creates, refreshes or releases the cluster's cooldown
// hold. In observe mode it holds nothing.
//
// The deploys seen are remembered only once the hold is written, so that a
// failed write is retried at the next evaluation.
func (g *Gate) cooldown(ctx context.Context, c health.Cluster, next health.State, now time.Time, guard *lock.Leadership) (deployAware, error) {
	active := deploysCovering(g.store.Snapshot().Holds, c.Name, now)
	g.mu.Lock()
	ended := endedDeploys(g.deploys[c.Name], active)
	g.mu.Unlock()
	step, err := g.applyRecovery(ctx, c, next, ended, now, guard)
	if err == nil {
		g.mu.Lock()
		g.deploys[c.Name] = active
		g.mu.Unlock()
	}
	_, cerr := g.store.Get(CooldownHoldID(c.Name))
	if ierr := g.tally(ctx, c, next, active, ended, cerr == nil, now); ierr != nil && err == nil {
		err = ierr
	}
	return deployAware{
		Deploying: len(active) > 0,
		Cooling:   cerr == nil,
		Expired:   step.Step == recoveryEnd && strings.HasPrefix(step.Why, "cooldown_max"),
	}, err
}

// deployAware is what the cooldown tells the trip rule.
type deployAware struct {
	Deploying bool // a deploy hold covers the cluster
	Cooling   bool // the cluster's cooldown hold is in force
	Expired   bool // the cooldown ended at cooldown_max, not by recovery
}

func (g *Gate) applyRecovery(ctx context.Context, c health.Cluster, next health.State, ended []lock.Hold, now time.Time, guard *lock.Leadership) (recoveryDecision, error) {

	id := CooldownHoldID(c.Name)
	held, err := g.store.Get(id)
	in := recoveryInput{Ended: ended, AboveWarn: next.NotBelowWarn(), BelowWarnFor: next.ClearStreak, Max: c.CooldownMax}
	if err == nil && held.Recovering != nil {
		in.Cooling = held.Recovering
	}
	d := decideRecovery(in, now)
	if g.cfg.Mode == health.ModeObserve && d.Step != recoveryEnd {
		return recoveryDecision{}, nil
	}
	desc := cooldownDescription(c.Name, d.Deploy, in.AboveWarn, in.BelowWarnFor, c.CooldownMax, now)
	switch d.Step {
	case recoveryStart:
		if in.Cooling != nil {
			if _, err := g.store.Release(ctx, lock.ReleaseRequest{
				ID: id, Actor: Actor, Reason: "superseded: another deploy ended", Kinds: []lock.Kind{lock.KindAuto}, Guard: guard,
			}); err != nil {
				return d, err
			}
		}
		return d, g.createAuto(ctx, lock.HoldRequest{ID: id, Scope: lock.Scope(c.Name), Recovering: &d.Deploy, Guard: guard}, desc, next.Reason)
	case recoveryRefresh:
		if !desc.Describes(held) {
			_, err := g.store.Describe(ctx, id, desc, guard)
			return d, err
		}
	case recoveryEnd:
		_, err := g.store.Release(ctx, lock.ReleaseRequest{
			ID: id, Actor: Actor, Reason: d.Why, Kinds: []lock.Kind{lock.KindAuto}, Guard: guard,
		})
		if err == nil {
			g.log.Info("deploys released: recovered from a deploy", "cluster", c.Name, "why", d.Why)
		}
		return d, err
	}
	return d, nil
}

// tally adds the evaluation to the impact of the deploy under way in the
// cluster (the first one seen), and records it in the history once the
// deploy has ended and its cooldown is over.
func (g *Gate) tally(ctx context.Context, c health.Cluster, next health.State, active map[string]lock.Hold, ended []lock.Hold, cooling bool, now time.Time) error {
	g.mu.Lock()
	t := g.impacts[c.Name]
	if t == nil && len(active) > 0 {
		first := firstDeploy(active)
		// This evaluation stands for the interval before it, in which the
		// deploy began.
		t = health.NewImpactTally(c.Name, apiv1.DeployRef{ID: first.ID, Owner: first.Owner}, now.Add(-g.cfg.Interval), g.cfg.Interval)
		g.impacts[c.Name] = t
	}
	g.mu.Unlock()
	if t == nil {
		return nil
	}
	t.Add(next)
	for _, h := range ended {
		if d := t.Deploy(); h.ID == d.ID {
			d.EndedAt = now
			t.SetDeploy(d)
		}
	}
	if len(active) > 0 || cooling {
		return nil
	}
	imp := t.Impact()
	if _, err := g.store.Record(ctx, lock.Event{
		Actor: Actor, Action: apiv1.ActionDeployImpact, Scope: lock.Scope(c.Name), Kind: lock.KindDeploy,
		Reason: health.ImpactSummary(imp), Impact: &imp,
	}); err != nil {
		return err
	}
	g.mu.Lock()
	delete(g.impacts, c.Name)
	g.mu.Unlock()
	return nil
}

func firstDeploy(active map[string]lock.Hold) lock.Hold {
	var first lock.Hold
	for _, h := range active {
		if first.ID == "" || h.CreatedAt.Before(first.CreatedAt) || (h.CreatedAt.Equal(first.CreatedAt) && h.ID < first.ID) {
			first = h
		}
	}
	return first
}
