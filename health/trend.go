package health

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// DefaultHeadroom is the median time above warn per deploy that the
// report flags: a deploy that keeps the control plane above warn this long
// leaves no room for the next one.
const DefaultHeadroom = 20 * time.Second

// Week is the report's default period.
const Week = 7 * 24 * time.Hour

// Trend is the deploy impact report, pure: the impacts that began in
// [since, until), per cluster (sorted by name) and per period from since,
// with the median and 90th percentile of each figure, and a flag when the
// latest period with deploys has a median time above warn of headroom or
// more.
func Trend(impacts []DeployImpact, since, until time.Time, period, headroom time.Duration) apiv1.ImpactReport {
	r := apiv1.ImpactReport{Since: since, Until: until, Period: apiv1.Duration(period), Headroom: apiv1.Duration(headroom), Clusters: []apiv1.ClusterTrend{}}
	if period <= 0 || !until.After(since) {
		return r
	}
	n := int((until.Sub(since) + period - 1) / period)
	byCluster := map[string][][]DeployImpact{}
	for _, imp := range impacts {
		if imp.From.Before(since) || !imp.From.Before(until) {
			continue
		}
		if byCluster[imp.Cluster] == nil {
			byCluster[imp.Cluster] = make([][]DeployImpact, n)
		}
		i := int(imp.From.Sub(since) / period)
		byCluster[imp.Cluster][i] = append(byCluster[imp.Cluster][i], imp)
	}
	for cluster, periods := range byCluster {
		ct := apiv1.ClusterTrend{Cluster: cluster}
		for i, imps := range periods {
			ct.Periods = append(ct.Periods, stats(since.Add(time.Duration(i)*period), imps))
		}
		ct.Flag = flag(cluster, ct.Periods, period, headroom)
		r.Clusters = append(r.Clusters, ct)
	}
	slices.SortFunc(r.Clusters, func(a, b apiv1.ClusterTrend) int { return cmp.Compare(a.Cluster, b.Cluster) })
	return r
}

func stats(from time.Time, imps []DeployImpact) apiv1.ImpactStats {
	figure := func(f func(DeployImpact) float64) apiv1.Quantiles {
		xs := make([]float64, len(imps))
		for i, imp := range imps {
			xs[i] = f(imp)
		}
		return quantiles(xs)
	}
	return apiv1.ImpactStats{
		From: from, Deploys: len(imps),
		PeakCPU:          figure(func(i DeployImpact) float64 { return i.Signals[SignalCPU].Peak }),
		PeakLatency:      figure(func(i DeployImpact) float64 { return i.Signals[SignalLatency].Peak }),
		SecondsAboveWarn: figure(func(i DeployImpact) float64 { return i.SecondsAboveWarn }),
		CPUAboveWarn:     figure(func(i DeployImpact) float64 { return i.Signals[SignalCPU].SecondsAboveWarn }),
		LatencyAboveWarn: figure(func(i DeployImpact) float64 { return i.Signals[SignalLatency].SecondsAboveWarn }),
	}
}

// quantiles takes the nearest-rank median and 90th percentile.
func quantiles(xs []float64) apiv1.Quantiles {
	if len(xs) == 0 {
		return apiv1.Quantiles{}
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	rank := func(p float64) float64 { return xs[max(int(math.Ceil(p*float64(len(xs))))-1, 0)] }
	return apiv1.Quantiles{P50: rank(0.5), P90: rank(0.9)}
}

// flag says when the latest period with deploys spends a median of
// headroom or more above warn, naming the signal that spends the most, and
// what the first period with deploys spent.
func flag(cluster string, periods []apiv1.ImpactStats, period, headroom time.Duration) string {
	first, last := -1, -1
	for i, p := range periods {
		if p.Deploys == 0 {
			continue
		}
		if first < 0 {
			first = i
		}
		last = i
	}
	if last < 0 || periods[last].SecondsAboveWarn.P50 < headroom.Seconds() {
		return ""
	}
	what, pick := "warn", func(p apiv1.ImpactStats) float64 { return p.SecondsAboveWarn.P50 }
	l := periods[last]
	switch {
	case l.CPUAboveWarn.P50 >= l.LatencyAboveWarn.P50 && l.CPUAboveWarn.P50 >= headroom.Seconds():
		what, pick = "CPU warn", func(p apiv1.ImpactStats) float64 { return p.CPUAboveWarn.P50 }
	case l.LatencyAboveWarn.P50 >= headroom.Seconds():
		what, pick = "readyz warn", func(p apiv1.ImpactStats) float64 { return p.LatencyAboveWarn.P50 }
	}
	msg := fmt.Sprintf("%s deploys now spend a median %s above %s (headroom %s)", cluster, secondsText(pick(l)), what, headroom)
	if first < last {
		msg += fmt.Sprintf(", up from %s %s", secondsText(pick(periods[first])), ago(last-first, period))
	}
	return msg
}

func secondsText(s float64) string { return apiv1.Span(seconds(s)) }

func ago(n int, period time.Duration) string {
	switch period {
	case Week:
		return plural(n, "week") + " ago"
	case 24 * time.Hour:
		return plural(n, "day") + " ago"
	}
	return fmt.Sprintf("%s of %s ago", plural(n, "period"), period)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
