package linear

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNotConfirmed is returned when etcd's current revision could not be
// confirmed, or the cache did not reach it, before the caller's context
// ended.
var ErrNotConfirmed = errors.New("etcd did not confirm the current revision")

// Cache is the watch-fed cache the barrier waits for.
type Cache interface {
	// WaitRevision returns once the cache reflects rev, or an error when
	// ctx ends first.
	WaitRevision(ctx context.Context, rev int64) error
}

// CurrentFunc returns etcd's current revision by a linearizable read.
type CurrentFunc func(ctx context.Context) (int64, error)

// LocalFunc returns etcd's current revision without a read-index round
// when the process knows it (an embedded member alone in its cluster has
// applied every write it acknowledged); ok is false otherwise.
type LocalFunc func() (rev int64, ok bool)

// readTimeout bounds one linearizable read.
const readTimeout = 5 * time.Second

// Barrier confirms etcd's current revision for a Cache.
type Barrier struct {
	cache   Cache
	current CurrentFunc
	local   LocalFunc

	mu      sync.Mutex
	pending *round // the next read, not started yet; nil when nobody waits
	kick    chan struct{}

	syncs, reads atomic.Int64
	// failing is the error of the latest read when it failed; nil after
	// one succeeded. A caller that gives up is told it.
	failing atomic.Pointer[error]
	// confirmed is the unix nanos of the start of the latest Sync that
	// succeeded: the cache reflected etcd as of then.
	confirmed atomic.Int64
}

// round is one linearizable read shared by every caller that joined it.
type round struct {
	done chan struct{}
	rev  int64
	err  error
}

// New returns a barrier for cache; Run must be running for Sync to read.
// local may be nil.
func New(cache Cache, current CurrentFunc, local LocalFunc) *Barrier {
	b := &Barrier{cache: cache, current: current, local: local, kick: make(chan struct{}, 1)}
	b.confirmed.Store(time.Now().UnixNano())
	return b
}

// Sync returns once the cache reflects every write etcd acknowledged
// before Sync was called. Cancelling ctx ends only this caller's wait; the
// error then wraps ErrNotConfirmed.
func (b *Barrier) Sync(ctx context.Context) error {
	began := time.Now()
	b.syncs.Add(1)
	var rev int64
	ok := false
	if b.local != nil {
		rev, ok = b.local()
	}
	if !ok {
		var err error
		if rev, err = b.read(ctx); err != nil {
			return fmt.Errorf("%w: %w", ErrNotConfirmed, err)
		}
	}
	if err := b.cache.WaitRevision(ctx, rev); err != nil {
		return fmt.Errorf("%w: the cache did not reach revision %d: %w", ErrNotConfirmed, rev, err)
	}
	b.markConfirmed(began)
	return nil
}

// read joins the next shared read. A read already in flight may have been
// served before the caller's request arrived, so the caller never joins
// it: it waits for the next one.
func (b *Barrier) read(ctx context.Context) (int64, error) {
	r := b.join()
	select {
	case <-r.done:
		return r.rev, r.err
	case <-ctx.Done():
		if last := b.failing.Load(); last != nil {
			return 0, fmt.Errorf("%w (etcd's latest answer: %w)", ctx.Err(), *last)
		}
		return 0, ctx.Err()
	}
}

func (b *Barrier) join() *round {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = &round{done: make(chan struct{})}
		select {
		case b.kick <- struct{}{}:
		default: // the loop is already due to start a round
		}
	}
	return b.pending
}

// take hands the pending round to the reader; nil when nobody waits.
func (b *Barrier) take() *round {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.pending
	b.pending = nil
	return r
}

// Run reads for the pending round, one read at a time (etcd serves
// linearizable reads one read-index round at a time anyway; make bench
// found more reads in flight no faster), until ctx ends. A round still
// pending then fails.
func (b *Barrier) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			if r := b.take(); r != nil {
				r.err = ctx.Err()
				close(r.done)
			}
			return
		case <-b.kick:
		}
		r := b.take()
		if r == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			return
		}
		rctx, cancel := context.WithTimeout(ctx, readTimeout)
		r.rev, r.err = b.readRetrying(rctx)
		cancel()
		close(r.done)
	}
}

// retryEvery paces reads after a failed one.
const retryEvery = 50 * time.Millisecond

// readRetrying reads until a read succeeds or ctx ends. An etcd leader
// change fails the reads under way ("leader changed", "no leader"); the
// next read, after the election, answers. Any later read still started
// after every caller of the round arrived, so it serves them as well.
func (b *Barrier) readRetrying(ctx context.Context) (int64, error) {
	for {
		b.reads.Add(1)
		rev, err := b.current(ctx)
		if err == nil {
			b.failing.Store(nil)
			return rev, nil
		}
		b.failing.Store(&err)
		if ctx.Err() != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, err
		case <-time.After(retryEvery):
		}
	}
}

func (b *Barrier) markConfirmed(t time.Time) {
	n := t.UnixNano()
	for {
		old := b.confirmed.Load()
		if old >= n || b.confirmed.CompareAndSwap(old, n) {
			return
		}
	}
}

// Confirmed is when the latest successful Sync began: the cache reflected
// every write acknowledged before then.
func (b *Barrier) Confirmed() time.Time { return time.Unix(0, b.confirmed.Load()) }

// Counts are the Syncs asked for and the linearizable reads that served
// them: syncs/reads is how many callers share one read.
func (b *Barrier) Counts() (syncs, reads int64) { return b.syncs.Load(), b.reads.Load() }
