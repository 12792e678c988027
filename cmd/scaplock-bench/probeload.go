package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/scaplock/scaplock/health/healthtest"
	"github.com/scaplock/scaplock/server/embedetcd"
)

const (
	loadReplicas = 3
	loadWindow   = 10 * time.Second
)

var loadWindows = gateWindows{
	interval: 500 * time.Millisecond, tripAfter: 3, clearAfter: 4,
	timeout: 450 * time.Millisecond, warn: 150 * time.Millisecond, crit: 250 * time.Millisecond,
}

// probeLoad starts three scaplockd replicas on one shared embedded etcd,
// all watching the same two apiservers, and counts the readyz requests each
// apiserver receives per gate interval over loadWindow.
func probeLoad(ctx context.Context, dir string) []Row {
	const figure = "probe load with 3 replicas"
	etcd, err := embedetcd.Start(filepath.Join(dir, "etcd"))
	if err != nil {
		return []Row{failed(figure+": embedded etcd", err)}
	}
	defer etcd.Close()
	secret := make([]byte, 32)
	rand.Read(secret)
	secretFile := filepath.Join(dir, "jwt.secret")
	if err := os.WriteFile(secretFile, []byte(hex.EncodeToString(secret)), 0o600); err != nil {
		return []Row{failed(figure, err)}
	}
	var apis []*apiserver
	for range 2 {
		a, err := healthtest.NewAPIServer(dir)
		if err != nil {
			return []Row{failed(figure, err)}
		}
		defer a.Close()
		apis = append(apis, a)
	}
	clusters, err := clustersFile(dir, loadWindows, apis...)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	var replicas []*daemon
	defer func() {
		for i := len(replicas) - 1; i >= 0; i-- {
			replicas[i].stop()
		}
	}()
	for i := range loadReplicas {
		d, err := startDaemon(ctx, map[string]string{
			"SCAPLOCK_ETCD_ENDPOINTS": etcd.Endpoint, "SCAPLOCK_JWT_SECRET_FILE": secretFile,
			"SCAPLOCK_CLUSTERS_FILE": clusters, "SCAPLOCK_REPLICA_NAME": fmt.Sprintf("replica-%d", i+1),
		})
		if err != nil {
			return []Row{failed(fmt.Sprintf("%s: start replica %d", figure, i+1), err)}
		}
		replicas = append(replicas, d)
	}
	if err := waitHealthy(ctx, newClient(replicas[0].URL(), ""), "eqiad", 20*time.Second); err != nil {
		return []Row{failed(figure, err)}
	}

	before := make([]int64, len(apis))
	for i, a := range apis {
		before[i] = a.Requests()
	}
	select {
	case <-ctx.Done():
		return []Row{failed(figure, ctx.Err())}
	case <-time.After(loadWindow):
	}
	intervals := float64(loadWindow / loadWindows.interval)
	worst, value := 0.0, ""
	for i, a := range apis {
		n := a.Requests() - before[i]
		perInterval := float64(n) / intervals
		if dev := abs(perInterval - 1); dev >= worst {
			worst = dev
		}
		if value != "" {
			value += ", "
		}
		value += fmt.Sprintf("apiserver %d: %.2f (%d in %.0f intervals)", i+1, perInterval, n, intervals)
	}
	// Ticker phase may put one round more or less in the window.
	tolerance := 1 / intervals
	return []Row{check(fmt.Sprintf("readyz requests per apiserver per interval, %d replicas, %s", loadReplicas, loadWindow),
		value, fmt.Sprintf("1.0 (± one round in %.0f)", intervals), worst <= tolerance+1e-9)}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
