package gate

import (
	"fmt"
	"slices"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// CooldownHoldID is the one cooldown hold a cluster can have: after a
// deploy ends, deploys to the cluster stay refused until it is back below
// warn on every signal (or cooldown_max has passed), so that nobody retries
// into the burst the last deploy caused.
func CooldownHoldID(cluster string) string { return "cooldown-" + cluster }

// recoveryInput is what the deploy-aware rule sees of one cluster at one
// evaluation.
type recoveryInput struct {
	// Ended are the deploy holds covering the cluster that were active at
	// the previous evaluation and are gone now (released or lapsed),
	// oldest first.
	Ended []lock.Hold
	// Cooling is the deploy the cluster's cooldown hold is for; nil when
	// the cluster has no cooldown hold.
	Cooling *apiv1.DeployRef
	// AboveWarn are the cluster's signals not below warn
	// (health.State.NotBelowWarn); empty when every one is below.
	AboveWarn []apiv1.SignalReading
	// BelowWarnFor is how many evaluations in a row every signal has been
	// below warn, with no source failing (health.State.ClearStreak).
	BelowWarnFor int
	// Max is the cluster's cooldown_max.
	Max time.Duration
}

// recoveryStep is what the gate does with the cooldown hold.
type recoveryStep int

const (
	recoveryNone    recoveryStep = iota
	recoveryStart                // create the cooldown hold for Deploy
	recoveryRefresh              // keep it, with the current signals
	recoveryEnd                  // release it, for Why
)

// recoveryDecision is the rule's answer.
type recoveryDecision struct {
	Step   recoveryStep
	Deploy apiv1.DeployRef
	Why    string // for recoveryEnd: the release reason
}

// CooldownSettle is how many evaluations in a row every signal must be
// below warn for the cluster to count as recovered from a deploy: one
// lucky sample in the middle of a burst does not end (or skip) a cooldown.
const CooldownSettle = 2

// decideRecovery is the deploy-aware rule, pure: a deploy that ends before
// the cluster has been below warn on every signal for CooldownSettle
// evaluations starts a cooldown; the cooldown ends once it has, or when
// cooldown_max has passed since the deploy ended. A deploy ending during a
// cooldown takes it over (the newest deploy is the one the cluster
// recovers from). now is when the evaluation ran.
func decideRecovery(in recoveryInput, now time.Time) recoveryDecision {
	var latest *apiv1.DeployRef
	if n := len(in.Ended); n > 0 {
		h := in.Ended[n-1] // the most recently started
		latest = &apiv1.DeployRef{ID: h.ID, Owner: h.Owner, EndedAt: now}
	}
	above := in.BelowWarnFor < CooldownSettle
	switch {
	case in.Cooling == nil && latest != nil && above:
		return recoveryDecision{Step: recoveryStart, Deploy: *latest}
	case in.Cooling == nil:
		return recoveryDecision{Step: recoveryNone}
	case latest != nil && above:
		return recoveryDecision{Step: recoveryStart, Deploy: *latest}
	case !above:
		return recoveryDecision{Step: recoveryEnd, Deploy: *in.Cooling, Why: fmt.Sprintf(
			"recovered: every signal below warn %s after %s's deploy %s ended",
			apiv1.Span(now.Sub(in.Cooling.EndedAt)), in.Cooling.Owner, in.Cooling.ShortID())}
	case now.Sub(in.Cooling.EndedAt) >= in.Max:
		still := fmt.Sprintf("below warn for only %d of %d evaluations", in.BelowWarnFor, CooldownSettle)
		if len(in.AboveWarn) > 0 {
			still = "still above warn: " + apiv1.ShortHost(in.AboveWarn[0].APIServer) + " " + in.AboveWarn[0].Text()
		}
		return recoveryDecision{Step: recoveryEnd, Deploy: *in.Cooling, Why: fmt.Sprintf(
			"cooldown_max %s reached after %s's deploy %s; %s", apiv1.Span(in.Max), in.Cooling.Owner, in.Cooling.ShortID(), still)}
	}
	return recoveryDecision{Step: recoveryRefresh, Deploy: *in.Cooling}
}

// cooldownDescription is what the cooldown hold for deploy d says at now:
// what is not yet below warn, and what clears it.
func cooldownDescription(cluster string, d apiv1.DeployRef, above []apiv1.SignalReading, belowFor int, max time.Duration, now time.Time) lock.Description {
	end := d.EndedAt.Add(max)
	return description(apiv1.Reason{
		Kind: apiv1.ReasonCooldown, Scope: lock.Scope(cluster), Deploy: &d, Signals: above, Until: &end,
		Clears: apiv1.Clears{On: apiv1.ClearsOnBelowWarn, Evaluations: CooldownSettle, Streak: belowFor, AtLatest: &end},
	}, now)
}

// endedDeploys are the deploy holds in before that are not in now.
func endedDeploys(before, now map[string]lock.Hold) []lock.Hold {
	var out []lock.Hold
	for id, h := range before {
		if _, ok := now[id]; !ok {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b lock.Hold) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// deploysCovering are the active deploy holds that touch cluster: its own
// and global ones.
func deploysCovering(holds []lock.Hold, cluster string, now time.Time) map[string]lock.Hold {
	out := map[string]lock.Hold{}
	for _, h := range holds {
		if h.Kind == lock.KindDeploy && h.Active(now) && h.Scope.Covers(lock.Scope(cluster)) && h.Scope != "" {
			out[h.ID] = h
		}
	}
	return out
}

// autoHoldNeeded is the deploy-aware trip rule, pure: a degraded cluster
// needs the gate's auto hold, except while a deploy runs in it or its
// cooldown hold is in force (those refuse deploys already, and say why),
// and except for a trip they answered (absorbed) as long as no host is back
// at crit. An answered trip stays answered until the cluster is no longer
// degraded; the caller drops it when a cooldown ends at cooldown_max, so
// that a cluster still degraded then is held as usual.
func autoHoldNeeded(degraded, deployAware, absorbed, critNow bool) (need, absorbedNext bool) {
	switch {
	case !degraded:
		return false, false
	case deployAware:
		return false, true
	case absorbed && !critNow:
		return false, true
	}
	return true, false
}
