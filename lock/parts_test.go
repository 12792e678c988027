package lock_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
)

// A Part added with Options.Parts gets its keys at load, every later put
// and delete from the same watch, and its changes reach subscribers.
func TestPartsFollowTheWatch(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	cli := e.Client(t)
	ctx := context.Background()
	prefix := "/scaplock/extra/"
	if _, err := cli.Put(ctx, prefix+"before", "1"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	resets := 0
	part := lock.Part{
		Prefix: prefix,
		Reset:  func() { mu.Lock(); resets++; clear(seen); mu.Unlock() },
		Put: func(kv *mvccpb.KeyValue) *lock.Change {
			mu.Lock()
			defer mu.Unlock()
			seen[strings.TrimPrefix(string(kv.Key), prefix)] = string(kv.Value)
			return &lock.Change{Type: apiv1.ChangeLeader, Leader: string(kv.Value), Revision: kv.ModRevision}
		},
		Del: func(kv *mvccpb.KeyValue) *lock.Change {
			mu.Lock()
			defer mu.Unlock()
			delete(seen, strings.TrimPrefix(string(kv.Key), prefix))
			return nil
		},
	}
	store := locktest.OpenStore(t, cli, lock.Options{Parts: []lock.Part{part}})
	changes, cancel := store.Subscribe()
	defer cancel()
	mu.Lock()
	if resets != 1 || seen["before"] != "1" {
		t.Fatalf("after load: resets %d, seen %v; want 1 reset and the key written before", resets, seen)
	}
	mu.Unlock()
	if _, err := cli.Put(ctx, prefix+"after", "2"); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Delete(ctx, prefix+"before")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.WaitRevision(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(seen) != 1 || seen["after"] != "2" {
		t.Errorf("after a put and a delete: %v, want only after=2", seen)
	}
	mu.Unlock()
	select {
	case c := <-changes:
		if c.Type != apiv1.ChangeLeader || c.Leader != "2" {
			t.Errorf("announced %+v, want the part's change for the put", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the part's change was not announced")
	}
}
