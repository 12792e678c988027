package lock

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/server/embedetcd"
)

// A reload of the cache (after a compaction the watch missed) lets every
// subscriber go: what it was told has a gap, and it must start afresh.
func TestReloadLetsSubscribersGo(t *testing.T) {
	e, err := embedetcd.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cli, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, cli, Options{SweepEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	changes, stop := s.Subscribe()
	defer stop()
	if err := s.load(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case _, open := <-changes:
		if open {
			t.Fatal("the subscriber got a change instead of being let go")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the subscriber is still subscribed after a reload")
	}
	// A new subscriber after the reload is told of changes again.
	again, stopAgain := s.Subscribe()
	defer stopAgain()
	if _, err := s.Create(ctx, HoldRequest{Scope: "eqiad", Kind: KindManual, Owner: "alice", Reason: "after the reload"}); err != nil {
		t.Fatal(err)
	}
	select {
	case c, open := <-again:
		if !open {
			t.Fatal("the new subscriber was let go")
		}
		_ = c
	case <-time.After(5 * time.Second):
		t.Fatal("no change after the reload")
	}
}

// A reload shows exactly what etcd had at the revision it loaded, never
// less than the cache had shown: writes another replica made while this
// one's watch was away are in it, releases are gone, and the revision
// does not go back. (Under the read lease a reload could show a change
// before every replica had it; with every answer confirmed through the
// read barrier there is nothing to show early: what etcd committed at the
// loaded revision is what any later read must see anyway.)
func TestReloadShowsEtcdAtItsRevision(t *testing.T) {
	e, err := embedetcd.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cli, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := Open(ctx, cli, Options{SweepEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, cli, Options{SweepEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	gone, err := a.Create(ctx, HoldRequest{Scope: "eqiad", Kind: KindManual, Owner: "alice", Reason: "released elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	shown := a.Revision()
	// The other replica releases it and takes another while this one
	// reloads, as after a compaction its watch missed.
	if _, err := b.Release(ctx, ReleaseRequest{ID: gone.ID, Actor: "bob", Reason: "done", Kinds: []Kind{KindManual}}); err != nil {
		t.Fatal(err)
	}
	kept, err := b.Create(ctx, HoldRequest{Scope: "codfw", Kind: KindManual, Owner: "bob", Reason: "taken elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.load(ctx); err != nil {
		t.Fatal(err)
	}
	snap := a.Snapshot()
	if snap.Revision < kept.Revision || snap.Revision < shown {
		t.Fatalf("reloaded at revision %d: before the other replica's write (%d) or what was shown (%d)", snap.Revision, kept.Revision, shown)
	}
	resp, err := cli.Get(ctx, a.keys.Holds(), clientv3.WithPrefix(), clientv3.WithRev(snap.Revision))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Holds) != len(resp.Kvs) || len(snap.Holds) != 1 || snap.Holds[0].ID != kept.ID {
		t.Fatalf("after the reload the cache shows %+v; etcd had %d holds at revision %d, want only %s", snap.Holds, len(resp.Kvs), snap.Revision, kept.ID)
	}
	if v := a.Verdict([]Scope{"eqiad"}); !v.Allowed {
		t.Fatalf("eqiad still refused after the reload: %+v", v)
	}
	if v := a.Verdict([]Scope{"codfw"}); v.Allowed {
		t.Fatal("codfw allowed after the reload, though the other replica holds it")
	}
}
