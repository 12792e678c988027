package lock

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var holdsActiveDesc = prometheus.NewDesc("scaplock_holds_active",
	"Active holds by kind and scope, from the watch cache.", []string{"kind", "scope"}, nil)

var oldestHoldDesc = prometheus.NewDesc("scaplock_hold_oldest_age_seconds",
	"Age of the oldest active hold of each kind (0 when there is none), from the watch cache.", []string{"kind"}, nil)

var cacheRevisionDesc = prometheus.NewDesc("scaplock_cache_revision",
	"The etcd revision the watch cache reflects.", nil, nil)

var storeAgeDesc = prometheus.NewDesc("scaplock_store_confirmed_age_seconds",
	"Seconds since etcd last confirmed that the cache is current; above "+StaleAfter.String()+" answers are 503.", nil, nil)

var storeFreshDesc = prometheus.NewDesc("scaplock_store_fresh",
	"1 while the cache is confirmed against etcd recently enough to answer, 0 otherwise.", nil, nil)

// holdKinds are the kinds the age gauge always reports, so that an alert on
// it has a series to read even when no hold of the kind exists.
var holdKinds = []Kind{KindManual, KindDeploy, KindAuto, KindOverride}

var barrierDesc = prometheus.NewDesc("scaplock_read_barrier_total",
	"Answers confirmed against etcd (syncs) and the linearizable reads that served them (reads): syncs/reads is how many share one read. A single embedded member confirms in process, without reads.",
	[]string{"what"}, nil)

var deployQueueDesc = prometheus.NewDesc("scaplock_deploy_queue_length",
	"Deployers waiting for a scope (POST /deploys with wait), across replicas.", nil, nil)

// holdCollector reads the cache at scrape time, so the gauges never drift.
type holdCollector struct{ s *Store }

func (c *holdCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- holdsActiveDesc
	ch <- oldestHoldDesc
	ch <- cacheRevisionDesc
	ch <- storeAgeDesc
	ch <- storeFreshDesc
	ch <- barrierDesc
	ch <- deployQueueDesc
}

func (c *holdCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.s.Snapshot()
	type key struct{ kind, scope string }
	counts := map[key]int{}
	oldest := map[Kind]time.Duration{}
	now := c.s.now()
	for _, h := range snap.Holds {
		if !h.Active(now) {
			continue
		}
		counts[key{string(h.Kind), string(h.Scope)}]++
		oldest[h.Kind] = max(oldest[h.Kind], now.Sub(h.CreatedAt))
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(holdsActiveDesc, prometheus.GaugeValue, float64(n), k.kind, k.scope)
	}
	for _, k := range holdKinds {
		ch <- prometheus.MustNewConstMetric(oldestHoldDesc, prometheus.GaugeValue, oldest[k].Seconds(), string(k))
	}
	ch <- prometheus.MustNewConstMetric(cacheRevisionDesc, prometheus.GaugeValue, float64(snap.Revision))
	ch <- prometheus.MustNewConstMetric(storeAgeDesc, prometheus.GaugeValue, c.s.ConfirmedAge().Seconds())
	fresh := 0.0
	if c.s.Fresh() == nil {
		fresh = 1
	}
	ch <- prometheus.MustNewConstMetric(storeFreshDesc, prometheus.GaugeValue, fresh)
	syncs, reads := c.s.linear.Counts()
	ch <- prometheus.MustNewConstMetric(barrierDesc, prometheus.CounterValue, float64(syncs), "syncs")
	ch <- prometheus.MustNewConstMetric(barrierDesc, prometheus.CounterValue, float64(reads), "reads")
	ch <- prometheus.MustNewConstMetric(deployQueueDesc, prometheus.GaugeValue, float64(c.s.QueueLength()))
}
