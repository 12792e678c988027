package linear

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// revCache is a cache whose revision the test moves by hand.
type revCache struct {
	mu      sync.Mutex
	rev     int64
	changed chan struct{}
}

func newRevCache() *revCache { return &revCache{changed: make(chan struct{})} }

func (c *revCache) set(rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rev = rev
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *revCache) WaitRevision(ctx context.Context, rev int64) error {
	for {
		c.mu.Lock()
		cur, ch := c.rev, c.changed
		c.mu.Unlock()
		if cur >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// A caller that arrives while a read is in flight must wait for the next
// read: the one in flight may have been served before the caller's write.
func TestBarrierJoinsTheNextRead(t *testing.T) {
	started := make(chan int64)
	release := make(chan struct{})
	var reads atomic.Int64
	b := New(newRevCache(), func(context.Context) (int64, error) {
		n := reads.Add(1)
		started <- n
		<-release
		return n * 10, nil
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	first := b.join()
	if n := <-started; n != 1 {
		t.Fatalf("first read is read %d", n)
	}
	// Both arrive while read 1 is in flight: they share read 2.
	second, third := b.join(), b.join()
	if second == first {
		t.Fatal("a caller arriving during a read joined that read")
	}
	if second != third {
		t.Fatal("callers arriving during one read did not share the next")
	}
	release <- struct{}{}
	<-first.done
	if first.rev != 10 {
		t.Fatalf("first round saw revision %d, want 10", first.rev)
	}
	if n := <-started; n != 2 {
		t.Fatalf("second round ran read %d", n)
	}
	release <- struct{}{}
	<-second.done
	if second.rev != 20 || second.err != nil {
		t.Fatalf("second round: rev %d err %v, want 20", second.rev, second.err)
	}
	if _, r := b.Counts(); r != 2 {
		t.Fatalf("counted %d reads, want 2", r)
	}
}

// Sync returns only once the cache has reached the confirmed revision,
// and records when it began as the last confirmation.
func TestSyncWaitsForTheCache(t *testing.T) {
	c := newRevCache()
	b := New(c, func(context.Context) (int64, error) { return 7, nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	before := b.Confirmed()
	synced := make(chan error, 1)
	go func() { synced <- b.Sync(context.Background()) }()
	c.set(6)
	select {
	case err := <-synced:
		t.Fatalf("Sync returned %v with the cache at 6 of 7", err)
	default:
	}
	c.set(7)
	if err := <-synced; err != nil {
		t.Fatal(err)
	}
	if !b.Confirmed().After(before) {
		t.Fatal("a successful Sync did not move the confirmation time")
	}
	if syncs, reads := b.Counts(); syncs != 1 || reads != 1 {
		t.Fatalf("counted %d syncs and %d reads, want 1 and 1", syncs, reads)
	}
}

// A read that fails is retried (an etcd election fails reads under way);
// a caller that gives up meanwhile gets ErrNotConfirmed with etcd's
// latest answer, and the confirmation time stays.
func TestSyncNotConfirmed(t *testing.T) {
	down := errors.New("etcdserver: request timed out")
	b := New(newRevCache(), func(context.Context) (int64, error) { return 0, down }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	defer func() { cancel(); <-done }()
	before := b.Confirmed()
	// Reads are retried until the caller gives up; it is told why.
	sctx, scancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer scancel()
	err := b.Sync(sctx)
	if !errors.Is(err, ErrNotConfirmed) || !errors.Is(err, down) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sync with etcd down: %v, want ErrNotConfirmed wrapping the deadline and etcd's answer", err)
	}
	if _, reads := b.Counts(); reads < 2 {
		t.Fatalf("%d reads: a failed read is not retried", reads)
	}
	if !b.Confirmed().Equal(before) {
		t.Fatal("a failed Sync moved the confirmation time")
	}
	gone, stop := context.WithCancel(context.Background())
	stop()
	if err := b.Sync(gone); !errors.Is(err, ErrNotConfirmed) {
		t.Fatalf("Sync of a caller that left: %v", err)
	}
}

// With a local revision (a lone embedded member), Sync reads nothing.
func TestSyncLocal(t *testing.T) {
	c := newRevCache()
	c.set(3)
	b := New(c, func(context.Context) (int64, error) { t.Error("read despite a local revision"); return 0, nil },
		func() (int64, bool) { return 3, true })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBarrierFailsPendingRoundsOnStop(t *testing.T) {
	b := New(newRevCache(), func(context.Context) (int64, error) { return 0, nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := b.join()
	b.Run(ctx)
	select {
	case <-r.done:
	default:
		t.Fatal("pending round left open at stop")
	}
	if r.err == nil {
		t.Fatal("pending round at stop has no error")
	}
}
