package lock

import (
	"errors"
	"time"
)

// LastConfirmed is when etcd last confirmed the cache, on the store's
// clock. When etcd cannot confirm (quorum gone), the cache is what the
// replica last knew: holds it received since then are newer, not older,
// so a refusal from it is safe to give; an "allowed" is not.
func (s *Store) LastConfirmed() time.Time {
	return s.now().Add(-s.ConfirmedAge())
}

// KnownRefusal turns err, a failure to confirm the cache against etcd,
// into a *RefusedError when the cache refuses deploys to scopes: what
// the replica last confirmed refuses, so no outage may open it. The
// verdict carries LastConfirmed. Any other err, and an err when the
// cache would allow, is returned as it is: without knowledge nothing can
// be decided. A write whose outcome is unknown stays unknown: the caller
// must retry it with its key. The deployment windows the replica last
// confirmed count as its holds do.
func (s *Store) KnownRefusal(err error, scopes []Scope, windows ...Window) error {
	if err == nil || !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrOutcomeUnknown) {
		return err
	}
	v := ApplyWindows(s.Verdict(scopes), windows, s.now())
	if v.Allowed {
		return err
	}
	v.LastConfirmed = s.LastConfirmed()
	return &RefusedError{Verdict: v}
}
