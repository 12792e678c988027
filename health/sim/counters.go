package sim

import (
	"math"
	"time"
)

// Counters are one host's node_exporter counters at a moment of scenario
// time. CPU seconds are summed over all cores; the node_exporter handler
// spreads them evenly across the cores.
type Counters struct {
	CPUIdleSeconds    float64
	CPUUserSeconds    float64
	CPUSystemSeconds  float64
	CPUSoftirqSeconds float64
	RetransSegs       float64 // node_netstat_Tcp_RetransSegs
	TransmitBytes     float64 // eth0
	LoopbackBytes     float64 // lo
}

// How busy CPU time splits across modes. iowait, nice, irq and steal stay 0 so
// that "not idle" and "not idle nor iowait" give the same utilisation.
const (
	userShare    = 0.65
	systemShare  = 0.25
	softirqShare = 0.10
)

// integrationStep is the fixed step rates are integrated with: the value at
// the start of each step holds for the whole step.
const integrationStep = time.Second

// integral holds prefix sums of one host's rates at each whole step.
type integral struct {
	busy, retrans, nic, loopback []float64 // busy is in core-seconds
}

// Counters returns host's counters at scenario offset t for a player running
// at compression (scenario seconds per real second): each counter is the
// integral of its scripted rate from 0 to t divided by compression, so a
// prober that divides deltas by real elapsed time sees the scripted rate.
// Pass 1 when the prober measures scenario time. It is pure and, after the
// first call on a scenario, costs O(1). Past the end of the scenario the final
// rates keep accumulating. An unknown host or compression <= 0 gives zero
// Counters.
func (s *Scenario) Counters(hostName string, t time.Duration, compression float64) Counters {
	i, ok := s.hostIndex[hostName]
	if !ok || compression <= 0 || t <= 0 {
		return Counters{}
	}
	s.integralsOnce.Do(s.integrate)
	in := s.integrals[i]
	steps := len(in.busy) - 1
	k := int(t / integrationStep)
	frac := float64(t-time.Duration(k)*integrationStep) / float64(integrationStep)
	if k >= steps { // past the end: extend the final step's rate
		frac += float64(k - steps)
		k = steps - 1
		frac++
	}
	at := func(sum []float64) float64 {
		return (sum[k] + (sum[k+1]-sum[k])*frac) / compression
	}
	busy := at(in.busy)
	total := float64(s.hosts[i].cores) * t.Seconds() / compression
	return Counters{
		CPUIdleSeconds:    math.Max(total-busy, 0),
		CPUUserSeconds:    busy * userShare,
		CPUSystemSeconds:  busy * systemShare,
		CPUSoftirqSeconds: busy * softirqShare,
		RetransSegs:       at(in.retrans),
		TransmitBytes:     at(in.nic),
		LoopbackBytes:     at(in.loopback),
	}
}

// integrate fills s.integrals once, one step at a time over the scenario.
func (s *Scenario) integrate() {
	steps := int((s.duration + integrationStep - 1) / integrationStep)
	step := integrationStep.Seconds()
	s.integrals = make([]integral, len(s.hosts))
	for i, h := range s.hosts {
		in := integral{
			busy:     make([]float64, steps+1),
			retrans:  make([]float64, steps+1),
			nic:      make([]float64, steps+1),
			loopback: make([]float64, steps+1),
		}
		for k := range steps {
			v, lo := s.values(i, time.Duration(k)*integrationStep, true, true)
			in.busy[k+1] = in.busy[k] + v.CPU*float64(h.cores)*step
			in.retrans[k+1] = in.retrans[k] + v.Retransmits*step
			in.nic[k+1] = in.nic[k] + v.NICBytesPerSec*step
			in.loopback[k+1] = in.loopback[k] + lo*step
		}
		s.integrals[i] = in
	}
}
