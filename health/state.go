package health

import (
	"math"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// RecentSamples is how many samples per host and signal a State keeps, so
// that short bursts show as a peak even when the value has fallen again.
const RecentSamples = apiv1.MaxRecentSamples

// The report's parts are the wire contract's (package apiv1).
type (
	Point       = apiv1.Point
	SignalState = apiv1.SignalHealth
	HostState   = apiv1.HostHealth
)

// State is a cluster's health after an evaluation: the report the gate
// publishes (apiv1.ClusterHealth), with the evaluator's methods. The zero
// State is the state before any evaluation; Evaluate turns it into
// StatusUnknown.
type State apiv1.ClusterHealth

// Host returns the state of one host and whether the cluster has it.
func (s State) Host(host string) (HostState, bool) {
	for _, h := range s.Hosts {
		if h.Host == host {
			return h, true
		}
	}
	return HostState{}, false
}

// Peak is the largest recent value of a host's signal, 0 when there is none.
func (s State) Peak(host string, sig Signal) float64 {
	h, ok := s.Host(host)
	if !ok {
		return 0
	}
	recent := h.Signals[sig].Recent
	if len(recent) == 0 {
		return 0
	}
	peak := math.Inf(-1)
	for _, p := range recent {
		peak = math.Max(peak, p.Value)
	}
	return peak
}
