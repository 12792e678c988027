package lock_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
)

// raceKV holds a store's write transaction until another write has
// committed, then fails the store's reads of idempotency records: the
// store loses the race to a request with the same key and cannot read
// what that request did.
type raceKV struct {
	clientv3.KV
	before    func()       // runs before the store's first transaction commits
	readsDown *atomic.Bool // set once that transaction has committed
	prefix    string       // the idempotency records' prefix
}

func (k raceKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if k.readsDown.Load() && strings.HasPrefix(key, k.prefix) {
		return nil, errors.New("injected: etcd unreachable")
	}
	return k.KV.Get(ctx, key, opts...)
}

func (k raceKV) Txn(ctx context.Context) clientv3.Txn {
	return &raceTxn{Txn: k.KV.Txn(ctx), k: k}
}

type raceTxn struct {
	clientv3.Txn
	k raceKV
}

func (t *raceTxn) If(cs ...clientv3.Cmp) clientv3.Txn   { t.Txn = t.Txn.If(cs...); return t }
func (t *raceTxn) Then(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Then(ops...); return t }
func (t *raceTxn) Else(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Else(ops...); return t }
func (t *raceTxn) Commit() (*clientv3.TxnResponse, error) {
	t.k.before()
	r, err := t.Txn.Commit()
	t.k.readsDown.Store(true)
	return r, err
}

// A write that loses to a concurrent request with the same idempotency key,
// and then cannot read that request's outcome, answers "outcome unknown"
// (retry with the key to learn it), never a conflict: the key's write did
// happen.
func TestLostRaceWithUnreadableOutcomeIsUnknown(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	winner := locktest.OpenStore(t, e.Client(t), lock.Options{SweepEvery: 1 << 40})
	ctx := ctxT(t)
	req := lock.HoldRequest{Scope: "eqiad", Kind: lock.KindManual, Owner: "alice", Reason: "same key twice",
		Idem: &lock.Idempotency{Key: "k1", Actor: "alice", Fingerprint: "POST /api/v1/holds same body"}}

	cli := e.Client(t)
	var down atomic.Bool
	var won lock.Hold
	var winErr error
	var once atomic.Bool
	cli.KV = raceKV{KV: cli.KV, readsDown: &down, prefix: winner.Keys().Idempotency(), before: func() {
		if once.CompareAndSwap(false, true) {
			won, winErr = winner.Create(ctx, req)
		}
	}}
	loser := locktest.OpenStore(t, cli, lock.Options{SweepEvery: 1 << 40})
	_, err := loser.Create(ctx, req)
	if winErr != nil {
		t.Fatalf("the winning request: %v", winErr)
	}
	var unknown *lock.OutcomeUnknownError
	if !errors.As(err, &unknown) || errors.Is(err, lock.ErrConflict) {
		t.Fatalf("the losing request answered %v, want outcome unknown", err)
	}
	// Once etcd answers again, the same key tells what happened.
	down.Store(false)
	again, err := loser.Create(ctx, req)
	if err != nil || again.ID != won.ID {
		t.Fatalf("retry with the key: %+v, %v; want hold %s", again, err, won.ID)
	}
}
