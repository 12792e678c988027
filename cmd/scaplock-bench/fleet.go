package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/scaplock/scaplock/lock/locktest"
)

// fleetSizes are the cluster counts the fleet figure is measured at, so
// that its growth shows; the targets hold at the largest.
var fleetSizes = []int{10, 30, 100}

const fleetWindow = 20 * time.Second

// fleetFigures are one fleet size's measurements over fleetWindow.
type fleetFigures struct {
	clusters                   int
	leaderCPU, followerCPU     float64 // fraction of a core; the busier follower
	etcdBytesPerInterval       float64
	streamBytesPerInterval     float64
	connsPerAPIServerPerMinute float64
	newConns                   int64
	apiservers                 int
	notOK                      int // healthy clusters the gate did not judge ok at the end of the window
	load                       string
}

// fleetLoad measures the gate at fleet scale: clusters of three
// simulated TLS apiservers at a 1 s interval, one of them degraded, three
// replicas on a 3-member Debian etcd, at each of fleetSizes.
func fleetLoad(ctx context.Context, dir string) []Row {
	const figure = "fleet"
	etcd, secret, err := startDebianEtcd(ctx, dir)
	if err != nil {
		return []Row{failed(figure+": 3-member Debian etcd", err)}
	}
	defer etcd.Stop()
	cli, err := etcd.Client()
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer cli.Close()

	var all []fleetFigures
	for _, n := range fleetSizes {
		progress("  %d clusters", n)
		prefix := fmt.Sprintf("/bench-fleet-%d/", n)
		sub := filepath.Join(dir, fmt.Sprint(n))
		if err := os.MkdirAll(sub, 0o700); err != nil {
			return []Row{failed(figure, err)}
		}
		fl, err := startFleet(ctx, sub, etcd.Endpoints(), secret, prefix, n, 1)
		if err != nil {
			return []Row{failed(fmt.Sprintf("%s, %d clusters", figure, n), err)}
		}
		f, err := measureFleet(ctx, fl, func(ctx context.Context) (int, error) {
			return bytesWritten(ctx, cli, prefix, fleetWindow)
		})
		fl.stop()
		if err != nil {
			return []Row{failed(fmt.Sprintf("%s, %d clusters", figure, n), err)}
		}
		f.clusters = n
		all = append(all, f)
		progress("  %d clusters: leader %.1f%%, follower %.1f%%, etcd %.1f KB/interval, stream %.2f KB/interval, %d new apiserver connections",
			n, 100*f.leaderCPU, 100*f.followerCPU, f.etcdBytesPerInterval/1024, f.streamBytesPerInterval/1024, f.newConns)
	}
	return fleetRows(all)
}

// startDebianEtcd starts a 3-member cluster of Debian's etcd on loopback
// and writes a JWT secret for the replicas beside it.
func startDebianEtcd(ctx context.Context, dir string) (*locktest.Cluster, string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "etcd"), 0o700); err != nil {
		return nil, "", err
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cluster, err := locktest.StartCluster(cctx, filepath.Join(dir, "etcd"), 3)
	if err != nil {
		return nil, "", err
	}
	secret := filepath.Join(dir, "jwt.secret")
	var b [32]byte
	_, _ = rand.Read(b[:])
	if err := os.WriteFile(secret, []byte(hex.EncodeToString(b[:])), 0o600); err != nil {
		cluster.Stop()
		return nil, "", err
	}
	return cluster, secret, nil
}

