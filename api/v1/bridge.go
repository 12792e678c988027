package apiv1

import "time"

// The history's actions of a scap bridge (PUT /api/v1/bridges/{host}).
const (
	// ActionBridgeUnlocked: a person broke the bridge's hold on scap's
	// lock (scap lock --unlock-all); the host deploys unguarded.
	ActionBridgeUnlocked Action = "bridge_unlocked"
	// ActionBridgeGuarded: the bridge guards scap's lock again.
	ActionBridgeGuarded Action = "bridge_guarded"
)

// BridgeBody is the body of PUT /api/v1/bridges/{host}: whether the scap
// bridge on host guards scap's lock. Guarded false says that a person
// released it with scap lock --unlock-all; Guarded true that the bridge
// guards it again (or has started). Repeating a report changes nothing.
type BridgeBody struct {
	Guarded bool `json:"guarded"`
	// Scopes are the bridge's scopes.
	Scopes []Scope `json:"scopes"`
	// Since is when the bridge's lock was broken (Guarded false); a retry
	// of the same report carries the same Since.
	Since time.Time `json:"since,omitzero"`
	// Releaser and Reason are what scap lock --unlock-all wrote in its
	// signal file; User and UID are that file's owner, as the system
	// tells. On a guarded report Reason says how the bridge guards again.
	Releaser string `json:"releaser,omitempty"`
	User     string `json:"user,omitempty"`
	UID      *int   `json:"uid,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Bridge is a deploy host whose scap bridge a person released: it deploys
// unguarded until the bridge guards scap's lock again. It is the bridge's
// report (guarded false), with the host and the identity of the bridge's
// token.
type Bridge struct {
	Host       string `json:"host"`
	ReportedBy string `json:"reported_by"`
	BridgeBody
}
