package server

import (
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// newClient dials etcd; the client's own zap logger is silenced because
// every error it sees is returned to, and logged by, its caller.
func newClient(cfg clientv3.Config) (*clientv3.Client, error) {
	cfg.DialTimeout = 5 * time.Second
	cfg.Logger = zap.NewNop()
	return clientv3.New(cfg)
}
