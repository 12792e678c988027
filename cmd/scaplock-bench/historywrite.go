package main

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/scaplock/scaplock/lock"
)

// writeHistory appends n events, one second apart and ending now, through
// the store in batches, shaped like the store's own: manual holds on
// eqiad created by one of 20 actors (the snapshot repeats the event's
// owner, reason and time) and released a second later by another, with
// the hold as it was.
func writeHistory(ctx context.Context, s *lock.Store, n int) error {
	start := time.Now().Add(-time.Duration(n) * time.Second)
	const batch = 5000
	evs := make([]lock.Event, 0, batch)
	var hold lock.Hold
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second).UTC()
		e := lock.Event{ID: fmt.Sprintf("ev%014d", i), Time: at, Scope: "eqiad", Kind: lock.KindManual}
		if i%2 == 0 {
			expires := at.Add(2 * time.Hour)
			e.Actor, e.Action, e.Reason = fmt.Sprintf("user%d", i%20), lock.ActionCreated, "bench history event with a reason of typical length"
			hold = lock.Hold{ID: fmt.Sprintf("h%015d", i/2), Scope: "eqiad", Kind: lock.KindManual, Owner: e.Actor, Reason: e.Reason,
				CreatedAt: at, UpdatedAt: at, ExpiresAt: &expires, Lease: 7587883469587412345}
		} else {
			e.Actor, e.Action, e.Reason = fmt.Sprintf("user%d", (i+7)%20), lock.ActionReleased, "done"
		}
		snapshot := hold
		e.Hold = &snapshot
		evs = append(evs, e)
		if len(evs) == batch || i == n-1 {
			if err := s.AppendEvents(ctx, evs); err != nil {
				return err
			}
			evs = evs[:0]
		}
	}
	return nil
}

// archiveHistory folds a bulk-written history into archive chunks, as an
// import does when done (the daemon's sweep would too, 20 chunks every
// 10 s), and returns how many events are left live and how many chunks
// there are. The daemon started on it then compacts and rewrites etcd's
// database file, which 100,000 live keys had grown and which etcd maps
// whole into memory (embedetcd: a file mostly free is rewritten).
func archiveHistory(ctx context.Context, s *lock.Store) (live, chunks int64, err error) {
	if _, err := s.ArchiveHistory(ctx); err != nil {
		return 0, 0, err
	}
	cli := s.Client()
	count := func(prefix string) (int64, error) {
		r, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return 0, err
		}
		return r.Count, nil
	}
	if live, err = count(s.Keys().History()); err != nil {
		return 0, 0, err
	}
	chunks, err = count(s.Keys().HistoryArchive())
	return live, chunks, err
}
