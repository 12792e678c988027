package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// closedURL is an address where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestPreflightCannotDecide(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	}))
	t.Cleanup(hang.Close)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	t.Cleanup(broken.Close)
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":{"code":"unavailable","message":"store unavailable"}}`))
	}))
	t.Cleanup(unavailable.Close)
	lying := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"allowed": false}`)) // 200 but not allowed
	}))
	t.Cleanup(lying.Close)

	cases := []struct {
		name    string
		url     string
		args    []string
		want    string
		maxTook time.Duration
	}{
		{"closed port", closedURL(t), nil, "connection refused", 10 * time.Second},
		{"no answer within the default 2s", hang.URL, nil, "no answer from", 10 * time.Second},
		{"no answer within --timeout", hang.URL, []string{"--timeout", "300ms"}, "no answer from", 1900 * time.Millisecond},
		{"proxy error page", broken.URL, nil, "unexpected answer: HTTP 502", 10 * time.Second},
		{"store down", unavailable.URL, nil, "store unavailable (HTTP 503)", 10 * time.Second},
		{"contradictory answer", lying.URL, nil, "allowed=false", 10 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"SCAPLOCK_URL": tc.url}
			args := append([]string{"preflight", "--scope", "eqiad"}, tc.args...)
			r := scaplock(context.Background(), env, args...)
			wantCode(t, r, exitUnsure)
			if !strings.HasPrefix(r.stderr, "scaplock: could not decide: ") || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr should say what failed (%q): %s", tc.want, r)
			}
			if r.took > tc.maxTook {
				t.Errorf("took %s, want at most %s", r.took, tc.maxTook)
			}

			r = scaplock(context.Background(), env, append(args, "--fail-open")...)
			wantCode(t, r, exitOK)
			if !strings.Contains(r.stderr, "WARNING: could not decide") || !strings.Contains(r.stderr, "--fail-open") {
				t.Errorf("--fail-open must warn: %s", r)
			}
		})
	}
}

func TestPreflightFailOpenDoesNotOpenARefusal(t *testing.T) {
	ctx := context.Background()
	sre := as(t, "fo-sre", "sre")
	r := scaplock(ctx, sre, "lock", "--scope", "fo-eqiad", "--reason", "closed")
	wantCode(t, r, exitOK)
	id := strings.TrimSpace(r.stdout)
	defer scaplock(ctx, sre, "unlock", id, "--reason", "cleanup")
	r = scaplock(ctx, as(t, "fo-dep", "deployer"), "preflight", "--scope", "fo-eqiad", "--fail-open")
	wantCode(t, r, exitRefused)
}

func TestPreflightWaitReturnsSoonAfterUnlock(t *testing.T) {
	ctx := context.Background()
	sre, deployer := as(t, "wt-sre", "sre"), as(t, "wt-dep", "deployer")
	r := scaplock(ctx, sre, "lock", "--scope", "wt-eqiad", "--reason", "wait for me")
	wantCode(t, r, exitOK)
	id := strings.TrimSpace(r.stdout)

	// With the fallback poll out of the way, only the event stream can
	// wake the waiting preflight before its deadline.
	defer func(d time.Duration) { pollEvery = d }(pollEvery)
	pollEvery = time.Hour
	done := make(chan result, 1)
	go func() {
		done <- scaplock(ctx, deployer, "preflight", "--scope", "wt-eqiad", "--scope", "wt-other", "--wait", "60s")
	}()
	time.Sleep(2 * time.Second)
	wantCode(t, scaplock(ctx, sre, "unlock", id, "--reason", "go ahead"), exitOK)

	select {
	case r = <-done:
	case <-time.After(70 * time.Second):
		t.Fatal("preflight --wait did not return")
	}
	wantCode(t, r, exitOK)
	if r.took >= 60*time.Second {
		t.Errorf("returned after %s, at its deadline: the event stream did not wake it", r.took)
	}
	if !strings.Contains(r.stderr, "locked by wt-sre; waiting up to 1m0s") {
		t.Errorf("stderr should say what it waits for: %s", r)
	}
}

func TestPreflightWaitGivesUpWithTheLatestMessage(t *testing.T) {
	ctx := context.Background()
	sre := as(t, "wg-sre", "sre")
	r := scaplock(ctx, sre, "lock", "--scope", "wg-eqiad", "--reason", "first reason")
	wantCode(t, r, exitOK)
	id := strings.TrimSpace(r.stdout)
	defer scaplock(ctx, sre, "unlock", id, "--reason", "cleanup")

	go func() {
		time.Sleep(300 * time.Millisecond)
		scaplock(ctx, sre, "amend", id, "--reason", "second reason")
	}()
	r = scaplock(ctx, as(t, "wg-dep", "deployer"), "preflight", "--scope", "wg-eqiad", "--wait", "1500ms")
	wantCode(t, r, exitRefused)
	if r.took < 1500*time.Millisecond || r.took > 15*time.Second {
		t.Errorf("took %s, want about the 1.5s wait", r.took)
	}
	if !strings.Contains(r.stderr, `"second reason"`) {
		t.Errorf("the final message should be the latest one: %s", r)
	}
}

// A refusal is printed as the service's message, to the letter, then the
// CLI's own hint: --json shows the answer the message came in.
func TestPreflightPrintsTheServiceMessageAndItsHint(t *testing.T) {
	ctx := context.Background()
	sre := as(t, "pm-sre", "sre")
	r := scaplock(ctx, sre, "lock", "--scope", "pm-eqiad", "--reason", "NIC saturated")
	wantCode(t, r, exitOK)
	id := strings.TrimSpace(r.stdout)
	defer scaplock(ctx, sre, "unlock", id, "--reason", "cleanup")

	r = scaplock(ctx, as(t, "pm-dep", "deployer"), "preflight", "--scope", "pm-eqiad", "--json")
	wantCode(t, r, exitRefused)
	var resp apiv1.PreflightResponse
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil {
		t.Fatalf("--json: %v: %s", err, r)
	}
	if len(resp.Reasons) != 1 || resp.Reasons[0].HoldID != id || resp.Reasons[0].Kind != apiv1.ReasonManual {
		t.Fatalf("reasons = %+v", resp.Reasons)
	}
	want := resp.Message + `  unlock (SRE): scaplock unlock ` + id + ` --reason "..."` + "\n"
	if r.stderr != want {
		t.Errorf("stderr\n got %q\nwant %q", r.stderr, want)
	}
	if !strings.HasPrefix(resp.Message, "scaplock: deploys to pm-eqiad are refused: locked by pm-sre\n") {
		t.Errorf("message = %q", resp.Message)
	}
}
