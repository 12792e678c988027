package health

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

// Signals lists every signal in display order.
var Signals = []Signal{SignalLatency, SignalCPU, SignalRetransmits, SignalNIC}

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
