package lock

import (
	"context"
	"testing"
	"time"

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
