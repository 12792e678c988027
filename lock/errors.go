package lock

import (
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// Sentinel errors. The API maps them to HTTP status codes with errors.Is.
var (
	// ErrNotFound: no such hold (it may have expired or been released).
	ErrNotFound = errors.New("not found")
	// ErrConflict: another writer got there first, or another deploy holds the scope.
	ErrConflict = errors.New("conflict")
	// ErrRefused: a hold covers the scope, so a deploy may not start.
	ErrRefused = errors.New("refused")
	// ErrInvalid: the request itself is wrong; the message names the field.
	ErrInvalid = errors.New("invalid")
	// ErrForbidden: the actor may not change this hold.
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: etcd could not be reached, or the cache could not be
	// confirmed against it; nothing can be decided.
	ErrUnavailable = errors.New("store unavailable")
	// ErrOutcomeUnknown: a write was sent to etcd and no answer came back;
	// it may or may not have been committed. It also matches ErrUnavailable.
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrIdempotencyMismatch: an idempotency key was reused for another request.
	ErrIdempotencyMismatch = errors.New("idempotency key reused for another request")
)

// outcomeUnknown wraps a failed write transaction: etcd may have committed
// it. A missing lease is a definite failure (etcd checks it before
// committing anything).
func outcomeUnknown(op, holdID string, err error) error {
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return unavailable(op+" "+holdID, err)
	}
	return &OutcomeUnknownError{Op: op, HoldID: holdID, Err: err}
}

// OutcomeUnknownError is a write etcd may or may not have committed. It
// matches ErrOutcomeUnknown and ErrUnavailable.
type OutcomeUnknownError struct {
	Op     string // "write hold", "release hold", ...
	HoldID string // the hold it would have changed
	Err    error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("%s %s: %v (%v): %v", e.Op, e.HoldID, ErrOutcomeUnknown, ErrUnavailable, e.Err)
}

// Is makes errors.Is match ErrOutcomeUnknown and ErrUnavailable.
func (e *OutcomeUnknownError) Is(target error) bool {
	return target == ErrOutcomeUnknown || target == ErrUnavailable
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// unavailable wraps a failed etcd call so that it matches ErrUnavailable.
func unavailable(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
}

// FieldError names the input field that is wrong. It matches ErrInvalid.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// DeployConflictError says which deploy holds the scope. It matches ErrConflict.
type DeployConflictError struct {
	Scope  Scope // the scope asked for
	Holder Hold
}

func (e *DeployConflictError) Error() string {
	return fmt.Sprintf("scope %s is being deployed by %s (hold %s)", e.Holder.Scope, e.Holder.Owner, e.Holder.ID)
}

// Verdict is the conflict as a refusal of deploys to the scope asked for.
func (e *DeployConflictError) Verdict() Verdict {
	return Verdict{Scopes: []Scope{e.Scope}, Blocking: []Hold{e.Holder}}
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *DeployConflictError) Is(target error) bool { return target == ErrConflict }

// RefusedError carries the verdict that refused a deploy. It matches ErrRefused.
type RefusedError struct {
	Verdict Verdict
}

func (e *RefusedError) Error() string { return "deploys refused: " + e.Verdict.Summary() }

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }
