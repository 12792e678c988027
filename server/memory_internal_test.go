package server

import (
	"runtime"
	"testing"
	"time"
)

var sink [][]byte

// When the service goes quiet after a burst, the burst's garbage is
// collected and the heap it held returned to the OS, even though no
// collection would come by itself and nothing counts as idle yet.
func TestMemoryReturnerReturnsAfterAQuietSpell(t *testing.T) {
	for range 64 {
		sink = append(sink, make([]byte, 1<<20))
	}
	sink = nil // 64 MiB of garbage that no collection has found yet
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	m := startMemoryReturner(50*time.Millisecond, 1<<40) // only the quiet rule can fire
	defer m.close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.NumGC > before.NumGC && ms.HeapReleased >= before.HeapReleased+32<<20 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d collections (was %d), %d MiB released (was %d)", ms.NumGC, before.NumGC, ms.HeapReleased>>20, before.HeapReleased>>20)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
