package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/server/servertest"
)

const (
	stormClusters   = 100
	stormViewers    = 300
	stormBridges    = 50
	stormPreflights = 30 // per second
	stormWindow     = 30 * time.Second
)

// storm is the incident storm of the issues' figures, on a 3-member
// Debian etcd with three replicas gating stormClusters simulated clusters
// (one degraded): stormViewers page viewers and stormBridges deploy hosts'
// bridges on the event stream, stormPreflights preflights per second and
// one hold change per second, spread over the replicas. It reports the
// verdict latency of those preflights, each replica's CPU and RSS, and
// then the saturation ratio of preflight against a bare net/http handler
// while the storm goes on.
func storm(ctx context.Context, dir string) []Row {
	const figure = "storm"
	etcd, secret, err := startDebianEtcd(ctx, dir)
	if err != nil {
		return []Row{failed(figure+": 3-member Debian etcd", err)}
	}
	defer etcd.Stop()
	bare, err := startChild(ctx, "bare", nil)
	if err != nil {
		return []Row{failed(figure+": start the bare handler", err)}
	}
	defer bare.stop()
	progress("  %d clusters, 3 replicas", stormClusters)
	fl, err := startFleet(ctx, filepath.Join(dir, "fleet"), etcd.Endpoints(), secret, "/bench-storm/", stormClusters, 1)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer fl.stop()
	token, err := servertest.Token(secret, "bench", api.RoleSRE)
	if err != nil {
		return []Row{failed(figure, err)}
	}

	progress("  the fleet alone: 10 s of %d preflights/s", stormPreflights)
	quiet := paced(ctx, fl, stormPreflights, 10*time.Second)
	cli, err := clientv3.New(clientv3.Config{Endpoints: etcd.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer cli.Close()
	bareClient := newClient(bare.url, "")

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	var pageRequests, bridgeChecks, streamsOpen atomic.Int64
	for i := range stormViewers {
		c := streamClient(fl.replicas[i%len(fl.replicas)].url)
		wg.Go(func() {
			streamsOpen.Add(1)
			defer streamsOpen.Add(-1)
			pageLike(sctx, c, false, &pageRequests)
		})
	}
	for i := range stormBridges {
		c := streamClient(fl.replicas[i%len(fl.replicas)].url)
		wg.Go(func() {
			streamsOpen.Add(1)
			defer streamsOpen.Add(-1)
			bridgeLike(sctx, c, &bridgeChecks)
		})
	}
	progress("  %d viewers and %d bridges opening their streams", stormViewers, stormBridges)
	time.Sleep(5 * time.Second)
	if n := streamsOpen.Load(); n < stormViewers+stormBridges {
		return []Row{failed(figure, fmt.Errorf("only %d of %d streams open", n, stormViewers+stormBridges))}
	}

	holdErrs := make(chan error, 1)
	wg.Go(func() { holdErrs <- holdChanges(sctx, fl, token) })

	cpu0, err := fl.cpu()
	if err != nil {
		return []Row{failed(figure, err)}
	}
	load0 := loadAvg()
	progress("  %s of %d preflights/s", stormWindow, stormPreflights)
	// The floors, in the same window and at the same rate: a bare
	// net/http handler (a process answering HTTP on this machine), and a
	// linearizable read straight from etcd (what every verdict waits for).
	var floorHTTP, floorEtcd pacedResult
	var floors sync.WaitGroup
	floors.Go(func() {
		floorHTTP = pacedLoad(sctx, stormPreflights, stormWindow, func(int) error {
			_, err := fetch(sctx, bareClient, "/")
			return err
		})
	})
	floors.Go(func() {
		floorEtcd = pacedLoad(sctx, stormPreflights, stormWindow, func(int) error {
			_, err := cli.Get(sctx, "scaplock-bench-floor", clientv3.WithCountOnly())
			return err
		})
	})
	verdicts := paced(sctx, fl, stormPreflights, stormWindow)
	floors.Wait()
	cpu1, err := fl.cpu()
	if err != nil {
		return []Row{failed(figure, err)}
	}
	var rss []float64
	for _, r := range fl.replicas {
		mb, err := rssMB(r.cmd.Process.Pid)
		if err != nil {
			return []Row{failed(figure, err)}
		}
		rss = append(rss, mb)
	}
	lead, _ := fl.leader(ctx)
	load1 := loadAvg()

	progress("  saturation: 64 clients on preflight against the bare handler, storm going on")
	// The last cluster: healthy, and never held by holdChanges.
	pre := fl.replicas[(lead+1)%len(fl.replicas)].url + "/api/v1/preflight?scope=" + clusterName(stormClusters-1)
	var base, load loadResult
	var satErr error
	for range 3 {
		if satErr = base.add(ctx, bare.url); satErr != nil {
			break
		}
		// 423 is a verdict too: the gate may hold the cluster meanwhile.
		if satErr = load.add(ctx, pre, http.StatusOK, http.StatusLocked); satErr != nil {
			break
		}
	}
	stop()
	var holdErr error
	select {
	case holdErr = <-holdErrs:
	case <-time.After(10 * time.Second):
	}

	p99 := percentile(verdicts.lat, 99)
	var perReplica []string
	for i := range fl.replicas {
		role := "follower"
		if i == lead {
			role = "gate leader"
		}
		perReplica = append(perReplica, fmt.Sprintf("%s (%s): CPU %.0f%% of a core, RSS %.0f MB", fl.replica[i], role, 100*(cpu1[i]-cpu0[i])/stormWindow.Seconds(), rss[i]))
	}
	rows := []Row{
		info("storm setup", fmt.Sprintf("%d simulated clusters (1 degraded), 3 replicas on a 3-member Debian etcd; %d page viewers and %d bridges on the event stream, %d preflights/s, 1 hold change/s, spread over the replicas; %s; machine load average %s at the start of the window, %s at its end",
			stormClusters, stormViewers, stormBridges, stormPreflights, stormWindow, load0, load1)),
		check("storm: verdict latency p50 / p99 (preflight, paced)", verdicts.String(), "p99 ≤ 10 ms", p99 <= 10*time.Millisecond && verdicts.errs == 0),
		info("floor, same window and rate: a bare net/http handler's GET, p50 / p99", floorHTTP.String()),
		info("floor, same window and rate: a linearizable read straight from etcd, p50 / p99", floorEtcd.String()),
		info("baseline: verdict latency p50 / p99, the fleet alone (no readers, no hold changes), 10 s", quiet.String()),
		info("storm: each replica over the window", strings.Join(perReplica, "; ")),
		info("storm: what the readers did", fmt.Sprintf("%d page requests (status, history) after stream messages, %d bridge preflights after stream messages", pageRequests.Load(), bridgeChecks.Load())),
	}
	if holdErr != nil {
		rows = append(rows, failed("storm: hold changes", holdErr))
	}
	if satErr != nil {
		return append(rows, failed("storm: saturation against the bare handler", satErr))
	}
	ratio := load.rate() / base.rate()
	return append(rows, info("storm: saturation, preflight on a follower vs a bare net/http handler, 64 keep-alive clients, alternating 1 s slices during the storm",
		fmt.Sprintf("%.2f× (%.0f vs %.0f req/s; p99 %s vs %s)", ratio, load.rate(), base.rate(), fmtDur(percentile(load.lat, 99)), fmtDur(percentile(base.lat, 99)))))
}

// streamClient is a client whose requests may last as long as their
// context: a stream is not cut after newClient's 10 s.
func streamClient(base string) *client {
	c := newClient(base, "")
	c.http.Timeout = 0
	return c
}

// pacedResult is what a paced load saw: the latencies of the requests
// that succeeded, how many failed, and the first failure.
type pacedResult struct {
	lat      []time.Duration
	errs     int
	firstErr string
}

func (r pacedResult) String() string {
	return fmt.Sprintf("%s / %s (n=%d, %d errors%s)", fmtDur(median(r.lat)), fmtDur(percentile(r.lat, 99)), len(r.lat), r.errs, errSuffix(r.firstErr))
}

// paced sends rate preflights per second for d, round-robin over the
// replicas and the clusters.
func paced(ctx context.Context, fl *fleet, rate int, d time.Duration) pacedResult {
	clients := make([]*client, len(fl.replicas))
	for i, r := range fl.replicas {
		clients[i] = newClient(r.url, "")
	}
	return pacedLoad(ctx, rate, d, func(i int) error {
		_, err := clients[i%len(clients)].preflight(ctx, clusterName(i%stormClusters))
		return err
	})
}

// pacedLoad calls do rate times per second for d, each call on its own
// goroutine (an open loop: a slow answer does not slow the next call), and
// times them.
func pacedLoad(ctx context.Context, rate int, d time.Duration, do func(i int) error) pacedResult {
	var mu sync.Mutex
	var r pacedResult
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.After(d)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return r
		case <-end:
			wg.Wait()
			return r
		case <-tick.C:
		}
		wg.Go(func() {
			start := time.Now()
			err := do(i)
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if r.errs++; r.errs == 1 {
					r.firstErr = err.Error()
				}
				return
			}
			r.lat = append(r.lat, took)
		})
	}
}

