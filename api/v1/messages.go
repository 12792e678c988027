package apiv1

import "time"

// Roles a token may carry.
const (
	RoleDeployer = "deployer"
	RoleSRE      = "sre"
	RoleAdmin    = "admin"
)

// HoldBody is the body of POST /api/v1/holds and POST /api/v1/overrides.
type HoldBody struct {
	Scope  string `json:"scope"`
	Reason string `json:"reason"`
	// Duration in Go syntax ("2h"); empty means until released (holds only).
	Duration string `json:"duration,omitempty"`
}

// AmendBody is the body of PATCH /api/v1/holds/{id}.
type AmendBody struct {
	Reason   *string `json:"reason,omitempty"`
	Duration string  `json:"duration,omitempty"`
}

// ReleaseBody is the body of DELETE /api/v1/holds/{id} and friends.
type ReleaseBody struct {
	Reason string `json:"reason"`
	// The outcome fields are for a deploy's release only (DELETE
	// /api/v1/deploys/{id}); outcome, exit_code and duration_s go together.
	Outcome   Outcome  `json:"outcome,omitempty"`
	ExitCode  *int     `json:"exit_code,omitempty"`
	DurationS *float64 `json:"duration_s,omitempty"`
}

// DeployOutcome is the body's outcome fields.
func (b ReleaseBody) DeployOutcome() DeployOutcome {
	return DeployOutcome{Outcome: b.Outcome, ExitCode: b.ExitCode, DurationS: b.DurationS}
}

// DeployBody is the body of POST /api/v1/deploys.
type DeployBody struct {
	Scope  string `json:"scope"`
	Reason string `json:"reason"`
	// TTL is the lease time-to-live, 30s by default.
	TTL string `json:"ttl,omitempty"`
	// Wait queues the request up to this long for the scope to be free.
	Wait string `json:"wait,omitempty"`
}

// ErrorBody is the one error shape of the API.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
	// Holds are the holds behind a refusal (423) or conflict (409), and
	// Reasons what they say (Message is rendered from them).
	Holds   []Hold   `json:"holds,omitempty"`
	Reasons []Reason `json:"reasons,omitempty"`
	// Windows are the deployment windows behind a refusal (423).
	Windows []WindowRefusal `json:"windows,omitempty"`
}

// ErrorDetail names what went wrong; Field is set for bad input.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// IdempotencyKey is the key of a write whose outcome is unknown
	// (code "outcome_unknown"): retry with it to get the original outcome.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// ScopeVerdict is one scope's answer on the status page.
type ScopeVerdict struct {
	Scope   Scope  `json:"scope"`
	Allowed bool   `json:"allowed"`
	Summary string `json:"summary"`
	// Reasons are what refuses or advises; Message is the refusal as
	// people read it (RenderRefusal), empty when allowed.
	Reasons []Reason `json:"reasons"`
	Message string   `json:"message,omitempty"`
	// Advice is set when deploys are allowed into a cluster at warn.
	Advice *Advice `json:"advice,omitempty"`
}

// GateStatus is the gate's mode and which replica leads it.
type GateStatus struct {
	Mode   string `json:"mode"`
	Leader string `json:"leader"`
}

// StatusResponse is GET /api/v1/status.
type StatusResponse struct {
	Time      time.Time                `json:"time"`
	Revision  int64                    `json:"revision"`
	Verdicts  []ScopeVerdict           `json:"verdicts"`
	Holds     []Hold                   `json:"holds"`
	Overrides []Hold                   `json:"overrides"`
	Health    map[string]ClusterHealth `json:"health"`
	Gate      GateStatus               `json:"gate"`
	Store     StoreInfo                `json:"store"`
	// Unguarded are the deploy hosts whose scap bridge a person released
	// (scap lock --unlock-all), until it guards scap's lock again.
	Unguarded []Bridge `json:"unguarded"`
}

