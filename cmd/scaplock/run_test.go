package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// holdsOn are the active holds on scope, from GET /api/v1/status.
func holdsOn(t *testing.T, scope string) []apiv1.Hold {
	t.Helper()
	var out []apiv1.Hold
	for _, h := range status(t).Holds {
		if string(h.Scope) == scope {
			out = append(out, h)
		}
	}
	return out
}

func TestRunPassesExitStatusAndReleases(t *testing.T) {
	ctx := context.Background()
	scope := uniqueScope(t)
	r := scaplock(ctx, as(t, "rn-dep", "deployer"), "run", "--scope", scope, "--", "sh", "-c", "echo deploying; exit 3")
	wantCode(t, r, 3)
	if r.stdout != "deploying\n" {
		t.Errorf("CMD's stdout not passed through: %s", r)
	}
	if hs := holdsOn(t, scope); len(hs) != 0 {
		t.Errorf("deploy hold not released: %+v", hs)
	}
	var page apiv1.HistoryPage
	apiCall(t, http.MethodGet, "/api/v1/history?scope="+scope+"&action=released", mint(t, "observer"), nil, &page)
	if len(page.Events) != 1 || page.Events[0].Reason != "finished: exit 3" || page.Events[0].Kind != apiv1.KindDeploy {
		t.Errorf("want one release event with reason \"finished: exit 3\", got %+v", page.Events)
	}
	apiCall(t, http.MethodGet, "/api/v1/history?scope="+scope+"&action=created", mint(t, "observer"), nil, &page)
	if len(page.Events) != 1 || page.Events[0].Reason != "scaplock run: sh -c echo deploying; exit 3" {
		t.Errorf("want the default reason naming the command, got %+v", page.Events)
	}
}

func TestRunRefusedOrInConflictRunsNothing(t *testing.T) {
	ctx := context.Background()
	// bob deploys to rc-eqiad; a manual hold covers rc-codfw.
	var holder apiv1.Hold
	if code := apiCall(t, http.MethodPost, "/api/v1/deploys", mint(t, "rc-bob", "deployer"),
		apiv1.DeployBody{Scope: "rc-eqiad", Reason: "bob's deploy", TTL: "1m"}, &holder); code != http.StatusCreated {
		t.Fatalf("setup deploy: HTTP %d", code)
	}
	defer apiCall(t, http.MethodDelete, "/api/v1/deploys/"+holder.ID, mint(t, "rc-bob", "deployer"), apiv1.ReleaseBody{Reason: "cleanup"}, nil)
	r := scaplock(ctx, as(t, "rc-sre", "sre"), "lock", "--scope", "rc-codfw", "--reason", "network maintenance")
	wantCode(t, r, exitOK)
	defer scaplock(ctx, as(t, "rc-sre", "sre"), "unlock", strings.TrimSpace(r.stdout), "--reason", "cleanup")

	cases := []struct {
		scope string
		want  []string
	}{
		{"rc-eqiad", []string{"scaplock: deploys to rc-eqiad are refused: deploy in progress by rc-bob\n", "hold " + holder.ID[:4] + ")",
			"  wait for it: the same command with --wait 10m\n"}},
		{"rc-codfw", []string{"scaplock: deploys to rc-codfw are refused: locked by rc-sre", `"network maintenance"`, "  unlock (SRE): scaplock unlock "}},
	}
	for _, tc := range cases {
		t.Run(tc.scope, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "ran")
			r := scaplock(ctx, as(t, "rc-carol", "deployer"), "run", "--scope", tc.scope, "--", "touch", marker)
			wantCode(t, r, exitRunRefused)
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q: %s", w, r)
				}
			}
			if strings.Contains(r.stderr, "scaplock: scaplock:") {
				t.Errorf("doubled prefix: %q", r.stderr)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the command ran although the deploy was refused")
			}
		})
	}
	// Unreachable: exit 2, nothing run.
	marker := filepath.Join(t.TempDir(), "ran")
	// A second of retries (the default is 30 s) takes the same path to exit 2.
	r = scaplock(ctx, map[string]string{"SCAPLOCK_URL": closedURL(t)}, "run", "--retry-for", "1s", "--scope", "rc-x", "--", "touch", marker)
	wantCode(t, r, exitRunUnsure)
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran although the service was unreachable")
	}
}

