package health

import (
	"fmt"
	"math"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// MinConcurrency is the lowest concurrency Advise suggests.
const MinConcurrency = 2

// Advise suggests scap's k8s_max_concurrent_deployments_per_cluster for a
// deploy into a cluster whose latest report has some signal at warn or
// above, nil when every signal is below warn. The rule, on the signal with
// the least headroom left (h = (crit - value) / (crit - warn), clipped to
// 0..1; a failed readyz has none):
//
//	N = max(MinConcurrency, floor(DefaultConcurrency / 2 × h))
//
// so a cluster just at warn gets half of scap's default 20, one halfway to
// crit a quarter, one at crit 2. It is pure.
func Advise(h apiv1.ClusterHealth) *apiv1.Advice {
	best := math.Inf(1)
	var why string
	for _, host := range h.Hosts {
		for _, sig := range Signals {
			st, ok := host.Signals[sig]
			if !ok || (st.Level != LevelWarn && st.Level != LevelCrit) {
				continue
			}
			left := 0.0
			if st.Err == "" && st.Crit > st.Warn {
				left = math.Min(math.Max((st.Crit-st.Value)/(st.Crit-st.Warn), 0), 1)
			}
			if left < best {
				best = left
				if st.Err != "" {
					why = fmt.Sprintf("%s: %s failed on %s", h.Cluster, apiv1.SignalLabel(sig), apiv1.ShortHost(host.Host))
				} else {
					why = fmt.Sprintf("%s: %s %s on %s (warn %s, crit %s), %.0f%% of the headroom left", h.Cluster, apiv1.SignalLabel(sig),
						apiv1.FormatValue(sig, st.Value), apiv1.ShortHost(host.Host), apiv1.FormatValue(sig, st.Warn), apiv1.FormatValue(sig, st.Crit), left*100)
				}
			}
		}
	}
	if math.IsInf(best, 1) {
		return nil
	}
	n := max(MinConcurrency, int(math.Floor(apiv1.DefaultConcurrency/2*best)))
	return &apiv1.Advice{
		Key: apiv1.ConcurrencyKey, Value: n, Reason: why,
		Define: fmt.Sprintf("-D %s:%d", apiv1.ConcurrencyKey, n),
	}
}

// AdviseAll is the gentlest advice among the clusters', nil when none has any.
func AdviseAll(reports []apiv1.ClusterHealth) *apiv1.Advice {
	var out *apiv1.Advice
	for _, r := range reports {
		if a := Advise(r); a != nil && (out == nil || a.Value < out.Value) {
			out = a
		}
	}
	return out
}
