package apiv1

import "time"

// Outcome is how a deploy's command ended, as `scaplock run` saw it.
type Outcome string

const (
	OutcomeSucceeded Outcome = "succeeded" // exit 0, the hold kept throughout
	OutcomeFailed    Outcome = "failed"    // non-zero exit, or the command could not start
	OutcomeSignalled Outcome = "signalled" // SIGINT or SIGTERM reached scaplock run
	// OutcomeAbandoned: the hold's keepalive was lost while the command
	// ran, so it ran partly without the lock.
	OutcomeAbandoned Outcome = "abandoned"
)

// Outcomes are the valid outcomes, in the order they are documented.
var Outcomes = []Outcome{OutcomeSucceeded, OutcomeFailed, OutcomeSignalled, OutcomeAbandoned}

// MaxDeployDuration bounds duration_s: a deploy hold lasts at most as long
// as its keepalives, and a week is far past any real deploy.
const MaxDeployDuration = 7 * 24 * 3600.0

// DeployOutcome is what a deploy's release records: on DELETE
// /api/v1/deploys/{id} in the body, and on the release's history event.
type DeployOutcome struct {
	Outcome   Outcome  `json:"outcome,omitempty"`
	ExitCode  *int     `json:"exit_code,omitempty"`
	DurationS *float64 `json:"duration_s,omitempty"`
}

// Given reports whether any outcome field is set.
func (o DeployOutcome) Given() bool {
	return o.Outcome != "" || o.ExitCode != nil || o.DurationS != nil
}

// Worse is the worse of two levels: crit, error, warn, ok.
func Worse(a, b Level) Level {
	if a == "" || levelRank[b] > levelRank[a] {
		return b
	}
	return a
}

// SyncBody is the body of POST /api/v1/syncs: one scap sync the bridge saw
// on its deploy host. ID and EndedAt name the history entry, so a retry of
// the same sync writes the same entry again instead of a second one.
type SyncBody struct {
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	Pid       int       `json:"pid,omitempty"`
	User      string    `json:"user,omitempty"`
	Command   string    `json:"command,omitempty"`
	EndedAt   time.Time `json:"ended_at"`
	DurationS float64   `json:"duration_s"`
}