// measureFleet measures, over fleetWindow and all at once: each replica's
// CPU, the etcd bytes written (by etcdBytes), one event-stream
// subscriber's bytes on a follower, and the connections the apiservers
// accepted.
func measureFleet(ctx context.Context, fl *fleet, etcdBytes func(context.Context) (int, error)) (fleetFigures, error) {
	var f fleetFigures
	time.Sleep(3 * time.Second) // past the first reports and the connections' opening
	lead, err := fl.leader(ctx)
	if err != nil {
		return f, err
	}
	follower := (lead + 1) % len(fl.replicas)
	conns0, apis := fl.connections()
	cpu0, err := fl.cpu()
	if err != nil {
		return f, err
	}
	var wg sync.WaitGroup
	var written int
	var streamed int64
	var etcdErr, streamErr error
	began := time.Now()
	wg.Go(func() { written, etcdErr = etcdBytes(ctx) })
	wg.Go(func() { streamed, streamErr = streamBytes(ctx, fl.replicas[follower].url, fleetWindow) })
	wg.Wait()
	took := time.Since(began).Seconds()
	cpu1, err := fl.cpu()
	if err != nil {
		return f, err
	}
	conns1, _ := fl.connections()
	if f.notOK, err = fl.notOK(ctx, newClient(fl.replicas[follower].url, ""), 1); err != nil {
		return f, err
	}
	if etcdErr != nil {
		return f, etcdErr
	}
	if streamErr != nil {
		return f, streamErr
	}
	f.load = loadAvg()
	intervals := took / fleetInterval.Seconds()
	for i := range fl.replicas {
		used := (cpu1[i] - cpu0[i]) / took
		if i == lead {
			f.leaderCPU = used
		} else {
			f.followerCPU = max(f.followerCPU, used)
		}
	}
	f.etcdBytesPerInterval = float64(written) / intervals
	f.streamBytesPerInterval = float64(streamed) / intervals
	f.newConns, f.apiservers = conns1-conns0, apis
	f.connsPerAPIServerPerMinute = float64(f.newConns) / float64(apis) / (took / 60)
	return f, nil
}

// fleetRows reports every size as context and holds the largest to the
// targets.
func fleetRows(all []fleetFigures) []Row {
	kb := func(b float64) string { return fmt.Sprintf("%.1f KB", b/1024) }
	series := func(f func(fleetFigures) string) string {
		s := ""
		for i, x := range all {
			if i > 0 {
				s += " · "
			}
			s += fmt.Sprintf("%d: %s", x.clusters, f(x))
		}
		return s
	}
	big := all[len(all)-1]
	setting := fmt.Sprintf("%d clusters × 3 simulated TLS apiservers + node_exporters (the healthy scenario, played live), 1 degraded (readyz times out after 1 s), default thresholds, 1 s interval, %d replicas on a 3-member Debian etcd, measured over %s; healthy clusters not judged ok at the end (clusters: count): %s; machine load average at the end: %s",
		big.clusters, fleetReplicas, fleetWindow, series(func(f fleetFigures) string { return fmt.Sprint(f.notOK) }), series(func(f fleetFigures) string { return f.load }))
	pct := func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }
	return []Row{
		info("fleet setup", setting),
		check(fmt.Sprintf("fleet: gate leader's CPU, %d clusters", big.clusters), pct(big.leaderCPU)+" of a core", "≤ 25%", big.leaderCPU <= 0.25),
		check(fmt.Sprintf("fleet: busier follower's CPU, %d clusters", big.clusters), pct(big.followerCPU)+" of a core", "≤ 5%", big.followerCPU <= 0.05),
		check(fmt.Sprintf("fleet: etcd bytes written per interval (keys + values put), %d clusters", big.clusters), kb(big.etcdBytesPerInterval), "≤ 50 KB", big.etcdBytesPerInterval <= 50*1024),
		check(fmt.Sprintf("fleet: event-stream bytes per subscriber per interval, 1 of %d clusters degraded", big.clusters), fmt.Sprintf("%.2f KB", big.streamBytesPerInterval/1024), "≤ 2 KB", big.streamBytesPerInterval <= 2048),
		check(fmt.Sprintf("fleet: probe connections opened per apiserver per minute, steady state, %d clusters", big.clusters),
			fmt.Sprintf("%.2f (%d new connections to %d apiservers in %s)", big.connsPerAPIServerPerMinute, big.newConns, big.apiservers, fleetWindow),
			"≤ 1", big.connsPerAPIServerPerMinute <= 1),
		info("fleet growth (clusters: leader CPU)", series(func(f fleetFigures) string { return pct(f.leaderCPU) })),
		info("fleet growth (clusters: busier follower CPU)", series(func(f fleetFigures) string { return pct(f.followerCPU) })),
		info("fleet growth (clusters: etcd bytes per interval)", series(func(f fleetFigures) string { return kb(f.etcdBytesPerInterval) })),
		info("fleet growth (clusters: stream bytes per subscriber per interval)", series(func(f fleetFigures) string { return fmt.Sprintf("%.2f KB", f.streamBytesPerInterval/1024) })),
		info("fleet growth (clusters: connections per apiserver per minute)", series(func(f fleetFigures) string { return fmt.Sprintf("%.2f", f.connsPerAPIServerPerMinute) })),
	}
}
