package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// ErrorBody and ErrorDetail are the wire contract's one error shape.
type (
	ErrorBody   = apiv1.ErrorBody
	ErrorDetail = apiv1.ErrorDetail
)

// Sentinel errors of the HTTP edge.
var (
	errUnauthorized   = errors.New("unauthorized")
	errTooLarge       = errors.New("request body too large")
	errBodyTimeout    = errors.New("request body not received in time")
	errTooManyStreams = errors.New("too many event streams")
)

// writeError maps err to a status and writes the error body. A refusal
// carries the refusal message of statusURL's service.
func writeError(w http.ResponseWriter, log *slog.Logger, err error, statusURL string) {
	status, code := http.StatusInternalServerError, "internal"
	var fe *lock.FieldError
	switch {
	case errors.Is(err, errTooLarge):
		status, code = http.StatusRequestEntityTooLarge, "too_large"
	case errors.Is(err, errBodyTimeout):
		status, code = http.StatusRequestTimeout, "timeout"
	case errors.Is(err, errTooManyStreams):
		status, code = http.StatusServiceUnavailable, "too_many_streams"
	case errors.Is(err, lock.ErrInvalid):
		status, code = http.StatusBadRequest, "invalid"
	case errors.Is(err, errUnauthorized):
		status, code = http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, lock.ErrForbidden):
		status, code = http.StatusForbidden, "forbidden"
	case errors.Is(err, lock.ErrNotFound):
		status, code = http.StatusNotFound, "not_found"
	case errors.Is(err, lock.ErrConflict):
		status, code = http.StatusConflict, "conflict"
	case errors.Is(err, lock.ErrRefused):
		status, code = http.StatusLocked, "refused"
	case errors.Is(err, lock.ErrIdempotencyMismatch):
		status, code = http.StatusUnprocessableEntity, "idempotency_mismatch"
	case errors.Is(err, lock.ErrOutcomeUnknown):
		status, code = http.StatusServiceUnavailable, "outcome_unknown"
	case errors.Is(err, lock.ErrUnavailable):
		status, code = http.StatusServiceUnavailable, "unavailable"
	}
	body := ErrorBody{Error: ErrorDetail{Code: code, Message: err.Error()}}
	if errors.As(err, &fe) {
		body.Error.Field = fe.Field
	}
	var unknown *outcomeUnknownError
	if errors.As(err, &unknown) {
		body.Error.IdempotencyKey = unknown.key
	}
	var refused *lock.RefusedError
	if errors.As(err, &refused) {
		body.Error.Message = lock.RefusalMessage(refused.Verdict, statusURL, time.Now())
		body.Holds = refused.Verdict.Blocking
		body.Windows = refused.Verdict.Windows
	}
	var conflict *lock.DeployConflictError
	if errors.As(err, &conflict) {
		body.Holds = []lock.Hold{conflict.Holder}
	}
	if status == http.StatusInternalServerError {
		log.Error("request failed", "err", err)
		body.Error.Message = "internal error"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scaplock"`)
	}
	writeJSON(w, status, body)
}

// jsonBuffers are reused by writeJSON: preflight is the hot path.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

var (
	contentTypeJSON = []string{"application/json; charset=utf-8"}
	noStore         = []string{"no-store"}
)

// writeJSON writes v with status, compact, with its length (no chunking).
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer jsonBuffers.Put(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"internal error"}}` + "\n")
	}
	writeBody(w, status, buf.Bytes())
}

// writeBody answers status with body, JSON already encoded.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = noStore
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
