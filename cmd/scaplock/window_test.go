package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A deny window refuses preflight while active, list shows it, rm by the
// short id lifts it; bad input and a missing role are mistakes (exit 3).
func TestWindowAddListRm(t *testing.T) {
	ctx := context.Background()
	scope := uniqueScope(t)
	sre, deployer := as(t, "win-alice", "sre"), as(t, "win-dep", "deployer")

	r := scaplock(ctx, sre, "window", "add", "--scope", scope, "--kind", "deny", "--schedule", "every day", "--for", "1h", "--reason", "x")
	wantCode(t, r, exitMisuse)
	if !strings.Contains(r.stderr, "schedule") {
		t.Errorf("a bad schedule must be named: %s", r)
	}
	r = scaplock(ctx, sre, "window", "add", "--scope", scope, "--kind", "deny", "--schedule", "0 9 * * *", "--for", "1h", "--tz", "Europe/Atlantis", "--reason", "x")
	wantCode(t, r, exitMisuse)
	if !strings.Contains(r.stderr, "time_zone") {
		t.Errorf("a bad zone must be named: %s", r)
	}
	wantCode(t, scaplock(ctx, deployer, "window", "add", "--scope", scope, "--kind", "deny", "--schedule", "0 9 * * *", "--for", "1h", "--reason", "x"), exitMisuse)
	wantCode(t, scaplock(ctx, sre, "window", "frobnicate"), exitMisuse)

	r = scaplock(ctx, sre, "window", "add", "--scope", scope, "--kind", "deny", "--schedule", "* * * * *", "--for", "1h", "--reason", "big migration")
	wantCode(t, r, exitOK)
	if !fullID.MatchString(r.stdout) {
		t.Fatalf("add must print only the id, got %q", r.stdout)
	}
	id := strings.TrimSpace(r.stdout)

	r = scaplock(ctx, deployer, "preflight", "--scope", scope)
	wantCode(t, r, exitRefused)
	if !strings.Contains(r.stderr, "deploys to "+scope+" are refused: deploy freeze 'big migration' until ") ||
		!strings.Contains(r.stderr, "an SRE override lets deploys past") {
		t.Errorf("refusal does not name the window: %s", r)
	}

	r = scaplock(ctx, deployer, "window", "list")
	wantCode(t, r, exitOK)
	if !regexp.MustCompile(`(?m)^` + id[:4] + ` +deny +` + scope + ` +"\* \* \* \* \*" +1h +UTC +active, ends .*"big migration"$`).MatchString(r.stdout) {
		t.Errorf("list does not show the active window:\n%s", r.stdout)
	}

	r = scaplock(ctx, sre, "window", "rm", id[:4], "--reason", "migration done")
	wantCode(t, r, exitOK)
	wantCode(t, scaplock(ctx, deployer, "preflight", "--scope", scope), exitOK)
	wantCode(t, scaplock(ctx, sre, "window", "rm", id, "--reason", "again"), exitMisuse)
}

// An allowed preflight says when a window starts within the hour.
func TestPreflightSaysAWindowIsNear(t *testing.T) {
	ctx := context.Background()
	scope := uniqueScope(t)
	sre, deployer := as(t, "win-alice", "sre"), as(t, "win-dep", "deployer")
	start := time.Now().UTC().Add(30 * time.Minute)
	schedule := fmt.Sprintf("%d %d * * *", start.Minute(), start.Hour())
	r := scaplock(ctx, sre, "window", "add", "--scope", scope, "--kind", "deny", "--schedule", schedule, "--for", "1h", "--reason", "train")
	wantCode(t, r, exitOK)
	t.Cleanup(func() { scaplock(ctx, sre, "window", "rm", strings.TrimSpace(r.stdout), "--reason", "test over") })

	p := scaplock(ctx, deployer, "preflight", "--scope", scope)
	wantCode(t, p, exitOK)
	if !regexp.MustCompile(`^scaplock: allowed; deny window 'train' starts in (29|30)m\n$`).MatchString(p.stderr) {
		t.Errorf("preflight does not say the window is near: %s", p)
	}
}
