package lock_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
)

// TestStoreMetrics reads the hold and freshness gauges from a fresh
// registry: the oldest hold's age per kind follows the clock, and the store
// stops reporting fresh when etcd is gone.
func TestStoreMetrics(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	reg := prometheus.NewPedanticRegistry()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := locktest.OpenStore(t, e.Client(t), lock.Options{Registerer: reg, Now: clock})
	ctx := ctxT(t)
	for _, scope := range []lock.Scope{"eqiad", "codfw"} {
		if _, err := s.Create(ctx, lock.HoldRequest{Scope: scope, Kind: lock.KindManual, Owner: "alice", Reason: "maintenance"}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		now = now.Add(90 * time.Minute)
		mu.Unlock()
	}
	want := `
# HELP scaplock_hold_oldest_age_seconds Age of the oldest active hold of each kind (0 when there is none), from the watch cache.
# TYPE scaplock_hold_oldest_age_seconds gauge
scaplock_hold_oldest_age_seconds{kind="auto"} 0
scaplock_hold_oldest_age_seconds{kind="deploy"} 0
scaplock_hold_oldest_age_seconds{kind="manual"} 10800
scaplock_hold_oldest_age_seconds{kind="override"} 0
# HELP scaplock_holds_active Active holds by kind and scope, from the watch cache.
# TYPE scaplock_holds_active gauge
scaplock_holds_active{kind="manual",scope="codfw"} 1
scaplock_holds_active{kind="manual",scope="eqiad"} 1
# HELP scaplock_store_fresh 1 while the cache is confirmed against etcd recently enough to answer, 0 otherwise.
# TYPE scaplock_store_fresh gauge
scaplock_store_fresh 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"scaplock_hold_oldest_age_seconds", "scaplock_holds_active", "scaplock_store_fresh"); err != nil {
		t.Fatal(err)
	}
	if age := gauge(t, reg, "scaplock_store_confirmed_age_seconds"); age < 0 || age > lock.StaleAfter.Seconds() {
		t.Fatalf("confirmed age %v with etcd up", age)
	}

	e.Close()
	deadline := time.Now().Add(30 * time.Second)
	for gauge(t, reg, "scaplock_store_fresh") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("scaplock_store_fresh still 1 30s after etcd stopped")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if age := gauge(t, reg, "scaplock_store_confirmed_age_seconds"); age <= lock.StaleAfter.Seconds() {
		t.Fatalf("store not fresh but confirmed age only %vs", age)
	}
}

func gauge(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no single series %s", name)
	return 0
}
