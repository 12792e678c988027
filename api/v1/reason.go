package apiv1

import "time"

// ReasonKind says what a reason is, which decides how it reads and what
// ends it: an SRE's hold (manual), a running deploy's exclusive hold
// (deploy), the gate's hold on a degraded cluster (auto), or on a cluster
// recovering from a deploy (cooldown: an auto hold with Hold.Recovering).
type ReasonKind string

const (
	ReasonManual, ReasonDeploy, ReasonAuto, ReasonCooldown ReasonKind = "manual", "deploy", "auto", "cooldown"
	// ReasonWindow is a deployment window: an active deny window, or a
	// scope's allow windows when none is active (Reason.Window).
	ReasonWindow ReasonKind = "window"
)

// Reason is one thing that refuses deploys to a scope, or only advises
// about them (Refuses false: an auto hold an override lifts). People read
// the text RenderRefusal makes of reasons; machines read the fields.
type Reason struct {
	Kind  ReasonKind `json:"kind"`
	Scope Scope      `json:"scope"`
	// Refuses is true when the reason alone keeps deploys out.
	Refuses bool   `json:"refuses"`
	HoldID  string `json:"hold_id,omitempty"`
	// Holder is who holds it: the SRE, the deployer, or the gate.
	Holder string `json:"holder"`
	// Reason is the holder's own words (for the gate's holds, its summary).
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
	// Until is when it ends at the latest by itself; nil when only an
	// event ends it (a release, a deploy's end, a cluster's recovery).
	Until *time.Time `json:"until,omitempty"`
	// Signals are what the gate measured: at crit on a degraded cluster,
	// or not yet below warn while it recovers.
	Signals []SignalReading `json:"signals,omitempty"`
	// Deploy is the deploy a cooldown is for.
	Deploy *DeployRef `json:"deploy,omitempty"`
	Clears Clears     `json:"clears"`
	// Override is true when an SRE override lets deploys past it.
	Override bool `json:"override"`
	// Notes are lines of text a hold carries instead of signals: a hold
	// written by a gate older than the signals, shown as they are.
	Notes []string `json:"notes,omitempty"`
	// Window is the window of a window reason; Until is when it stops
	// refusing (the deny occurrence ends, or the next allow one opens).
	Window *Window `json:"window,omitempty"`
}

// Unit is what a SignalReading's value and limit count: seconds, a ratio
// (0..1) or events per second.
type Unit string

const (
	UnitSeconds, UnitRatio, UnitPerSecond Unit = "seconds", "ratio", "per_second"
)

// UnitOf is the unit of a signal's values.
func UnitOf(s Signal) Unit {
	switch s {
	case SignalLatency:
		return UnitSeconds
	case SignalRetransmits:
		return UnitPerSecond
	}
	return UnitRatio
}

// SignalReading is one signal of one apiserver's host as the gate last
// measured it, beside the limit it is held against.
type SignalReading struct {
	Cluster   string `json:"cluster"`
	APIServer string `json:"apiserver"` // host:port, as the cluster file names it
	Signal    Signal `json:"signal"`
	// Level is crit (Limit is the crit level), warn (Limit is the warn
	// level) or error (the source failed; Value is unknown).
	Level Level   `json:"level"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Unit  Unit    `json:"unit"`
	// Error is why the source failed, or why readyz failed (then Value
	// is its latency until it failed).
	Error string `json:"error,omitempty"`
	// Since is when the signal reached its level.
	Since time.Time `json:"since"`
}

// ClearsOn names the event that ends a reason: a person releases it (or
// it expires, at Until), the deploy finishes or its lease lapses, every
// signal has been below warn for After (healthy), or for Evaluations
// evaluations in a row (below_warn, or Until has come).
type ClearsOn string

const (
	ClearsOnRelease, ClearsOnDeployEnd, ClearsOnHealthy, ClearsOnBelowWarn ClearsOn = "release", "deploy_end", "healthy", "below_warn"
)

// Clears is what ends a reason.
type Clears struct {
	On ClearsOn `json:"on"`
	// After is how long the cluster must stay healthy (on healthy).
	After Duration `json:"after,omitempty"`
	// Evaluations is how many evaluations in a row it takes, Streak how
	// many have passed (on healthy and below_warn).
	Evaluations int `json:"evaluations,omitempty"`
	Streak      int `json:"streak,omitempty"`
	// NotBefore is the earliest it can clear (an auto hold's min_hold).
	NotBefore *time.Time `json:"not_before,omitempty"`
	// AtLatest is when the gate ends it whatever the signals say (a
	// cooldown's cooldown_max); a Reason shows it as Until.
	AtLatest *time.Time `json:"at_latest,omitempty"`
	// Text says what ends it in words, without On: a hold from a gate
	// older than these fields said it only so.
	Text string `json:"text,omitempty"`
}
