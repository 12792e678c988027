package migrations_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
	"github.com/scaplock/scaplock/migrations"
)

// counted wraps migrations so the test sees how often each one ran.
func counted(n int, calls []atomic.Int32) []migrations.Migration {
	var ms []migrations.Migration
	for i := 1; i <= n; i++ {
		ms = append(ms, migrations.Migration{Version: i, Name: "step", Ops: func(_ context.Context, _ *clientv3.Client, keys lock.Keys) ([]clientv3.Op, error) {
			calls[i-1].Add(1)
			return []clientv3.Op{clientv3.OpPut(keys.Prefix+"step/"+string(rune('0'+i)), "done")}, nil
		}})
	}
	return ms
}

func TestFreshThenCurrentStore(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	cli := e.Client(t)
	keys := lock.NewKeys("/scaplock/")
	ctx := context.Background()
	applied, err := migrations.Run(ctx, cli, keys, migrations.All, nil)
	if err != nil || len(applied) != len(migrations.All) || applied[0] != 1 {
		t.Fatalf("fresh store: applied %v, %v", applied, err)
	}
	v, _, err := migrations.Version(ctx, cli, keys)
	if err != nil || v != migrations.Latest(migrations.All) {
		t.Fatalf("version after migrating: %d, %v", v, err)
	}
	resp, err := cli.Get(ctx, keys.Prefix+"schema/layout")
	if err != nil || len(resp.Kvs) != 1 || !strings.Contains(string(resp.Kvs[0].Value), keys.Holds()) {
		t.Fatalf("layout not written: %v", err)
	}
	applied, err = migrations.Run(ctx, cli, keys, migrations.All, nil)
	if err != nil || len(applied) != 0 {
		t.Fatalf("already-current store: applied %v, %v", applied, err)
	}
}

func TestNewerStoreIsRefused(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	cli := e.Client(t)
	keys := lock.NewKeys("/scaplock/")
	if _, err := cli.Put(context.Background(), keys.SchemaVersion(), "99"); err != nil {
		t.Fatal(err)
	}
	_, err := migrations.Run(context.Background(), cli, keys, migrations.All, nil)
	if !errors.Is(err, migrations.ErrNewerStore) || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("newer store: %v", err)
	}
	resp, _ := cli.Get(context.Background(), keys.SchemaVersion())
	if string(resp.Kvs[0].Value) != "99" {
		t.Fatalf("refused run changed the version to %s", resp.Kvs[0].Value)
	}
}

// Replicas starting at once apply each migration exactly once.
func TestConcurrentStart(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	keys := lock.NewKeys("/scaplock/")
	calls := make([]atomic.Int32, 3)
	ms := counted(3, calls)
	var wg sync.WaitGroup
	var total atomic.Int32
	for r := 0; r < 4; r++ {
		cli := e.Client(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			applied, err := migrations.Run(ctx, cli, keys, ms, nil)
			if err != nil {
				t.Error(err)
			}
			total.Add(int32(len(applied)))
		}()
	}
	wg.Wait()
	for i := range calls {
		if n := calls[i].Load(); n != 1 {
			t.Errorf("migration %d ran %d times, want 1", i+1, n)
		}
	}
	if total.Load() != 3 {
		t.Fatalf("replicas applied %d migrations in all, want 3", total.Load())
	}
}
