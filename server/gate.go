package server

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/lock"
)

// gateRunner runs the health gate (see gate issue); placeholder until then.
type gateRunner struct{ mode string }

func startGate(cfg Config, cli *clientv3.Client, store *lock.Store, reg prometheus.Registerer, log *slog.Logger) (*gateRunner, error) {
	return &gateRunner{mode: "observe"}, nil
}

func (g *gateRunner) info() api.GateInfo { return api.GateInfo{Mode: g.mode} }

func (g *gateRunner) stop() {}
