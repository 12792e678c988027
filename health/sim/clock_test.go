package sim

import (
	"testing"
	"time"
)

func TestOffset(t *testing.T) {
	s := mustLoad(t, "healthy") // 1h at compression 60
	started := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		real time.Duration
		loop bool
		want time.Duration
	}{
		{"before start", -time.Second, false, 0},
		{"at start", 0, false, 0},
		{"one real second", time.Second, false, time.Minute},
		{"half a real minute", 30 * time.Second, true, 30 * time.Minute},
		{"past the end without loop", 90 * time.Second, false, 90 * time.Minute},
		{"past the end with loop", 90 * time.Second, true, 30 * time.Minute},
		{"exactly one lap with loop", time.Minute, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Offset(started, started.Add(tc.real), tc.loop); got != tc.want {
				t.Errorf("Offset = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLiveClockAdvances(t *testing.T) {
	s := mustLoad(t, "healthy")
	c := LiveClock(s, time.Now().Add(-10*time.Second), false)
	if got := c(); got < 10*time.Minute || got > 11*time.Minute {
		t.Errorf("10 real seconds in at compression 60: offset %v, want about 10m", got)
	}
}

func TestManualClock(t *testing.T) {
	var c ManualClock
	if c.Now() != 0 {
		t.Fatalf("zero ManualClock reads %v", c.Now())
	}
	c.Set(5 * time.Minute)
	if got := c.Advance(30 * time.Second); got != 5*time.Minute+30*time.Second || c.Now() != got {
		t.Errorf("Advance = %v, Now = %v; want 5m30s", got, c.Now())
	}
}
