package lock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
)

const testLease = 2 * time.Second

// waitLease waits until s answers verdicts under its read lease.
func waitLease(t *testing.T, s *lock.Store) {
	t.Helper()
	for range 100 {
		if held, _ := s.ReadLeaseState(); held {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the replica never took its read lease")
}

// Two replicas answering from their caches under read leases: a verdict
// on one right after a write acknowledged by the other reflects it,
// without a read-index round.
func TestReadLeaseVerdictsSeeWritesOfAnotherReplica(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	a := locktest.OpenStore(t, e.Client(t), lock.Options{ReadLease: testLease})
	b := locktest.OpenStore(t, e.Client(t), lock.Options{ReadLease: testLease})
	waitLease(t, a)
	waitLease(t, b)
	_, before := b.ReadLeaseState()
	ctx := ctxT(t)
	const rounds = 30
	for i := range rounds {
		h, err := a.Create(ctx, lock.HoldRequest{Scope: "eqiad", Kind: lock.KindManual, Owner: "alice", Reason: "lease test"})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if v := b.Verdict([]lock.Scope{"eqiad"}); v.Allowed {
			t.Fatalf("round %d: replica b allowed eqiad after a acknowledged hold %s", i, h.ID)
		}
		if _, err := a.Release(ctx, lock.ReleaseRequest{ID: h.ID, Actor: "alice", Reason: "done", Kinds: []lock.Kind{lock.KindManual}}); err != nil {
			t.Fatal(err)
		}
		if err := b.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if v := b.Verdict([]lock.Scope{"eqiad"}); !v.Allowed {
			t.Fatalf("round %d: replica b still refuses after the release", i)
		}
	}
	_, after := b.ReadLeaseState()
	if after-before < rounds {
		t.Fatalf("only %d of %d verdicts were answered under the read lease", after-before, 2*rounds)
	}
	if waited, failed := a.FenceStats(); waited == 0 || failed != 0 {
		t.Fatalf("fences of a: waited %d, failed %d; want waits for b and no failure", waited, failed)
	}
}

// A replica that stops acking (its etcd connection gone) holds writes up
// only until its lease expires; it then refuses to answer instead of
// answering from its stale cache.
func TestFenceWaitsOutAReplicaThatDoesNotAck(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	a := locktest.OpenStore(t, e.Client(t), lock.Options{ReadLease: testLease})
	bCli, err := e.Etcd.Client()
	if err != nil {
		t.Fatal(err)
	}
	b := locktest.OpenStore(t, bCli, lock.Options{ReadLease: testLease})
	waitLease(t, b)
	bCli.Close() // b's key and lease stay in etcd until revoked or expired

	ctx := ctxT(t)
	h, err := a.Create(ctx, lock.HoldRequest{Scope: "eqiad", Kind: lock.KindManual, Owner: "alice", Reason: "b is cut off"})
	if err != nil {
		t.Fatal(err)
	}
	if waited, failed := a.FenceStats(); waited != 1 || failed != 0 {
		t.Fatalf("fences of a: waited %d, failed %d; want one wait for b, ended by its lease", waited, failed)
	}
	if held, _ := b.ReadLeaseState(); held {
		t.Fatal("b still answers from its cache after a's write was acknowledged")
	}
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := b.Sync(sctx); !errors.Is(err, lock.ErrUnavailable) {
		t.Fatalf("b.Sync after hold %s: %v, want ErrUnavailable", h.ID, err)
	}
	cli := e.Client(t)
	resp, err := cli.Get(ctx, a.Keys().Replicas(), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 1 {
		t.Fatalf("%d replicas registered, want only a", resp.Count)
	}
}

// A replica that stops cleanly says so: writes do not wait for it, and
// its key is gone.
func TestClosedReplicaLeavesNoKey(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	cli := e.Client(t)
	a := locktest.OpenStore(t, e.Client(t), lock.Options{ReadLease: testLease})
	b, err := lock.Open(ctxT(t), e.Client(t), lock.Options{ReadLease: testLease})
	if err != nil {
		t.Fatal(err)
	}
	waitLease(t, b)
	waitLease(t, a)
	ctx := ctxT(t)
	count := func() int64 {
		resp, err := cli.Get(ctx, a.Keys().Replicas(), clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count
	}
	if n := count(); n != 2 {
		t.Fatalf("%d replicas registered, want 2", n)
	}
	b.Close()
	if n := count(); n != 1 {
		t.Fatalf("%d replicas registered after b closed, want 1", n)
	}
	if _, err := a.Create(ctx, lock.HoldRequest{Scope: "eqiad", Kind: lock.KindManual, Owner: "alice", Reason: "after b left"}); err != nil {
		t.Fatal(err)
	}
	if waited, failed := a.FenceStats(); waited != 0 || failed != 0 {
		t.Fatalf("fences of a: waited %d, failed %d; want no wait for a replica that left", waited, failed)
	}
}

// A write whose fence meets its deadline stands and says so
// (ErrUnconfirmed); its retry with the same key answers with the write
// once the fence completes, and makes no second hold.
func TestUnconfirmedWriteReplaysOnceFenced(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	a := locktest.OpenStore(t, e.Client(t), lock.Options{ReadLease: testLease})
	bCli, err := e.Etcd.Client()
	if err != nil {
		t.Fatal(err)
	}
	// A longer lease for b: it outlives a's short deadline by seconds.
	b := locktest.OpenStore(t, bCli, lock.Options{ReadLease: 4 * time.Second})
	waitLease(t, b)
	bCli.Close() // b stops acking; its key stays until its lease expires

	idem := &lock.Idempotency{Key: "k-unconfirmed", Actor: "alice", Fingerprint: lock.Fingerprint("POST", "/api/v1/holds", "b is cut off")}
	req := lock.HoldRequest{Scope: "eqiad", Kind: lock.KindManual, Owner: "alice", Reason: "b is cut off", Idem: idem}
	// The request ends once its fence waits for b (committed, its own
	// cache caught up), however long the commit took.
	short, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	go func() {
		for short.Err() == nil {
			if waited, _ := a.FenceStats(); waited > 0 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	_, err = a.Create(short, req)
	var unconfirmed *lock.UnconfirmedError
	if !errors.As(err, &unconfirmed) || !errors.Is(err, lock.ErrUnconfirmed) || errors.Is(err, lock.ErrUnavailable) {
		t.Fatalf("create with b stuck, ended while fencing: %v, want ErrUnconfirmed only", err)
	}
	if _, failed := a.FenceStats(); failed != 1 {
		t.Fatalf("%d failed fences, want 1", failed)
	}
	// The write stands in etcd; a's cache shows it only once b has it or
	// has lost its lease.
	resp, err := e.Client(t).Get(ctxT(t), a.Keys().Hold(unconfirmed.HoldID))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("hold %s in etcd after the unconfirmed create: %v, %v", unconfirmed.HoldID, resp, err)
	}
	if _, err := a.Get(unconfirmed.HoldID); err == nil {
		t.Fatalf("a shows hold %s while b, under its lease, may not have it", unconfirmed.HoldID)
	}
	// A verdict on a waits for b rather than show a change b may still
	// answer without: its deadline comes first here.
	sctx, scancel := context.WithTimeout(ctxT(t), 300*time.Millisecond)
	defer scancel()
	if err := a.Sync(sctx); !errors.Is(err, lock.ErrUnavailable) {
		t.Fatalf("a.Sync while hold %s waits for b: %v, want ErrUnavailable", unconfirmed.HoldID, err)
	}
	h, err := a.Create(ctxT(t), req)
	if err != nil {
		t.Fatalf("retry with the key once b's lease can expire: %v", err)
	}
	if h.ID != unconfirmed.HoldID {
		t.Fatalf("retry answered hold %s, want the original %s", h.ID, unconfirmed.HoldID)
	}
	if n := len(a.Snapshot().Holds); n != 1 {
		t.Fatalf("%d holds after the retry, want 1", n)
	}
}
