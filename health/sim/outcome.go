package sim

import (
	"slices"
	"time"
)

// Deploy durations as the 2024-05-28 incident report quotes them: a full
// scap sync to k8s took about 3.5 minutes on a calm control plane and
// about 7 while every deploy saturated the apiservers' CPU.
const (
	CalmSync      = 210 * time.Second
	SaturatedSync = 420 * time.Second
)

// The CPU range over which a sync slows from CalmSync to SaturatedSync:
// below the default CPU warn level it runs at its calm pace.
const (
	cpuCalm      = 0.80
	cpuSaturated = 0.99
)

// deployWindow is the start of a deploy whose apiserver CPU sets its pace:
// the burst a deploy causes comes within it.
const deployWindow = time.Minute

// DeployOutcome is the ground truth for a deploy started at t: it fails
// where a harmful degraded interval meets its first minute, its own burst
// included (helmfile would have timed out), and it takes CalmSync to
// SaturatedSync, in proportion to the busiest host's peak CPU in that
// minute.
func (s *Scenario) DeployOutcome(t time.Duration) (failed bool, took time.Duration) {
	failed = slices.ContainsFunc(s.Degraded(), func(iv Interval) bool {
		return iv.Harmful && iv.From < t+deployWindow && t < iv.To
	})
	peak := 0.0
	for i := range s.hosts {
		for off := time.Duration(0); off < deployWindow; off += time.Second {
			v, _ := s.values(i, t+off, false, true)
			peak = max(peak, v.CPU)
		}
	}
	f := min(max((peak-cpuCalm)/(cpuSaturated-cpuCalm), 0), 1)
	took = CalmSync + time.Duration(f*float64(SaturatedSync-CalmSync))
	return failed, took.Round(time.Second)
}
