package apiv1

import "time"

// Signal names one measured aspect of a control-plane host.
type Signal string

const (
	// SignalLatency is the apiserver's readyz latency in seconds. A failed
	// readyz (error, timeout, non-2xx) is a breach, not a source error.
	SignalLatency Signal = "latency"
	// SignalCPU is the host's CPU utilisation, 0..1.
	SignalCPU Signal = "cpu"
	// SignalRetransmits is the host's TCP retransmitted segments per second.
	SignalRetransmits Signal = "retransmits"
	// SignalNIC is the busiest non-loopback NIC's egress over its link speed, 0..1.
	SignalNIC Signal = "nic"
)

// Level is how one signal of one host compares with its thresholds.
type Level string

const (
	LevelOK    Level = "ok"
	LevelWarn  Level = "warn"
	LevelCrit  Level = "crit"
	LevelError Level = "error" // the source failed; the value is unknown
)

// Status is the verdict on a whole cluster.
type Status string

const (
	StatusOK       Status = "ok"
	StatusDegraded Status = "degraded"
	StatusUnknown  Status = "unknown" // no evaluation with usable data yet
)

// Point is one sampled value.
type Point struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value"`
}

// SignalHealth is one signal of one host after an evaluation.
type SignalHealth struct {
	Value float64   `json:"value"`
	Level Level     `json:"level"`
	Err   string    `json:"error,omitempty"`
	Warn  float64   `json:"warn"`
	Crit  float64   `json:"crit"`
	At    time.Time `json:"at"`    // when it was last sampled
	Since time.Time `json:"since"` // when the current Level began
	// Peak is the largest value among the recent samples the evaluator
	// keeps, so a burst shorter than a dashboard's resolution still shows.
	Peak float64 `json:"peak"`
	// Recent are the last samples, oldest first; present only where a
	// report is asked for with its samples (the leader keeps them in memory).
	Recent []Point `json:"recent,omitempty"`
}

// HostHealth is one control-plane host: its apiserver and its machine.
type HostHealth struct {
	Host    string                  `json:"host"` // the apiserver's host:port
	Signals map[Signal]SignalHealth `json:"signals"`
}

// ClusterHealth is a cluster's health report after an evaluation: what the
// gate leader publishes and every replica serves.
type ClusterHealth struct {
	Cluster   string    `json:"cluster"`
	Status    Status    `json:"status"`
	Since     time.Time `json:"since"`               // when Status last changed
	TrippedAt time.Time `json:"tripped_at,omitzero"` // when the current degraded period began
	// Streaks of consecutive evaluations: at crit, clear (every host below
	// warn), with a source error.
	CritStreak  int          `json:"crit_streak"`
	ClearStreak int          `json:"clear_streak"`
	ErrorStreak int          `json:"error_streak"`
	Hosts       []HostHealth `json:"hosts"`
	Reason      string       `json:"reason"` // one line for people
	UpdatedAt   time.Time    `json:"updated_at"`
}

// Level is the worst level among the host's signals, ok when it has none.
func (h HostHealth) Level() Level {
	worst := LevelOK
	for _, s := range h.Signals {
		if levelRank[s.Level] > levelRank[worst] {
			worst = s.Level
		}
	}
	return worst
}

var levelRank = map[Level]int{LevelOK: 0, LevelWarn: 1, LevelError: 2, LevelCrit: 3}

// MaxRecentSamples is how many samples per host and signal the service
// keeps, so that short bursts show as a peak even when the value has fallen
// again (ten minutes at the default 5 s interval).
const MaxRecentSamples = 120

// Samples are the values one evaluation of a cluster measured: the gate
// leader publishes them every interval, much smaller than a report, and the
// event stream sends them as "samples" messages. A signal whose source
// failed is absent; a failed readyz is present with its latency until failure.
//
// A report is republished only when a level or the status changes (and at
// the gate's heartbeat); in between, readers show its values and its
// reason from the samples that followed it.
type Samples struct {
	Cluster string        `json:"cluster,omitempty"` // left out in etcd, where the key names it
	At      time.Time     `json:"at"`
	Hosts   []HostSamples `json:"hosts"`
	// Reason is the cluster's one line when it reads otherwise than the
	// last one published (report or samples), empty when it does not: a
	// degraded cluster's reason quotes values, which move every interval.
	Reason string `json:"reason,omitempty"`
}

// HostSamples are one host's values of one evaluation.
type HostSamples struct {
	Host   string             `json:"host"`
	Values map[Signal]float64 `json:"values"`
}

// SamplesResponse is GET /api/v1/samples: the recent values per cluster,
// host and signal, oldest first, for sparklines.
type SamplesResponse struct {
	Revision int64                                    `json:"revision"`
	Clusters map[string]map[string]map[Signal][]Point `json:"clusters"`
}
