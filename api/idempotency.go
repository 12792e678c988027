package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/scaplock/scaplock/lock"
)

// IdempotencyHeader names the key that makes a write safe to retry.
const IdempotencyHeader = "Idempotency-Key"

// maxIdempotencyKey bounds the key's length.
const maxIdempotencyKey = 255

// idempotency reads the request's Idempotency-Key: nil without one. The
// fingerprint covers the method, the path (the hold id) and the body, so
// the same key for another request is refused, not replayed.
func idempotency(r *http.Request, actor string, body []byte) (*lock.Idempotency, error) {
	key := r.Header.Get(IdempotencyHeader)
	if key == "" {
		return nil, nil
	}
	if len(key) > maxIdempotencyKey {
		return nil, &lock.FieldError{Field: IdempotencyHeader, Message: fmt.Sprintf("is %d bytes, more than %d", len(key), maxIdempotencyKey)}
	}
	for _, c := range key {
		if c < 0x21 || c > 0x7e {
			return nil, &lock.FieldError{Field: IdempotencyHeader, Message: "must be printable ASCII without spaces"}
		}
	}
	return &lock.Idempotency{Key: key, Actor: actor, Fingerprint: lock.Fingerprint(r.Method, r.URL.Path, string(body))}, nil
}

// outcomeUnknownError says what to do after a write whose outcome is
// unknown: it matches the store's error and carries the key.
type outcomeUnknownError struct {
	err error
	key string
}

func (e *outcomeUnknownError) Error() string {
	check := "the history (GET /api/v1/history)"
	var u *lock.OutcomeUnknownError
	if errors.As(e.err, &u) && u.HoldID != "" {
		check = "the hold's history (GET /api/v1/history?hold=" + u.HoldID + ")"
	}
	if e.key == "" {
		return fmt.Sprintf("%s; the write may have been committed: check %s before retrying (send an Idempotency-Key to make retries safe)", e.err, check)
	}
	return fmt.Sprintf("%s; the write may have been committed: retry with the same Idempotency-Key %q (it returns the original outcome if it was), or check %s", e.err, e.key, check)
}

func (e *outcomeUnknownError) Unwrap() error { return e.err }

// failWrite is fail for writes: an unknown outcome names the key to
// retry with.
func (a *API) failWrite(w http.ResponseWriter, idem *lock.Idempotency, err error) {
	key := ""
	if idem != nil {
		key = idem.Key
	}
	switch {
	case errors.Is(err, lock.ErrOutcomeUnknown):
		err = &outcomeUnknownError{err: err, key: key}
	}
	a.fail(w, err)
}
