package lock

import (
	"context"
	"errors"
	"time"

	"github.com/scaplock/scaplock/lock/linear"
)

// ErrNotConfirmed matches the errors of a cache etcd did not confirm:
// Sync's and Fresh's (they also match ErrUnavailable).
var ErrNotConfirmed = linear.ErrNotConfirmed

// LastConfirmed is when etcd last confirmed the cache, on the store's
// clock. When etcd cannot confirm (quorum gone), the cache is what the
// replica last knew: holds it received since then are newer, not older,
// so a refusal from it is safe to give; an "allowed" is not.
func (s *Store) LastConfirmed() time.Time {
	return s.now().Add(-s.ConfirmedAge())
}

// KnownRefusal turns err, a failure of etcd to confirm the cache
// (ErrNotConfirmed), into a *RefusedError when the cache refuses deploys
// to scopes: what the replica last confirmed refuses, so no outage may
// open it. The verdict carries LastConfirmed. Any other err (a request
// that ended, a service shutting down, an unknown outcome, which the
// caller must retry with its key), and an err when the cache would
// allow, is returned as it is: without knowledge nothing can be decided.
// The deployment windows the replica last confirmed count as its holds do.
func (s *Store) KnownRefusal(err error, scopes []Scope, windows ...Window) error {
	if !errors.Is(err, ErrNotConfirmed) || errors.Is(err, context.Canceled) || errors.Is(err, ErrOutcomeUnknown) {
		return err
	}
	v := ApplyWindows(s.Verdict(scopes), windows, s.now())
	if v.Allowed {
		return err
	}
	v.LastConfirmed = s.LastConfirmed()
	return &RefusedError{Verdict: v}
}
