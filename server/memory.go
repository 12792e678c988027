package server

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/scaplock/scaplock/lock/tick"
)

// memoryReturner gives heap freed after a burst back to the OS. Go keeps
// freed heap for reuse, in the RSS, until a collection that need not come
// while the service idles; the embedded etcd frees much of its memory at
// each compaction. Every interval it returns the idle heap (one full
// collection) when either
//   - more than slack bytes, and more than a quarter of the heap in use,
//     are idle and not yet returned; or
//   - no collection has run since the last check: the service has gone
//     quiet, and the garbage of its last burst still counts as in use
//     until a collection finds it. Once per quiet spell.
type memoryReturner struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

func startMemoryReturner(interval time.Duration, slack uint64) *memoryReturner {
	m := &memoryReturner{stop: make(chan struct{})}
	var seenGC, ownGC uint32 // NumGC at the last check, and after our last return
	check := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		quiet := ms.NumGC == seenGC && ms.NumGC != ownGC
		if idle := ms.HeapIdle - ms.HeapReleased; quiet || (idle > slack && idle > ms.HeapInuse/4) {
			debug.FreeOSMemory()
			runtime.ReadMemStats(&ms)
			ownGC = ms.NumGC
		}
		seenGC = ms.NumGC
	}
	m.wg.Go(func() {
		// At once first: start-up (etcd rebuilding its index from the
		// whole database) leaves more garbage than anything after it.
		check()
		tick.Until(m.stop, interval, check)
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