// holdChanges creates a hold on a cluster, then releases it, one change
// per second, round-robin over the replicas, until ctx ends.
func holdChanges(ctx context.Context, fl *fleet, token string) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var held string
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		c := newClient(fl.replicas[i%len(fl.replicas)].url, token)
		var err error
		if held == "" {
			var h struct{ ID string }
			err = c.do(ctx, http.MethodPost, "/api/v1/holds", api.HoldBody{Scope: clusterName(10 + i%50), Reason: "bench: storm hold"}, &h, http.StatusCreated)
			held = h.ID
		} else {
			err = c.do(ctx, http.MethodDelete, "/api/v1/holds/"+held, api.ReleaseBody{Reason: "bench: storm release"}, nil, http.StatusOK)
			held = ""
		}
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
}

// bridgeLike behaves as scaplock scap-bridge does on the event stream: it
// asks preflight again after every message but the samples.
func bridgeLike(ctx context.Context, c *client, checks *atomic.Int64) {
	sc, body, err := openEvents(ctx, c)
	if err != nil {
		return
	}
	defer body.Close()
	for sc.Scan() {
		typ, ok := strings.CutPrefix(sc.Text(), "event: ")
		if !ok || typ == "samples" || typ == "health" {
			continue // as scaplock scap-bridge does (cmd/scaplock/events.go)
		}
		if _, err := c.preflight(ctx, "global&health=false"); err == nil {
			checks.Add(1)
		}
	}
}

func errSuffix(first string) string {
	if first == "" {
		return ""
	}
	return ", the first: " + first
}
