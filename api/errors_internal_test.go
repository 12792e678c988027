package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scaplock/scaplock/lock"
)

// The API edge maps the store's write errors: an unknown outcome says so,
// with the key to retry with and how to check; a reused key is 422.
func TestWriteErrorMapping(t *testing.T) {
	unknown := &lock.OutcomeUnknownError{Op: "write hold", HoldID: "7f3a9c", Err: errors.New("context deadline exceeded")}
	for _, tc := range []struct {
		name     string
		err      error
		key      string
		status   int
		code     string
		contains []string
	}{
		{"unknown outcome with a key", unknown, "k-123", http.StatusServiceUnavailable, "outcome_unknown",
			[]string{`retry with the same Idempotency-Key "k-123"`, "GET /api/v1/history?hold=7f3a9c", "may have been committed"}},
		{"unknown outcome without a key", unknown, "", http.StatusServiceUnavailable, "outcome_unknown",
			[]string{"GET /api/v1/history?hold=7f3a9c", "send an Idempotency-Key"}},
		{"key reused for another request", fmt.Errorf("Idempotency-Key %q: %w", "k-1", lock.ErrIdempotencyMismatch), "k-1", http.StatusUnprocessableEntity, "idempotency_mismatch", []string{"k-1"}},
		{"plain unavailable", fmt.Errorf("read: %w", lock.ErrUnavailable), "k-2", http.StatusServiceUnavailable, "unavailable", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &API{log: slog.New(slog.DiscardHandler)}
			var idem *lock.Idempotency
			if tc.key != "" {
				idem = &lock.Idempotency{Key: tc.key, Actor: "alice"}
			}
			w := httptest.NewRecorder()
			a.failWrite(w, idem, tc.err)
			var body ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.status || body.Error.Code != tc.code {
				t.Fatalf("got %d %q, want %d %q: %s", w.Code, body.Error.Code, tc.status, tc.code, w.Body)
			}
			if (tc.code == "outcome_unknown" || tc.code == "unconfirmed") && body.Error.IdempotencyKey != tc.key {
				t.Errorf("idempotency_key %q, want %q", body.Error.IdempotencyKey, tc.key)
			}
			for _, want := range tc.contains {
				if !strings.Contains(body.Error.Message, want) {
					t.Errorf("message %q lacks %q", body.Error.Message, want)
				}
			}
		})
	}
}
