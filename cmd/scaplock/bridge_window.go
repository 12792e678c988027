package main

import (
	"math"
	"time"
)

// windowRetry spaces the asks when the service's answer names a window
// change this host's clock has already passed: the service's clock is
// behind, and asks again soon, not in a busy loop.
const windowRetry = 20 * time.Millisecond

// windowTimer makes the bridge ask the service the moment a deployment
// window starts or ends (the preflight answer's window_change): time, not
// a write, changes the verdict then, and no event announces it. Only the
// ask goroutine uses it.
type windowTimer struct {
	timer *time.Timer
}

func newWindowTimer() *windowTimer {
	return &windowTimer{timer: time.NewTimer(time.Duration(math.MaxInt64))}
}

// C fires at the change last aimed at.
func (w *windowTimer) C() <-chan time.Time { return w.timer.C }

// aim sets the timer to change, as of now on this host's clock; nil (no
// window ahead) stops it.
func (w *windowTimer) aim(change *time.Time, now time.Time) {
	if change == nil {
		w.timer.Stop()
		return
	}
	w.timer.Reset(max(change.Sub(now), windowRetry))
}

func (w *windowTimer) stop() { w.timer.Stop() }
