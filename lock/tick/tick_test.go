package tick

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestUntil(t *testing.T) {
	tests := []struct {
		name string
		run  time.Duration // how long before stop closes
		want int64
	}{
		{"stopped before the first interval", 999 * time.Millisecond, 0},
		{"one call an interval", 3500 * time.Millisecond, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				stop := make(chan struct{})
				var calls atomic.Int64
				done := make(chan struct{})
				go func() {
					defer close(done)
					Until(stop, time.Second, func() { calls.Add(1) })
				}()
				time.Sleep(tt.run)
				close(stop)
				<-done // Until returns once stop is closed
				if got := calls.Load(); got != tt.want {
					t.Fatalf("after %s: %d calls, want %d", tt.run, got, tt.want)
				}
			})
		})
	}
}
