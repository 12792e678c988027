package main

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scaplock/scaplock/api"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/health/sim"
)

const (
	fleetReplicas  = 3
	fleetInterval  = time.Second
	fleetTimeout   = time.Second // the interval: the longest allowed
	degradedScale  = 50          // the healthy scenario's 40 ms readyz becomes 2 s: a timeout, which counts as crit
	degradedMaxLat = 2 * time.Second
)

// fleet is n simulated clusters of three TLS apiservers (and their
// node_exporters) each, played live from the healthy scenario, watched by
// three scaplockd replicas (this binary with -serve) on one etcd. The
// first `degraded` clusters answer readyz slowly enough to trip.
type fleet struct {
	planes   []*sim.ControlPlane
	names    []string // cluster names, in plane order
	replicas []*process
	replica  []string // replica names, in replicas order
	dir      string
}

// clusterName is the i-th simulated cluster's name (and scope).
func clusterName(i int) string { return fmt.Sprintf("cluster-%03d", i+1) }

// startFleet starts the simulated clusters and the replicas, under the
// etcd prefix given, and waits until the gate leads and has judged every
// cluster (the degraded ones degraded).
func startFleet(ctx context.Context, dir string, endpoints []string, secret, prefix string, n, degraded int) (*fleet, error) {
	f := &fleet{dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s, err := sim.Load("healthy")
	if err != nil {
		return nil, err
	}
	began := time.Now()
	for i := range n {
		opts := []sim.Option{sim.TLS()}
		if i < degraded {
			opts = append(opts, sim.LatencyScale(degradedScale), sim.MaxLatency(degradedMaxLat))
		}
		cp, err := sim.Serve(s, sim.LiveClock(s, began, true), opts...)
		if err != nil {
			f.stop()
			return nil, err
		}
		f.planes = append(f.planes, cp)
		f.names = append(f.names, clusterName(i))
	}
	clusters, err := f.clustersFile()
	if err != nil {
		f.stop()
		return nil, err
	}
	for i := range fleetReplicas {
		name := fmt.Sprintf("r%d", i+1)
		c, err := startChild(ctx, "scaplockd", map[string]string{
			"SCAPLOCK_DATA_DIR": filepath.Join(dir, name), "SCAPLOCK_ETCD_ENDPOINTS": strings.Join(endpoints, ","),
			"SCAPLOCK_ETCD_PREFIX": prefix, "SCAPLOCK_JWT_SECRET_FILE": secret, "SCAPLOCK_CLUSTERS_FILE": clusters,
			"SCAPLOCK_REPLICA_NAME": name, "SCAPLOCK_MAX_STREAMS": "1000",
		})
		if err != nil {
			f.stop()
			return nil, fmt.Errorf("start replica %s: %w", name, err)
		}
		f.replicas, f.replica = append(f.replicas, c), append(f.replica, name)
	}
	if err := f.waitJudged(ctx, degraded, 90*time.Second, 30*time.Second); err != nil {
		f.stop()
		return nil, err
	}
	return f, nil
}

// clustersFile writes the gate's configuration for every simulated cluster.
func (f *fleet) clustersFile() (string, error) {
	ca := filepath.Join(f.dir, "apiservers-ca.pem")
	// Every simulated apiserver serves httptest's one certificate.
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.planes[0].Certificate().Raw}), 0o600); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "interval: %s\nmode: enforce\nclusters:\n", fleetInterval)
	for i, cp := range f.planes {
		fmt.Fprintf(&b, "  - name: %s\n    tls: {ca_file: %q}\n    timeout: %s\n", f.names[i], ca, fleetTimeout)
		// The default thresholds (readyz warn 500 ms, crit 1 s).
		fmt.Fprintf(&b, "    trip_after: 2\n    clear_after: 5\n    min_hold: 0s\n    apiservers:\n")
		for j, e := range cp.Endpoints() {
			fmt.Fprintf(&b, "      - {url: %s, node_exporter: %s, name: \"%s-master%d:6443\"}\n", e.APIServerURL, e.NodeExporterURL, f.names[i], j+1)
		}
	}
	path := filepath.Join(f.dir, "clusters.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// waitJudged waits until some replica leads the gate and every cluster has
// a report, the first `degraded` of them degraded; then until the others
// are ok, for at most settle more (on a shared machine some may flap:
// the figures say how many were not ok).
func (f *fleet) waitJudged(ctx context.Context, degraded int, limit, settle time.Duration) error {
	c := newClient(f.replicas[0].url, "")
	deadline := time.Now().Add(limit)
	var last string
	var reported time.Time
	for time.Now().Before(deadline) {
		notOK, err := f.notOK(ctx, c, degraded)
		switch {
		case err != nil:
			// A replica that starts beside two others may not confirm etcd
			// at once (503): ask again.
			last = err.Error()
		case notOK == 0:
			return nil
		case notOK > 0 && reported.IsZero():
			reported = time.Now()
		case notOK > 0 && time.Since(reported) > settle:
			return nil
		default:
			last = fmt.Sprintf("%d clusters without a report or not as scripted", -notOK)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return errors.New("the fleet was not judged within " + limit.String() + ": " + last)
}

// notOK counts the healthy clusters the gate does not judge ok; it is
// negative (minus those missing) until the gate leads, every cluster has a
// report and the degraded ones are degraded.
func (f *fleet) notOK(ctx context.Context, c *client, degraded int) (int, error) {
	var st api.StatusResponse
	if err := c.do(ctx, "GET", "/api/v1/status", nil, &st, 200); err != nil {
		return 0, err
	}
	notOK, missing := 0, 0
	for i, name := range f.names {
		h, ok := st.Health[name]
		switch {
		case !ok || (i < degraded && h.Status != apiv1.StatusDegraded):
			missing++
		case i >= degraded && h.Status != apiv1.StatusOK:
			notOK++
		}
	}
	if st.Gate.Leader == "" || missing > 0 {
		return -max(missing, 1), nil
	}
	return notOK, nil
}

// leader is the index of the replica that leads the gate.
func (f *fleet) leader(ctx context.Context) (int, error) {
	var st api.StatusResponse
	if err := newClient(f.replicas[0].url, "").do(ctx, "GET", "/api/v1/status", nil, &st, 200); err != nil {
		return 0, err
	}
	for i, n := range f.replica {
		if n == st.Gate.Leader {
			return i, nil
		}
	}
	return 0, fmt.Errorf("the gate's leader %q is none of the replicas", st.Gate.Leader)
}

// connections is how many connections all simulated apiservers have
// accepted, and how many apiservers there are.
func (f *fleet) connections() (conns int64, apiservers int) {
	for _, cp := range f.planes {
		for _, e := range cp.Endpoints() {
			conns += cp.APIServerConnections(e.Host)
			apiservers++
		}
	}
	return conns, apiservers
}

// cpu is each replica's CPU seconds so far.
func (f *fleet) cpu() ([]float64, error) {
	out := make([]float64, len(f.replicas))
	for i, r := range f.replicas {
		s, err := cpuSeconds(r.cmd.Process.Pid)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// stop ends the replicas, then the simulated clusters.
func (f *fleet) stop() {
	for i := len(f.replicas) - 1; i >= 0; i-- {
		f.replicas[i].stop()
	}
	for _, cp := range f.planes {
		_ = cp.Close()
	}
}
