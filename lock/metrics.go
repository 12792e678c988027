package lock

import (
	"github.com/prometheus/client_golang/prometheus"
)

var holdsActiveDesc = prometheus.NewDesc("scaplock_holds_active",
	"Active holds by kind and scope, from the watch cache.", []string{"kind", "scope"}, nil)

var cacheRevisionDesc = prometheus.NewDesc("scaplock_cache_revision",
	"The etcd revision the watch cache reflects.", nil, nil)

// holdCollector reads the cache at scrape time, so the gauge never drifts.
type holdCollector struct{ s *Store }

func (c *holdCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- holdsActiveDesc
	ch <- cacheRevisionDesc
}

func (c *holdCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.s.Snapshot()
	type key struct{ kind, scope string }
	counts := map[key]int{}
	now := c.s.now()
	for _, h := range snap.Holds {
		if h.Active(now) {
			counts[key{string(h.Kind), string(h.Scope)}]++
		}
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(holdsActiveDesc, prometheus.GaugeValue, float64(n), k.kind, k.scope)
	}
	ch <- prometheus.MustNewConstMetric(cacheRevisionDesc, prometheus.GaugeValue, float64(snap.Revision))
}
