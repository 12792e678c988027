package sim

import (
	"slices"
	"sync"
	"time"
)

// Scenario is a parsed and validated scenario. It is immutable and safe for
// concurrent use.
type Scenario struct {
	name        string
	description string
	start       time.Time
	duration    time.Duration
	compression float64
	seed        uint64
	hosts       []host
	hostIndex   map[string]int
	baseline    baseline
	limits      Limits
	segments    []segment
	bursts      []burst
	failures    []failure
	deploys     []time.Duration

	integralsOnce sync.Once
	integrals     []integral // per host, see counters.go
}

type host struct {
	name      string
	cores     int
	linkSpeed float64
}

type baseline struct {
	cpu, retransmits, nicBytes, loopbackBytes float64
	latency                                   float64 // seconds
	noise                                     float64
}

// anyHost marks a segment, burst or failure that applies to every host.
const anyHost = -1

type segment struct {
	host                                int
	from, to                            time.Duration
	cpu, retransmits, nicBytes, nicUtil *curve
	latency                             *curve // seconds
	linkSpeed                           *float64
}

type burst struct {
	host             int
	from, to         time.Duration
	cpu, retransmits *float64
	latency          *float64 // seconds
	why              string
}

type failure struct {
	host     int
	from, to time.Duration
	status   int
	latency  *float64 // seconds
}

// Limits are the warn and crit levels the ground truth is judged against.
// They default to the health package's defaults.
type Limits struct {
	CPU            Level
	Retransmits    Level
	NICUtilisation Level
	ReadyzLatency  LatencyLevel
	// Sustain is how long a scripted crit breach must last to count as
	// degraded in the ground truth.
	Sustain time.Duration
}

// Level is a warn and a crit threshold for a numeric signal.
type Level struct{ Warn, Crit float64 }

// LatencyLevel is a warn and a crit threshold for a latency.
type LatencyLevel struct{ Warn, Crit time.Duration }

// DefaultLimits returns the limits used when a scenario does not set them.
func DefaultLimits() Limits {
	return Limits{
		CPU:            Level{Warn: 0.80, Crit: 0.90},
		Retransmits:    Level{Warn: 500, Crit: 1000},
		NICUtilisation: Level{Warn: 0.80, Crit: 0.90},
		ReadyzLatency:  LatencyLevel{Warn: 500 * time.Millisecond, Crit: time.Second},
		Sustain:        30 * time.Second,
	}
}

// Name is the scenario's name.
func (s *Scenario) Name() string { return s.name }

// Description is the scenario's free-text description.
func (s *Scenario) Description() string { return s.description }

// Start is the wall-clock moment scenario offset 0 stands for, for display.
func (s *Scenario) Start() time.Time { return s.start }

// Duration is the scenario's length in scenario time.
func (s *Scenario) Duration() time.Duration { return s.duration }

// Compression is how many scenario seconds pass per real second when played
// live.
func (s *Scenario) Compression() float64 { return s.compression }

// Limits are the thresholds the ground truth is judged against.
func (s *Scenario) Limits() Limits { return s.limits }

// Hosts returns the host names in file order.
func (s *Scenario) Hosts() []string {
	out := make([]string, len(s.hosts))
	for i, h := range s.hosts {
		out[i] = h.name
	}
	return out
}

// Cores is the number of CPU cores of host, 0 for an unknown host.
func (s *Scenario) Cores(hostName string) int {
	i, ok := s.hostIndex[hostName]
	if !ok {
		return 0
	}
	return s.hosts[i].cores
}

// Deploys returns the moments deploys start, in order.
func (s *Scenario) Deploys() []time.Duration { return slices.Clone(s.deploys) }
