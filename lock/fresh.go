package lock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scaplock/scaplock/lock/linear"
	"github.com/scaplock/scaplock/lock/tick"
)

// Sync waits until the cache reflects every write etcd acknowledged
// before Sync was called, on any replica (package linear says how and
// why that makes answers linearizable). It returns an error matching
// ErrUnavailable when etcd does not confirm in time or ctx ends first;
// cancelling ctx stops only this caller's wait.
func (s *Store) Sync(ctx context.Context) error {
	err := s.linear.Sync(ctx)
	if errors.Is(err, linear.ErrNotConfirmed) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// SyncWithin is Sync bounded by within as well as ctx (no extra bound when
// within is zero).
func (s *Store) SyncWithin(ctx context.Context, within time.Duration) error {
	if within > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, within)
		defer cancel()
	}
	return s.Sync(ctx)
}

// StaleAfter is how long the cache is trusted without confirming etcd.
const StaleAfter = 3 * time.Second

// confirmLoop confirms the cache once a second, so that Fresh knows when
// the replica is cut off from etcd without waiting for a request to find
// out.
func (s *Store) confirmLoop(ctx context.Context) {
	tick.Until(ctx.Done(), time.Second, func() {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := s.Sync(cctx); err != nil && ctx.Err() == nil {
			s.log.Debug("etcd not confirmed", "err", err)
		}
	})
}

// Fresh returns nil while the cache was confirmed against etcd within
// StaleAfter, and an error matching ErrUnavailable otherwise: such a
// replica is cut off, and answers 503 at once instead of after a
// request's timeout. It is a shortcut, not what makes answers correct:
// those still Sync.
func (s *Store) Fresh() error {
	if age := s.ConfirmedAge(); age > StaleAfter {
		return fmt.Errorf("%w: %w", ErrUnavailable, staleError{age.Truncate(time.Second)})
	}
	return nil
}

// staleError is Fresh's: a cache etcd has not confirmed for age.
type staleError struct{ age time.Duration }

func (e staleError) Error() string {
	return fmt.Sprintf("etcd not confirmed for %s; the cache may be missing holds", e.age)
}

func (e staleError) Is(target error) bool { return target == ErrNotConfirmed }

// ConfirmedAge is how long ago the cache last reflected etcd for certain.
func (s *Store) ConfirmedAge() time.Duration { return time.Since(s.linear.Confirmed()) }
