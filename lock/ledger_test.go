package lock_test

import (
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/lock"
	"github.com/scaplock/scaplock/lock/locktest"
)

// A hold keeps a ledger entry exactly while it has a lease, the only way
// etcd can take it away: a hold without one costs no ledger write, gains
// an entry when an amendment gives it an expiry, and loses it on release.
func TestLedgerOnlyForLeasedHolds(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	cli := e.Client(t)
	s := locktest.OpenStore(t, cli, lock.Options{})
	ctx := ctxT(t)
	hasEntry := func(id string) bool {
		t.Helper()
		resp, err := cli.Get(ctx, s.Keys().LedgerEntry(id), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count == 1
	}
	manual := []lock.Kind{lock.KindManual}

	h, err := s.Create(ctx, lock.HoldRequest{Scope: "eqiad", Kind: lock.KindManual, Owner: "alice", Reason: "until further notice"})
	if err != nil {
		t.Fatal(err)
	}
	if hasEntry(h.ID) {
		t.Fatalf("hold %s without a lease has a ledger entry", h.ID)
	}
	if _, err := s.Amend(ctx, h.ID, "bob", lock.Amendment{Duration: time.Hour, Kinds: manual}); err != nil {
		t.Fatal(err)
	}
	if !hasEntry(h.ID) {
		t.Fatalf("hold %s amended to expire has no ledger entry: its expiry could not be recorded", h.ID)
	}
	if _, err := s.Release(ctx, lock.ReleaseRequest{ID: h.ID, Actor: "carol", Reason: "done", Kinds: manual}); err != nil {
		t.Fatal(err)
	}
	if hasEntry(h.ID) {
		t.Fatalf("released hold %s left its ledger entry behind", h.ID)
	}

	leased, err := s.Create(ctx, lock.HoldRequest{Scope: "codfw", Kind: lock.KindManual, Owner: "alice", Reason: "an hour", Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !hasEntry(leased.ID) {
		t.Fatalf("hold %s with a lease has no ledger entry", leased.ID)
	}
}
