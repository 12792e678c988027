package lock

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// The wire types live in package apiv1; lock names them for its own code.
type (
	Kind     = apiv1.Kind
	Hold     = apiv1.Hold
	Scope    = apiv1.Scope
	Action   = apiv1.Action
	Event    = apiv1.Event
	Duration = apiv1.Duration
)

const (
	KindManual   = apiv1.KindManual
	KindDeploy   = apiv1.KindDeploy
	KindAuto     = apiv1.KindAuto
	KindOverride = apiv1.KindOverride

	Global = apiv1.Global

	ActionCreated    = apiv1.ActionCreated
	ActionAmended    = apiv1.ActionAmended
	ActionReleased   = apiv1.ActionReleased
	ActionExpired    = apiv1.ActionExpired
	ActionRefreshed  = apiv1.ActionRefreshed
	ActionWouldTrip  = apiv1.ActionWouldTrip
	ActionWouldClear = apiv1.ActionWouldClear
)

// ParseKind validates k.
func ParseKind(k string) (Kind, error) {
	switch Kind(k) {
	case KindManual, KindDeploy, KindAuto, KindOverride:
		return Kind(k), nil
	}
	return "", invalid("kind", "%q is not one of manual, deploy, auto, override", k)
}

// ReasonMaxLen is the longest reason accepted, in characters.
const ReasonMaxLen = apiv1.ReasonMaxLen

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
	if strings.IndexFunc(reason, unicode.IsControl) >= 0 {
		return invalid("reason", "must not contain control characters (newlines, tabs, escapes): one line of text")
	}
	return nil
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidateID checks a hold id given by a caller: ids are short and
// printable, so one that is not names no hold and is refused as such.
func ValidateID(id string) error {
	if id == "" {
		return invalid("id", "is required")
	}
	if !idPattern.MatchString(id) {
		return invalid("id", "%s is not a hold id: letters, digits, '.', '_' and '-', at most 128", strconv.QuoteToASCII(id))
	}
	return nil
}

// ValidateDuration checks a duration given under field: positive and at most max.
func ValidateDuration(field string, d, max time.Duration) error {
	if d <= 0 {
		return invalid(field, "must be positive, got %s", apiv1.FormatDuration(d))
	}
	if max > 0 && d > max {
		return invalid(field, "%s is longer than the maximum %s", apiv1.FormatDuration(d), apiv1.FormatDuration(max))
	}
	return nil
}

// ParseDuration parses a duration for field, in Go syntax or whole days
// (apiv1.ParseDuration); empty means zero.
func ParseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := apiv1.ParseDuration(s)
	if err != nil {
		return 0, invalid(field, "%v", err)
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
