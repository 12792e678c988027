package main

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/lock"
)

const (
	preflightRequests = 2000
	cacheVerdicts     = 200000
	holdCycles        = 500
	rawTxnPairs       = 500
)

// lockService measures preflight over HTTP and from the cache, hold
// create+release through the API, and the raw etcd transactions beneath
// them, all on one in-process scaplockd with its embedded etcd. It also
// weighs the status page that daemon serves.
func lockService(ctx context.Context, _ string) []Row {
	d, err := startDaemon(ctx, nil)
	if err != nil {
		return []Row{failed("lock service: start scaplockd with embedded etcd", err)}
	}
	defer d.stop()
	c := newClient(d.URL(), d.token)
	var rows []Row

	// One manual hold makes eqiad refused, so the refusal path (423 with
	// its message) is what is measured.
	var h lock.Hold
	if err := c.do(ctx, "POST", "/api/v1/holds", map[string]string{"scope": "eqiad", "reason": "bench: preflight refuses"}, &h, 201); err != nil {
		return []Row{failed("lock service: create a hold", err)}
	}
	httpLat, err := timeN(preflightRequests, func() error {
		allowed, err := c.preflight(ctx, "eqiad")
		if err == nil && allowed {
			err = fmt.Errorf("preflight allowed a held scope")
		}
		return err
	})
	if err != nil {
		rows = append(rows, failed("preflight over HTTP", err))
	} else {
		rows = append(rows,
			check("preflight over HTTP, p50 / p99", fmt.Sprintf("%s / %s (n=%d, refused with a hold)", fmtDur(median(httpLat)), fmtDur(percentile(httpLat, 99)), len(httpLat)),
				"p99 < 1s (DESIGN: a yes/no in < 1 s)", percentile(httpLat, 99) < time.Second))
	}
	store := d.Store()
	scopes := []lock.Scope{"eqiad"}
	cacheLat, _ := timeN(cacheVerdicts, func() error {
		if store.Verdict(scopes).Allowed {
			return fmt.Errorf("cache allowed a held scope")
		}
		return nil
	})
	rows = append(rows, info("preflight from the cache (Store.Verdict, no HTTP), p50 / p99",
		fmt.Sprintf("%s / %s (n=%d)", fmtDur(median(cacheLat)), fmtDur(percentile(cacheLat, 99)), len(cacheLat))))
	if len(httpLat) > 0 {
		rows = append(rows, info("HTTP preflight vs cache, p50", fmt.Sprintf("%.0f× the cache read", float64(median(httpLat))/float64(median(cacheLat)))))
	}

	holdLat, holdErr := timeN(holdCycles, func() error { return c.holdCycle(ctx, "codfw") })
	rawLat, rawErr := timeN(rawTxnPairs, rawTxnPair(ctx, store.Client()))
	switch {
	case holdErr != nil:
		rows = append(rows, failed("hold create+release through the API", holdErr))
	case rawErr != nil:
		rows = append(rows, failed("raw etcd txn pair (baseline)", rawErr))
	default:
		holdRate, rawRate := perSecond(holdLat), perSecond(rawLat)
		rows = append(rows,
			info("hold create+release through the API (sequential)", fmt.Sprintf("%.0f round trips/s, p50 %s", holdRate, fmtDur(median(holdLat)))),
			info("baseline: raw etcd put-if-absent txn + delete, same etcd", fmt.Sprintf("%.0f pairs/s, p50 %s", rawRate, fmtDur(median(rawLat)))),
			info("hold create+release vs raw etcd", fmt.Sprintf("hold create+release = %.1f× a raw etcd txn pair", float64(median(holdLat))/float64(median(rawLat)))),
		)
	}
	if err := c.do(ctx, "DELETE", "/api/v1/holds/"+h.ID, map[string]string{"reason": "bench done"}, nil, 200); err != nil {
		rows = append(rows, failed("lock service: release the preflight hold", err))
	}
	return append(rows, pageWeight(ctx, c))
}

// rawTxnPair is the etcd work of a hold cycle without scaplock: a
// put-if-absent transaction and a delete of the same key.
func rawTxnPair(ctx context.Context, cli *clientv3.Client) func() error {
	n := 0
	return func() error {
		n++
		key := fmt.Sprintf("/scaplock-bench/raw/%d", n)
		resp, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, `{"reason":"raw"}`)).Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			return fmt.Errorf("raw txn on %s did not succeed", key)
		}
		_, err = cli.Delete(ctx, key)
		return err
	}
}

// timeN runs f n times, timing each, and stops at the first error.
func timeN(n int, f func() error) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := f(); err != nil {
			return out, err
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// perSecond is how many of the timed operations fit in a second, run back
// to back.
func perSecond(lat []time.Duration) float64 {
	var total time.Duration
	for _, l := range lat {
		total += l
	}
	if total == 0 {
		return 0
	}
	return float64(len(lat)) / total.Seconds()
}
