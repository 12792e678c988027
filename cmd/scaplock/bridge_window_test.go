package main

import (
	"testing"
	"testing/synctest"
	"time"
)

// The bridge's window timer fires at the change the service named, not
// a poll later; a change already past on this host's clock is asked
// again after windowRetry, and no change stops it.
func TestWindowTimerFiresAtTheChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWindowTimer()
		defer w.stop()
		start := time.Now()
		change := start.Add(90 * time.Second)
		w.aim(&change, start)
		select {
		case <-w.C():
			t.Fatal("fired before anything was due")
		default:
		}
		at := <-w.C()
		if !at.Equal(change) {
			t.Fatalf("fired at +%s, want +90s", at.Sub(start))
		}

		past := time.Now().Add(-time.Second)
		w.aim(&past, time.Now())
		before := time.Now()
		if at := <-w.C(); at.Sub(before) != windowRetry {
			t.Fatalf("a change already past fired after %s, want %s", at.Sub(before), windowRetry)
		}

		w.aim(&change, time.Now())
		w.aim(nil, time.Now())
		time.Sleep(time.Hour)
		select {
		case <-w.C():
			t.Fatal("fired after it was stopped")
		default:
		}
	})
}
