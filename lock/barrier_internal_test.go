package lock

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// A caller that arrives while a read is in flight must wait for the next
// read: the one in flight may have been served before the caller's write.
func TestBarrierJoinsTheNextRead(t *testing.T) {
	b := newBarrier()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan int64)
	release := make(chan struct{})
	var reads atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.run(ctx, func(context.Context) (int64, error) {
			n := reads.Add(1)
			started <- n
			<-release
			return n * 10, nil
		})
	}()
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
	select {
	case <-second.done:
	case <-time.After(10 * time.Second):
		t.Fatal("second round never finished")
	}
	if second.rev != 20 || second.err != nil {
		t.Fatalf("second round: rev %d err %v, want 20", second.rev, second.err)
	}
	if s, r := b.syncs.Load(), b.reads.Load(); s != 3 || r != 2 {
		t.Fatalf("counted %d syncs and %d reads, want 3 and 2", s, r)
	}
}

func TestBarrierFailsPendingRoundsOnStop(t *testing.T) {
	b := newBarrier()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := b.join()
	b.run(ctx, func(context.Context) (int64, error) { t.Error("read after stop"); return 0, nil })
	select {
	case <-r.done:
	default:
		t.Fatal("pending round left open at stop")
	}
	if r.err == nil {
		t.Fatal("pending round at stop has no error")
	}
}
