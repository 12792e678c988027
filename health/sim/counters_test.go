package sim

import (
	"math"
	"testing"
	"time"
)

// scriptedMean averages host's values over the whole seconds of [from, to),
// the same sampling Counters integrates with.
func scriptedMean(s *Scenario, host string, from, to time.Duration) Values {
	var sum Values
	var cpu, retrans, nic float64
	n := 0
	for t := from; t < to; t += time.Second {
		v := s.At(host, t)
		cpu += v.CPU
		retrans += v.Retransmits
		nic += v.NICBytesPerSec
		n++
	}
	sum.CPU, sum.Retransmits, sum.NICBytesPerSec = cpu/float64(n), retrans/float64(n), nic/float64(n)
	return sum
}

func relClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(math.Abs(want), 1e-9)
}

func TestCountersRatesMatchScript(t *testing.T) {
	s := mustLoad(t, "incident-2024-05-28")
	tests := []struct {
		name        string
		host        string
		from, to    time.Duration
		compression float64
	}{
		{"NIC saturation, live compression", "kubemaster1002", 150 * time.Minute, 151 * time.Minute, 60},
		{"NIC saturation, scenario time", "kubemaster1002", 150 * time.Minute, 150*time.Minute + 15*time.Second, 1},
		{"across a deploy burst", "kubemaster1001", 12 * time.Minute, 13 * time.Minute, 60},
		{"early, fractional seconds", "kubemaster1001", 90*time.Second + 500*time.Millisecond, 4*time.Minute + 500*time.Millisecond, 10},
		{"last minute", "kubemaster1002", 4*time.Hour + 59*time.Minute, 5 * time.Hour, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c1 := s.Counters(tc.host, tc.from, tc.compression)
			c2 := s.Counters(tc.host, tc.to, tc.compression)
			realSeconds := (tc.to - tc.from).Seconds() / tc.compression
			rate := func(a, b float64) float64 { return (b - a) / realSeconds }
			busy := func(c Counters) float64 { return c.CPUUserSeconds + c.CPUSystemSeconds + c.CPUSoftirqSeconds }
			total := func(c Counters) float64 { return busy(c) + c.CPUIdleSeconds }

			want := scriptedMean(s, tc.host, tc.from.Truncate(time.Second), tc.to.Truncate(time.Second))
			tol := 1e-6
			if tc.from%time.Second != 0 { // half seconds at both ends
				tol = 0.02
			}
			if got := rate(c1.RetransSegs, c2.RetransSegs); !relClose(got, want.Retransmits, tol) {
				t.Errorf("retransmit rate %v, want %v", got, want.Retransmits)
			}
			if got := rate(c1.TransmitBytes, c2.TransmitBytes); !relClose(got, want.NICBytesPerSec, tol) {
				t.Errorf("egress rate %v, want %v", got, want.NICBytesPerSec)
			}
			if got := (busy(c2) - busy(c1)) / (total(c2) - total(c1)); !relClose(got, want.CPU, tol) {
				t.Errorf("cpu utilisation %v, want %v", got, want.CPU)
			}
			cores := float64(s.Cores(tc.host))
			if got := rate(total(c1), total(c2)); !relClose(got, cores, 1e-9) {
				t.Errorf("cpu seconds per real second %v, want the core count %v", got, cores)
			}
		})
	}
}

func TestCountersMonotonic(t *testing.T) {
	s := mustLoad(t, "flapping")
	prev := Counters{}
	for ti := time.Duration(0); ti <= s.Duration()+10*time.Minute; ti += 17*time.Second + 300*time.Millisecond {
		c := s.Counters("kubemaster1002", ti, 60)
		if c.CPUIdleSeconds < prev.CPUIdleSeconds || c.CPUUserSeconds < prev.CPUUserSeconds ||
			c.RetransSegs < prev.RetransSegs || c.TransmitBytes < prev.TransmitBytes || c.LoopbackBytes < prev.LoopbackBytes {
			t.Fatalf("counters went down at %v: %+v after %+v", ti, c, prev)
		}
		prev = c
	}
}

func TestCountersPastEndKeepFinalRate(t *testing.T) {
	s := mustLoad(t, "healthy")
	end := s.Duration()
	a := s.Counters("kubemaster2001", end+time.Hour, 1)
	b := s.Counters("kubemaster2001", end+time.Hour+100*time.Second, 1)
	want := s.At("kubemaster2001", end).Retransmits
	if got := (b.RetransSegs - a.RetransSegs) / 100; !relClose(got, want, 1e-9) {
		t.Errorf("retransmit rate past the end %v, want the final %v", got, want)
	}
}
