package sim

import (
	"sync/atomic"
	"time"
)

// Clock returns the current scenario offset. A control plane reads it on every
// request.
type Clock func() time.Duration

// LiveClock plays s in real time from started, compressed by s.Compression().
// With loop, the offset wraps to 0 at the end of the scenario; without, it
// keeps growing and the scenario holds its final values.
func LiveClock(s *Scenario, started time.Time, loop bool) Clock {
	return func() time.Duration { return s.Offset(started, time.Now(), loop) }
}

// Offset is the scenario offset at real time now for a play that began at
// started; LiveClock is Offset with time.Now. Before started it is 0.
func (s *Scenario) Offset(started, now time.Time, loop bool) time.Duration {
	elapsed := now.Sub(started)
	if elapsed <= 0 {
		return 0
	}
	t := time.Duration(float64(elapsed) * s.compression)
	if t < 0 { // overflow after centuries of play
		t = 0
	}
	if loop {
		t %= s.duration
	}
	return t
}

// ManualClock is a Clock that moves only when told, for fast replays and
// tests. The zero value reads 0 and is ready to use; pass its Now method as
// the Clock.
type ManualClock struct{ t atomic.Int64 }

// Set moves the clock to scenario offset t.
func (c *ManualClock) Set(t time.Duration) { c.t.Store(int64(t)) }

// Advance moves the clock forward by d and returns the new offset.
func (c *ManualClock) Advance(d time.Duration) time.Duration {
	return time.Duration(c.t.Add(int64(d)))
}

// Now returns the current offset.
func (c *ManualClock) Now() time.Duration { return time.Duration(c.t.Load()) }
