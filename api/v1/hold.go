package apiv1

import (
	"encoding/json"
	"regexp"
	"time"
)

// Scope is what a hold covers: "global" or a cluster name.
type Scope string

// ScopeSyntax is what a scope may be called: lower-case letters, digits
// and dashes, starting with a letter or digit, at most 63 characters.
const ScopeSyntax = `[a-z0-9][a-z0-9-]{0,62}`

var scopeRE = regexp.MustCompile(`^` + ScopeSyntax + `$`)

// ValidScopeName reports whether s is spelled as a scope may be. Whether
// the service knows the scope is the service's to say.
func ValidScopeName(s string) bool { return scopeRE.MatchString(s) }

// Global covers every scope.
const Global Scope = "global"

// Covers reports whether a hold on s stops deploys to target: a global
// hold stops every deploy, and a deploy to global (scap sync-world) touches
// every cluster, so any hold stops it.
func (s Scope) Covers(target Scope) bool {
	return s == Global || target == Global || s == target
}

// Kind says who made a hold and what ends it.
type Kind string

const (
	// KindManual is an SRE's hold: ends on release or expiry.
	KindManual Kind = "manual"
	// KindDeploy is a running deploy's exclusive hold: ends when the deploy
	// finishes or its lease lapses.
	KindDeploy Kind = "deploy"
	// KindAuto is the gate's hold while a cluster is degraded: only the gate
	// ends it, after recovery.
	KindAuto Kind = "auto"
	// KindOverride makes auto holds in its scope not count; it refuses nothing.
	KindOverride Kind = "override"
)

// Hold is one reason not to deploy to a scope.
type Hold struct {
	ID     string `json:"id"`
	Scope  Scope  `json:"scope"`
	Kind   Kind   `json:"kind"`
	Owner  string `json:"owner"`
	Reason string `json:"reason"`
	// Details and Hint are an auto hold's Signals and Clears in prose
	// (one line per apiserver; what ends it), for replicas that predate
	// those fields.
	Details []string `json:"details,omitempty"`
	Hint    string   `json:"hint,omitempty"`
	// Signals and Clears are what the gate measured on an auto hold's
	// cluster and what ends the hold, refreshed every evaluation.
	Signals   []SignalReading `json:"signals,omitempty"`
	Clears    *Clears         `json:"clears,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	ExpiresAt *time.Time      `json:"expires_at,omitempty"`
	// TTL is a deploy hold's lease time-to-live: it lapses this long after
	// the last keepalive.
	TTL Duration `json:"ttl,omitempty"`
	// Lease is the etcd lease the hold lives on; 0 for holds without expiry.
	Lease int64 `json:"lease,omitempty"`
	// Revision is the etcd revision the hold was last written at.
	Revision int64 `json:"revision"`
	// Recovering is set on the gate's cooldown hold: the deploy whose load
	// the cluster is recovering from.
	Recovering *DeployRef `json:"recovering,omitempty"`
}

// DeployRef names a deploy that has ended: which, whose, and when the gate
// saw it end.
type DeployRef struct {
	ID      string    `json:"id"`
	Owner   string    `json:"owner"`
	EndedAt time.Time `json:"ended_at"`
}

// ShortID is how messages name the deploy, as Hold.ShortID does.
func (d DeployRef) ShortID() string { return Hold{ID: d.ID, Kind: KindDeploy}.ShortID() }

// ShortID is the prefix of the ID shown in messages; ids chosen by the
// gate ("auto-eqiad") are shown whole.
func (h Hold) ShortID() string {
	if len(h.ID) > 4 && h.Kind != KindAuto {
		return h.ID[:4]
	}
	return h.ID
}

// Active reports whether h still counts at now: a hold past its expiry no
// longer counts even if etcd has not yet revoked its lease.
func (h Hold) Active(now time.Time) bool {
	return h.ExpiresAt == nil || now.Before(*h.ExpiresAt)
}

// ReasonMaxLen is the longest reason accepted, in characters.
const ReasonMaxLen = 1000

// DefaultDeployTTL is a deploy hold's lease TTL when the request names none.
const DefaultDeployTTL = 30 * time.Second

// Duration is a time.Duration that reads and writes Go duration syntax in JSON.
type Duration time.Duration

// MarshalJSON writes d as a string such as "30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
