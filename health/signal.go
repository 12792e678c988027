package health

import apiv1 "github.com/scaplock/scaplock/api/v1"

// Signal, Level and Status are the wire contract's (package apiv1).
type (
	Signal = apiv1.Signal
	Level  = apiv1.Level
	Status = apiv1.Status
)

const (
	SignalLatency     = apiv1.SignalLatency
	SignalCPU         = apiv1.SignalCPU
	SignalRetransmits = apiv1.SignalRetransmits
	SignalNIC         = apiv1.SignalNIC

	LevelOK    = apiv1.LevelOK
	LevelWarn  = apiv1.LevelWarn
	LevelCrit  = apiv1.LevelCrit
	LevelError = apiv1.LevelError

	StatusOK       = apiv1.StatusOK
	StatusDegraded = apiv1.StatusDegraded
	StatusUnknown  = apiv1.StatusUnknown
)

// Signals lists every signal in display order.
var Signals = []Signal{SignalLatency, SignalCPU, SignalRetransmits, SignalNIC}
