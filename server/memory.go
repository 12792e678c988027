package server

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// memoryReturner gives heap freed after a burst back to the OS. Go keeps
// freed heap for reuse, in the RSS, until a collection that need not come
// while the service idles; the embedded etcd frees much of its memory at
// each compaction. Every interval, when more than slack bytes of heap, and
// more than a quarter of the heap in use, are idle and not yet returned, it
// returns them (one full collection, so not while the heap is busy).
type memoryReturner struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

func startMemoryReturner(interval time.Duration, slack uint64) *memoryReturner {
	m := &memoryReturner{stop: make(chan struct{})}
	check := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if idle := ms.HeapIdle - ms.HeapReleased; idle > slack && idle > ms.HeapInuse/4 {
			debug.FreeOSMemory()
		}
	}
	m.wg.Go(func() {
		// At once first: start-up (etcd rebuilding its index from the
		// whole database) leaves more garbage than anything after it.
		check()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				check()
			}
		}
	})
	return m
}

// close stops the returner and waits for it.
func (m *memoryReturner) close() {
	close(m.stop)
	m.wg.Wait()
}

// ApplyMemoryLimit sets cfg.MemoryLimit as the process's soft memory limit,
// unless GOMEMLIMIT is set (the runtime has applied it already). It is the
// daemon's call, not Start's: the limit is the whole process's.
func ApplyMemoryLimit(cfg Config, log *slog.Logger) {
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		log.Info("memory limit from GOMEMLIMIT", "limit", v)
		return
	}
	limit, err := ParseBytes(cfg.MemoryLimit)
	if err != nil || limit == 0 {
		return // validated by LoadConfig; 0 is "off"
	}
	debug.SetMemoryLimit(limit)
	log.Info("memory limit", "limit", cfg.MemoryLimit)
}
