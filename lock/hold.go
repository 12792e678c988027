package lock

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

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

// ParseKind validates k.
func ParseKind(k string) (Kind, error) {
	switch Kind(k) {
	case KindManual, KindDeploy, KindAuto, KindOverride:
		return Kind(k), nil
	}
	return "", invalid("kind", "%q is not one of manual, deploy, auto, override", k)
}

// Hold is one reason not to deploy to a scope.
type Hold struct {
	ID        string     `json:"id"`
	Scope     Scope      `json:"scope"`
	Kind      Kind       `json:"kind"`
	Owner     string     `json:"owner"`
	Reason    string     `json:"reason"`
	Details   []string   `json:"details,omitempty"` // auto: one line per breaching apiserver
	Hint      string     `json:"hint,omitempty"`    // auto: when it clears
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// TTL is a deploy hold's lease time-to-live: it lapses this long after
	// the last keepalive.
	TTL Duration `json:"ttl,omitempty"`
	// Lease is the etcd lease the hold lives on; 0 for holds without expiry.
	Lease int64 `json:"lease,omitempty"`
	// Revision is the etcd revision the hold was last written at.
	Revision int64 `json:"revision"`
}

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

// ValidateReason checks a reason: required, 1 to 1000 characters.
func ValidateReason(reason string) error {
	if strings.TrimSpace(reason) == "" {
		return invalid("reason", "is required: say why")
	}
	if !utf8.ValidString(reason) {
		return invalid("reason", "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(reason); n > ReasonMaxLen {
		return invalid("reason", "is %d characters, more than %d", n, ReasonMaxLen)
	}
	return nil
}

// ValidateDuration checks a duration given under field: positive and at most max.
func ValidateDuration(field string, d, max time.Duration) error {
	if d <= 0 {
		return invalid(field, "must be positive, got %s", d)
	}
	if max > 0 && d > max {
		return invalid(field, "%s is longer than the maximum %s", d, max)
	}
	return nil
}

// ParseDuration parses Go duration syntax for field; empty means zero.
func ParseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, invalid(field, "%q is not a duration (use Go syntax such as 90s, 2h, 1h30m)", s)
	}
	return d, nil
}

func newID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}
