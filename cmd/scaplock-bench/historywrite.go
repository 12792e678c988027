package main

import (
	"context"
	"fmt"
	"time"

	"github.com/scaplock/scaplock/lock"
)

// writeHistory appends n events, one second apart and ending now, through
// the store in batches: 20 actors, two events per hold, manual holds on eqiad.
func writeHistory(ctx context.Context, s *lock.Store, n int) error {
	start := time.Now().Add(-time.Duration(n) * time.Second)
	const batch = 5000
	evs := make([]lock.Event, 0, batch)
	for i := range n {
		evs = append(evs, lock.Event{
			ID: fmt.Sprintf("ev%08d", i), Time: start.Add(time.Duration(i) * time.Second), Actor: fmt.Sprintf("user%d", i%20),
			Action: lock.ActionCreated, Scope: "eqiad", Kind: lock.KindManual, Reason: "bench history event with a reason of typical length",
			Hold: &lock.Hold{ID: fmt.Sprintf("h%08d", i/2), Scope: "eqiad", Kind: lock.KindManual, Owner: "alice", Reason: "bench"},
		})
		if len(evs) == batch || i == n-1 {
			if err := s.AppendEvents(ctx, evs); err != nil {
				return err
			}
			evs = evs[:0]
		}
	}
	return nil
}
