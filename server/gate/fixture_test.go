package gate_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/health/healthtest"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
	"github.com/scaplock/scaplock/server/gate"
)

// gateFixture is a gate on a real etcd for eqiad, one scripted apiserver
// (kubemaster1001:6443) that trips it at its first crit evaluation.
type gateFixture struct {
	apiserver *healthtest.APIServer
	cli       *clientv3.Client
	view      *gate.View
	store     *lock.Store
	gate      *gate.Gate
}

func newGateFixture(t *testing.T, latency health.Limits) gateFixture {
	t.Helper()
	apiserver, err := healthtest.NewAPIServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(apiserver.Close)
	cli := locktest.StartEtcd(t, "").Client(t)
	view := gate.NewView(lock.NewKeys("/scaplock/"), nil)
	store := locktest.OpenStore(t, cli, lock.Options{Parts: view.Parts()})
	hc := health.Config{Mode: health.ModeEnforce, Clusters: []health.Cluster{{
		Name: "eqiad", TripAfter: 1,
		APIServers: []health.APIServer{{URL: apiserver.URL, Name: "kubemaster1001:6443"}},
		TLS:        health.TLSConfig{CAFile: apiserver.CAFile},
		Thresholds: health.Thresholds{Latency: latency},
	}}}.WithDefaults()
	if err := hc.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := gate.New(hc, store, view, "r1", prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return gateFixture{apiserver: apiserver, cli: cli, view: view, store: store, gate: g}
}

// version is how many times key was written, 0 if it is absent.
func (f gateFixture) version(t *testing.T, key string) int64 {
	t.Helper()
	resp, err := f.cli.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return 0
	}
	return resp.Kvs[0].Version
}
