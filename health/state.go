package health

import (
	"math"
	"time"
)

// RecentSamples is how many samples per host and signal a State keeps, so
// that short bursts show as a peak even when the value has fallen again.
const RecentSamples = 120

// Point is one sampled value.
type Point struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value"`
}

// SignalState is one signal of one host after an evaluation.
type SignalState struct {
	Value float64   `json:"value"`
	Level Level     `json:"level"`
	Err   string    `json:"error,omitempty"`
	Warn  float64   `json:"warn"`
	Crit  float64   `json:"crit"`
	At    time.Time `json:"at"`    // when it was last sampled
	Since time.Time `json:"since"` // when the current Level began
	// Recent are the last RecentSamples values, oldest first. Failed readyz
	// probes are in it (their latency until failure); source errors are not.
	Recent []Point `json:"recent,omitempty"`
}

// HostState is one control-plane host: its apiserver and its machine.
type HostState struct {
	Host    string                 `json:"host"` // the apiserver's host:port
	Signals map[Signal]SignalState `json:"signals"`
}

// Level is the worst level among the host's signals, ok when it has none.
func (h HostState) Level() Level {
	worst := LevelOK
	for _, s := range h.Signals {
		if levelRank[s.Level] > levelRank[worst] {
			worst = s.Level
		}
	}
	return worst
}

var levelRank = map[Level]int{LevelOK: 0, LevelWarn: 1, LevelError: 2, LevelCrit: 3}

// State is a cluster's health after an evaluation. The zero State is the
// state before any evaluation; Evaluate turns it into StatusUnknown.
type State struct {
	Cluster   string    `json:"cluster"`
	Status    Status    `json:"status"`
	Since     time.Time `json:"since"`               // when Status last changed
	TrippedAt time.Time `json:"tripped_at,omitzero"` // when the current degraded period began
	// CritStreak counts consecutive evaluations with at least
	// min_breaching_hosts hosts at crit, ClearStreak those with every host
	// below warn and no source error, ErrorStreak those with a source error.
	CritStreak  int         `json:"crit_streak"`
	ClearStreak int         `json:"clear_streak"`
	ErrorStreak int         `json:"error_streak"`
	Hosts       []HostState `json:"hosts"`
	Reason      string      `json:"reason"` // one line for people
	UpdatedAt   time.Time   `json:"updated_at"`
}

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
