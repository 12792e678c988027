package health

import (
	"fmt"
	"strings"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// DeployImpact and SignalImpact are the wire contract's (package apiv1).
type (
	DeployImpact = apiv1.DeployImpact
	SignalImpact = apiv1.SignalImpact
)

// ImpactTally adds up what a deploy does to a cluster, one evaluation at a
// time, from the deploy's start to the end of its cooldown. It depends only
// on what it is given.
type ImpactTally struct {
	impact DeployImpact
	last   time.Time
	step   time.Duration
}

// NewImpactTally starts the tally of deploy d on cluster at from; step is
// the evaluation interval, the most one evaluation stands for.
func NewImpactTally(cluster string, d apiv1.DeployRef, from time.Time, step time.Duration) *ImpactTally {
	return &ImpactTally{
		impact: DeployImpact{Cluster: cluster, Deploy: d, From: from, To: from, Signals: map[Signal]SignalImpact{}},
		last:   from, step: step,
	}
}

// Add folds in the evaluation s (made at s.UpdatedAt): each signal's peak
// over every host, and the time since the previous evaluation (at most one
// interval) as above warn or crit for the signals at that level now.
func (t *ImpactTally) Add(s State) {
	dt := min(s.UpdatedAt.Sub(t.last), t.step)
	if dt < 0 {
		dt = 0
	}
	secs := dt.Seconds()
	anyWarn := false
	for _, sig := range Signals {
		warn, crit := false, false
		si, seen := t.impact.Signals[sig]
		for _, h := range s.Hosts {
			st, ok := h.Signals[sig]
			if !ok {
				continue
			}
			if st.Level != LevelError && (!seen || st.Value > si.Peak) {
				si.Peak, seen = st.Value, true
			}
			warn = warn || st.Level == LevelWarn || st.Level == LevelCrit
			crit = crit || st.Level == LevelCrit
		}
		if !seen {
			continue
		}
		if warn {
			si.SecondsAboveWarn += secs
			anyWarn = true
		}
		if crit {
			si.SecondsAboveCrit += secs
		}
		t.impact.Signals[sig] = si
	}
	if anyWarn {
		t.impact.SecondsAboveWarn += secs
	}
	t.last = s.UpdatedAt
	t.impact.To = s.UpdatedAt
}

// Deploy is the deploy the tally is for.
func (t *ImpactTally) Deploy() apiv1.DeployRef { return t.impact.Deploy }

// SetDeploy records when the deploy ended once it has.
func (t *ImpactTally) SetDeploy(d apiv1.DeployRef) { t.impact.Deploy = d }

// Impact is the tally so far, a copy.
func (t *ImpactTally) Impact() DeployImpact {
	out := t.impact
	out.Signals = make(map[Signal]SignalImpact, len(t.impact.Signals))
	for k, v := range t.impact.Signals {
		out.Signals[k] = v
	}
	return out
}

// ImpactSummary is a deploy impact in one line, for the history:
// "alice's deploy 7f3a: peak CPU 97%, readyz 2.1s; 35s above warn, 20s above crit".
func ImpactSummary(imp DeployImpact) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s's deploy %s: peak", imp.Deploy.Owner, imp.Deploy.ShortID())
	crit := 0.0
	sep := " "
	for _, sig := range Signals {
		si, ok := imp.Signals[sig]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "%s%s %s", sep, apiv1.SignalLabel(sig), apiv1.FormatValue(sig, si.Peak))
		sep = ", "
		crit = max(crit, si.SecondsAboveCrit)
	}
	fmt.Fprintf(&b, "; %s above warn, %s above crit", apiv1.Span(seconds(imp.SecondsAboveWarn)), apiv1.Span(seconds(crit)))
	return b.String()
}
