// Package locktest starts real etcd servers for tests: the embedded
// server, in-process, each with its own data directory.
package locktest

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/server/embedetcd"
)

// Etcd is a running embedded etcd owned by a test.
type Etcd struct {
	*embedetcd.Etcd
	Dir string
}

// StartEtcd starts an embedded etcd in dir (a new temporary directory when
// empty) and stops it when the test ends.
func StartEtcd(t testing.TB, dir string) *Etcd {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	e, err := embedetcd.Start(dir)
	if err != nil {
		t.Fatalf("embedded etcd: %v", err)
	}
	t.Cleanup(e.Close)
	return &Etcd{Etcd: e, Dir: dir}
}

// Client opens a client closed when the test ends.
func (e *Etcd) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := e.Etcd.Client()
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// OpenStore opens a store on cli, closed when the test ends.
func OpenStore(t testing.TB, cli *clientv3.Client, opts lock.Options) *lock.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := lock.Open(ctx, cli, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
