package health

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// Outcomes is the deploys' side of the report, pure: the releases with an
// outcome that happened in [since, until), per period from since, with
// their failures, durations and the failures that came while a cluster was
// at warn or worse. Events without an outcome are left out.
func Outcomes(releases []apiv1.Event, since, until time.Time, period time.Duration) []apiv1.DeployStats {
	if period <= 0 || !until.After(since) {
		return []apiv1.DeployStats{}
	}
	n := int((until.Sub(since) + period - 1) / period)
	periods := make([][]apiv1.Event, n)
	for _, e := range releases {
		if e.Outcome == "" || e.Time.Before(since) || !e.Time.Before(until) {
			continue
		}
		i := int(e.Time.Sub(since) / period)
		periods[i] = append(periods[i], e)
	}
	out := make([]apiv1.DeployStats, n)
	for i, evs := range periods {
		out[i] = deployStats(since.Add(time.Duration(i)*period), evs)
	}
	return out
}

func deployStats(from time.Time, evs []apiv1.Event) apiv1.DeployStats {
	st := apiv1.DeployStats{From: from, Deploys: len(evs)}
	var durations []float64
	counted := 0
	atWarn := map[string]int{}
	for _, e := range evs {
		if e.DurationS != nil {
			durations = append(durations, *e.DurationS)
		}
		if e.Outcome == apiv1.OutcomeSignalled {
			st.Signalled++
			continue
		}
		counted++
		if e.Outcome != apiv1.OutcomeFailed && e.Outcome != apiv1.OutcomeAbandoned {
			continue
		}
		st.Failed++
		for cluster, l := range e.Peaks {
			if l == apiv1.LevelWarn || l == apiv1.LevelCrit || l == apiv1.LevelError {
				atWarn[cluster]++
			}
		}
	}
	if counted > 0 {
		st.FailureRatio = float64(st.Failed) / float64(counted)
	}
	st.Duration = quantiles(durations)
	if len(atWarn) > 0 {
		st.FailedAtWarn = atWarn
		st.Note = failuresNote(st.Failed, atWarn)
	}
	return st
}

// failuresNote names the cluster most failures came at warn in:
// "3 of 4 failures came while eqiad was at warn".
func failuresNote(failed int, atWarn map[string]int) string {
	clusters := slices.SortedFunc(maps.Keys(atWarn), func(a, b string) int {
		return cmp.Or(cmp.Compare(atWarn[b], atWarn[a]), cmp.Compare(a, b))
	})
	parts := make([]string, len(clusters))
	for i, c := range clusters {
		parts[i] = fmt.Sprintf("%d of %s came while %s was at warn or worse", atWarn[c], plural(failed, "failure"), c)
	}
	return strings.Join(parts, "; ")
}
