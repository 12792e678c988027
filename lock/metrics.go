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
	"Verdicts confirmed against etcd (syncs), the linearizable reads that served them (reads) and those answered under the replica's read lease, with no read (leased): (syncs-leased)/reads is how many share one read. A single embedded member confirms in process, without reads.",
	[]string{"what"}, nil)

var readLeaseDesc = prometheus.NewDesc("scaplock_read_lease_serving",
	"1 while this replica holds its read lease and answers verdicts from its cache without a read-index round.", nil, nil)

var fenceDesc = prometheus.NewDesc("scaplock_write_fence_total",
	"Writes that waited for other replicas to apply them or lose their read lease (waited), and those that could not confirm every replica before their deadline (failed).",
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
	ch <- readLeaseDesc
	ch <- fenceDesc
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
	age := time.Since(time.Unix(0, c.s.confirmed.Load()))
	ch <- prometheus.MustNewConstMetric(storeAgeDesc, prometheus.GaugeValue, age.Seconds())
	fresh := 0.0
	if c.s.Fresh() == nil {
		fresh = 1
	}
	ch <- prometheus.MustNewConstMetric(storeFreshDesc, prometheus.GaugeValue, fresh)
	ch <- prometheus.MustNewConstMetric(barrierDesc, prometheus.CounterValue, float64(c.s.barrier.syncs.Load()), "syncs")
	ch <- prometheus.MustNewConstMetric(barrierDesc, prometheus.CounterValue, float64(c.s.barrier.reads.Load()), "reads")
	ch <- prometheus.MustNewConstMetric(deployQueueDesc, prometheus.GaugeValue, float64(c.s.QueueLength()))
	serving, leased := 0.0, 0.0
	if c.s.rl != nil {
		leased = float64(c.s.rl.served.Load())
		if c.s.leaseServing() {
			serving = 1
		}
	}
	ch <- prometheus.MustNewConstMetric(barrierDesc, prometheus.CounterValue, leased, "leased")
	ch <- prometheus.MustNewConstMetric(readLeaseDesc, prometheus.GaugeValue, serving)
	ch <- prometheus.MustNewConstMetric(fenceDesc, prometheus.CounterValue, float64(c.s.fences.waited.Load()), "waited")
	ch <- prometheus.MustNewConstMetric(fenceDesc, prometheus.CounterValue, float64(c.s.fences.failed.Load()), "failed")
}
