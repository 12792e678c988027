package lock

import (
	"context"
	"fmt"
	"time"
)

// StaleAfter is how long the cache is trusted without confirming etcd.
const StaleAfter = 3 * time.Second

// confirm checks once a second that etcd answers and that the cache has
// caught up with its revision; Fresh reports how long ago that last held.
// Without it, a replica cut off from etcd would keep answering preflight
// from a cache that may be missing holds.
func (s *Store) confirmLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.confirm(ctx); err != nil && ctx.Err() == nil {
			s.log.Debug("etcd not confirmed", "err", err)
		}
	}
}

func (s *Store) confirm(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return s.Sync(ctx)
}

// Fresh returns nil while the cache is known to reflect etcd within
// StaleAfter, and an error matching ErrUnavailable otherwise: a cache that
// has not been confirmed may be missing holds.
func (s *Store) Fresh() error {
	last := time.Unix(0, s.confirmed.Load())
	if age := time.Since(last); age > StaleAfter {
		return fmt.Errorf("%w: etcd not confirmed for %s; the cache may be missing holds", ErrUnavailable, age.Truncate(time.Second))
	}
	return nil
}
