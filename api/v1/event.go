package apiv1

import "time"

// Action is what happened to a hold.
type Action string

const (
	ActionCreated  Action = "created"
	ActionAmended  Action = "amended"
	ActionReleased Action = "released"
	ActionExpired  Action = "expired"
	// ActionRefreshed is the gate updating an auto hold's reason with current values.
	ActionRefreshed Action = "refreshed"
	// ActionWouldTrip and ActionWouldClear are the gate in observe mode.
	ActionWouldTrip  Action = "would_trip"
	ActionWouldClear Action = "would_clear"
	// ActionDeployImpact is the gate recording what a deploy did to a
	// cluster's control plane (Event.Impact), once its cooldown is over.
	ActionDeployImpact Action = "deploy_impact"
	// ActionSynced is a scap sync the bridge saw on its deploy host: a
	// shared lock on scap's lock file that came and went (Event.DurationS,
	// Event.Host, Event.Pid).
	ActionSynced Action = "synced"
)

// Event is one entry of the history.
type Event struct {
	ID     string    `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action Action    `json:"action"`
	Scope  Scope     `json:"scope"`
	Kind   Kind      `json:"kind"`
	Reason string    `json:"reason"`
	// Hold is the hold as it was after the change (before it, for releases).
	Hold *Hold `json:"hold,omitempty"`
	// Revision is the etcd revision of the change.
	Revision int64 `json:"revision"`
	// Impact is set on deploy_impact events.
	Impact *DeployImpact `json:"impact,omitempty"`
	// Window is set on events of kind window: the window as it was
	// after the change (before it, for deletions).
	Window *Window `json:"window,omitempty"`
	// Outcome, exit_code and duration_s are set on a deploy's release by
	// scaplock run; duration_s on synced events too.
	DeployOutcome
	// Peaks are, on a deploy's release, the worst level each cluster it
	// touched reached while it ran, from the samples the replica had.
	Peaks map[string]Level `json:"peaks,omitempty"`
	// Host and Pid are where a synced event's sync ran, as far as the
	// system told the bridge (Pid 0: unknown).
	Host string `json:"host,omitempty"`
	Pid  int    `json:"pid,omitempty"`
	// Bridge is set on bridge_unlocked and bridge_guarded events.
	Bridge *Bridge `json:"bridge,omitempty"`
}

// HistoryPage is one page of events, newest first.
type HistoryPage struct {
	Events []Event `json:"events"`
	// Next is the cursor of the following page; empty on the last page. A
	// page can hold fewer events than asked and still have a Next: a filter
	// without an index examines a bounded number of events per request.
	Next     string `json:"next,omitempty"`
	Revision int64  `json:"revision"`
}

// MaxHistoryLimit is the largest history page.
const MaxHistoryLimit = 1000
