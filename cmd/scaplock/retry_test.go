package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// lossyProxy forwards every request to srv but, for the first write with
// each Idempotency-Key, throws the real answer away and says 503: the write
// went through and the client cannot know.
func lossyProxy(t *testing.T) (*httptest.Server, *sync.Map) {
	t.Helper()
	target, _ := url.Parse(srv.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	var seen sync.Map
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if r.Method == http.MethodGet || key == "" {
			rp.ServeHTTP(w, r)
			return
		}
		if _, again := seen.LoadOrStore(key, true); again {
			rp.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"code":"unavailable","message":"answer lost on the way"}}`))
	}))
	t.Cleanup(p.Close)
	return p, &seen
}

// A lock and an unlock whose answers are lost are retried with the same
// key: one hold, and the unlock reports success instead of 404.
func TestWritesRetriedWithTheSameKey(t *testing.T) {
	ctx := context.Background()
	p, seen := lossyProxy(t)
	scope := uniqueScope(t)
	env := as(t, unique("rt-sre"), "sre")
	env["SCAPLOCK_URL"] = p.URL

	r := scaplock(ctx, env, "lock", "--scope", scope, "--reason", "answer will be lost")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "retrying with the same Idempotency-Key") {
		t.Errorf("the retry is not announced: %s", r)
	}
	id := strings.TrimSpace(r.stdout)
	var n int
	for _, h := range status(t).Holds {
		if string(h.Scope) == scope {
			n++
			if h.ID != id {
				t.Errorf("hold %s on %s, the CLI printed %s", h.ID, scope, id)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d holds on %s after a retried lock, want 1", n, scope)
	}

	r = scaplock(ctx, env, "unlock", id, "--reason", "answer will be lost too")
	wantCode(t, r, exitOK)
	for _, h := range status(t).Holds {
		if h.ID == id {
			t.Fatalf("hold %s still there after unlock", id)
		}
	}
	keys := 0
	seen.Range(func(any, any) bool { keys++; return true })
	if keys != 2 {
		t.Fatalf("%d distinct Idempotency-Keys for two invocations, want 2", keys)
	}
}

// --retry-for 0 gives up at the first 503: exit 2, could not decide.
func TestRetryForZeroDoesNotRetry(t *testing.T) {
	p, _ := lossyProxy(t)
	env := as(t, unique("rt0-sre"), "sre")
	env["SCAPLOCK_URL"] = p.URL
	r := scaplock(context.Background(), env, "--retry-for", "0", "lock", "--scope", uniqueScope(t), "--reason", "no retry")
	wantCode(t, r, exitUnsure)
}
