package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/server/gate"
)

// gateRunner owns the gate's goroutine inside the server.
type gateRunner struct {
	gate   *gate.Gate
	cancel context.CancelFunc
	done   chan struct{}
}

// startGate runs the gate of hc, or of cfg's clusters file when hc is nil.
func startGate(cfg Config, hc *health.Config, cli *clientv3.Client, store *lock.Store, view *gate.View, reg prometheus.Registerer, log *slog.Logger) (*gateRunner, error) {
	if hc == nil {
		loaded, err := LoadClusters(cfg)
		if err != nil {
			return nil, err
		}
		hc = &loaded
	} else if err := hc.Validate(); err != nil {
		return nil, fmt.Errorf("gate configuration: %w", err)
	}
	if cfg.GateMode != "" {
		hc.Mode = health.Mode(cfg.GateMode)
	}
	g, err := gate.New(*hc, store, view, cfg.ReplicaName, reg, log)
	if err != nil {
		return nil, fmt.Errorf("SCAPLOCK_CLUSTERS_FILE: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &gateRunner{gate: g, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		g.Run(ctx, cli)
	}()
	log.Info("gate started", "mode", hc.Mode, "clusters", len(hc.Clusters), "interval", hc.Interval.String())
	return r, nil
}

// info is what the API shows of the gate: its mode and clusters.
func (r *gateRunner) info() api.GateInfo {
	cfg := r.gate.Config()
	info := api.GateInfo{Mode: string(cfg.Mode)}
	for _, c := range cfg.Clusters {
		info.Clusters = append(info.Clusters, c.Name)
	}
	return info
}

func (r *gateRunner) stop() {
	r.cancel()
	<-r.done
}