// StoreInfo says how the lock store is made: Topology "embedded-single" is
// one etcd node inside the replica (no redundancy, not shared),
// "embedded-cluster" a member of the replicas' own etcd cluster, "external"
// an etcd cluster of its own. Members is etcd's member count; MembersUp
// how many answered the last check (every 2 s), MemberStates each one,
// and Replicas the scaplockd replicas sharing the store, alive or dead.
type StoreInfo struct {
	Topology     string         `json:"topology"`
	Members      int            `json:"members"`
	MembersUp    int            `json:"members_up"`
	MemberStates []MemberState  `json:"member_states,omitempty"`
	Replicas     []ReplicaState `json:"replicas,omitempty"`
}

// MemberState is one etcd member as a replica last saw it.
type MemberState struct {
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"`
	OK       bool   `json:"ok"`
	Leader   bool   `json:"leader,omitempty"`
	Error    string `json:"error,omitempty"`
}

// ReplicaState is one scaplockd replica sharing the store: alive while
// its registration's etcd lease is kept, dead once etcd expired it (a
// crash, a kill, a partition), stopped after a clean stop. Since is when
// it last changed; no answer depends on it.
type ReplicaState struct {
	Name  string    `json:"name"`
	URL   string    `json:"url,omitempty"`
	State string    `json:"state"` // alive, dead, stopped
	Since time.Time `json:"since"`
}

// PreflightResponse is GET /api/v1/preflight: 200 when allowed, 423 when
// refused with Message, the refusal as people read it, rendered from
// Reasons (RenderRefusal).
type PreflightResponse struct {
	Allowed bool     `json:"allowed"`
	Scopes  []Scope  `json:"scopes"`
	Reasons []Reason `json:"reasons"`
	Message string   `json:"message,omitempty"`
	// StatusURL is the service's status page, as Message names it.
	StatusURL  string                   `json:"status_url,omitempty"`
	Holds      []Hold                   `json:"holds"`
	Overridden []Hold                   `json:"overridden,omitempty"`
	Overrides  []Hold                   `json:"overrides,omitempty"`
	Health     map[string]ClusterHealth `json:"health,omitempty"`
	Revision   int64                    `json:"revision"`
	// Advice is set when deploys are allowed but a cluster they touch is
	// at warn: deploy more gently.
	Advice *Advice `json:"advice,omitempty"`
	// Windows are the deployment windows that refuse; OverriddenWindows
	// would, but for an override.
	Windows           []WindowRefusal `json:"windows,omitempty"`
	OverriddenWindows []WindowRefusal `json:"overridden_windows,omitempty"`
	// WindowNotice says, on an allowed answer, that a window starts or
	// ends within the hour: "deny window 'train' starts in 12m".
	WindowNotice string `json:"window_notice,omitempty"`
	// WindowChange is the next instant a window bearing on Scopes starts
	// or ends: the answer may change then with no write (the scap bridge
	// sets a timer to it).
	WindowChange *time.Time `json:"window_change,omitempty"`
	// LastConfirmed is set on a refusal etcd could not confirm (its
	// quorum is gone): the replica's last confirmed state refuses, and
	// this is when etcd last confirmed it. Such a refusal is never opened
	// by --fail-open; when that state would allow, the answer is a 503.
	LastConfirmed *time.Time `json:"last_confirmed,omitempty"`
}

// ConcurrencyKey is scap's setting for how many helmfile releases a
// deploy applies at once per cluster; scap's default is
// DefaultConcurrency.
const (
	ConcurrencyKey     = "k8s_max_concurrent_deployments_per_cluster"
	DefaultConcurrency = 20
)

// Advice is a suggested scap setting for a deploy into a cluster at warn.
type Advice struct {
	Key   string `json:"key"`
	Value int    `json:"value"`
	// Define is the value as scap takes it on its command line, e.g.
	// "-D k8s_max_concurrent_deployments_per_cluster:10".
	Define string `json:"define"`
	// Reason names the cluster and the signal closest to crit.
	Reason string `json:"reason"`
}