func TestRunKeepsTheHoldAlivePastItsTTL(t *testing.T) {
	ctx := context.Background()
	done := make(chan result, 1)
	go func() {
		done <- scaplock(ctx, as(t, "ka-dep", "deployer"), "run", "--scope", "ka-eqiad", "--ttl", "2s", "--", "sleep", "3.5")
	}()
	time.Sleep(3 * time.Second) // past the 2s ttl: only keepalives keep it
	hs := holdsOn(t, "ka-eqiad")
	if len(hs) != 1 || hs[0].Kind != apiv1.KindDeploy || hs[0].Owner != "ka-dep" {
		t.Errorf("want ka-dep's deploy hold alive after its ttl, got %+v", hs)
	}
	r := <-done
	wantCode(t, r, exitOK)
	if strings.Contains(r.stderr, "IS GONE") || strings.Contains(r.stderr, "already gone") {
		t.Errorf("the hold lapsed: %s", r)
	}
	if hs := holdsOn(t, "ka-eqiad"); len(hs) != 0 {
		t.Errorf("not released: %+v", hs)
	}
}

func TestRunForwardsTheSignalAndReleases(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan result, 1)
	started := filepath.Join(t.TempDir(), "started")
	go func() {
		done <- scaplock(ctx, as(t, "sg-dep", "deployer"), "run", "--scope", "sg-eqiad", "--",
			"sh", "-c", `trap 'echo got TERM; kill $! 2>/dev/null; exit 0' TERM; touch `+started+`; sleep 20 & wait`)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("command did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel(interrupted{sig: syscall.SIGTERM})
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the signal")
	}
	// 143 although CMD exited 0 on the signal: the deploy was interrupted.
	wantCode(t, r, 128+int(syscall.SIGTERM))
	if r.stdout != "got TERM\n" {
		t.Errorf("the signal did not reach CMD: %s", r)
	}
	if hs := holdsOn(t, "sg-eqiad"); len(hs) != 0 {
		t.Errorf("not released: %+v", hs)
	}
}

func TestRunCommandNotFound(t *testing.T) {
	r := scaplock(context.Background(), as(t, "nf-dep", "deployer"), "run", "--scope", "nf-eqiad", "--", "/nonexistent/deploy")
	wantCode(t, r, exitNotFound)
	if !strings.Contains(r.stderr, "cannot start /nonexistent/deploy") {
		t.Errorf("stderr: %s", r)
	}
	if hs := holdsOn(t, "nf-eqiad"); len(hs) != 0 {
		t.Errorf("not released: %+v", hs)
	}
}

func TestRunWarnsWhenTheHoldIsTakenAndDoesNotPassAsSuccess(t *testing.T) {
	ctx := context.Background()
	done := make(chan result, 1)
	go func() {
		done <- scaplock(ctx, as(t, "lp-dep", "deployer"), "run", "--scope", "lp-eqiad", "--ttl", "3s", "--", "sleep", "2.5")
	}()
	// An admin takes the hold away under the running deploy.
	var id string
	for deadline := time.Now().Add(5 * time.Second); id == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if hs := holdsOn(t, "lp-eqiad"); len(hs) == 1 {
			id = hs[0].ID
		}
	}
	if id == "" {
		t.Fatal("deploy hold never appeared")
	}
	if code := apiCall(t, http.MethodDelete, "/api/v1/deploys/"+id, mint(t, "lp-admin", "admin"), apiv1.ReleaseBody{Reason: "taken away"}, nil); code != http.StatusOK {
		t.Fatalf("admin release: HTTP %d", code)
	}
	r := <-done
	wantCode(t, r, exitRunHoldLost) // CMD exited 0, but ran partly without the lock
	for _, want := range []string{"THE DEPLOY HOLD " + id + " ON LP-EQIAD IS GONE", "was released by lp-admin", "taken away", "already gone", "ran partly without the deploy hold"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, r)
		}
	}
}
