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

// statusOf maps sentinel errors to a status and code, first match wins
// (an unknown outcome also matches ErrUnavailable).
var statusOf = []struct {
	err    error
	status int
	code   string
}{
	{errTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{errBodyTimeout, http.StatusRequestTimeout, "timeout"},
	{errTooManyStreams, http.StatusServiceUnavailable, "too_many_streams"},
	{lock.ErrInvalid, http.StatusBadRequest, "invalid"},
	{errUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{lock.ErrForbidden, http.StatusForbidden, "forbidden"},
	{lock.ErrNotFound, http.StatusNotFound, "not_found"},
	{lock.ErrConflict, http.StatusConflict, "conflict"},
	{lock.ErrRefused, http.StatusLocked, "refused"},
	{lock.ErrIdempotencyMismatch, http.StatusUnprocessableEntity, "idempotency_mismatch"},
	{lock.ErrOutcomeUnknown, http.StatusServiceUnavailable, "outcome_unknown"},
	{lock.ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
}

// writeError maps err to a status and writes the error body. A refusal
// (423) or a deploy conflict (409) carries its reasons, and the message
// rendered from them at now() with statusURL.
func writeError(w http.ResponseWriter, log *slog.Logger, err error, statusURL string, now func() time.Time) {
	status, code := http.StatusInternalServerError, "internal"
	for _, m := range statusOf {
		if errors.Is(err, m.err) {
			status, code = m.status, m.code
			break
		}
	}
	body := ErrorBody{Error: ErrorDetail{Code: code, Message: err.Error()}}
	var fe *lock.FieldError
	if errors.As(err, &fe) {
		body.Error.Field = fe.Field
	}
	var unknown *outcomeUnknownError
	if errors.As(err, &unknown) {
		body.Error.IdempotencyKey = unknown.key
	}
	var refused *lock.RefusedError
	var conflict *lock.DeployConflictError
	switch {
	case errors.As(err, &refused):
		body.Holds, body.Reasons, body.Windows = refused.Verdict.Blocking, refused.Verdict.Reasons(), refused.Verdict.Windows
		body.Error.Message = apiv1.RenderRefusalAsOf(refused.Verdict.Scopes, body.Reasons, statusURL, now(), refused.Verdict.LastConfirmed)
	case errors.As(err, &conflict):
		v := conflict.Verdict()
		body.Holds, body.Reasons = v.Blocking, v.Reasons()
		body.Error.Message = apiv1.RenderRefusal(v.Scopes, body.Reasons, statusURL, now())
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
