package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

var fullID = regexp.MustCompile(`^[0-9a-f]{16}\n$`)

func TestLockRefusesPreflightUntilUnlocked(t *testing.T) {
	ctx := context.Background()
	sre, deployer := as(t, "lk-alice", "sre"), as(t, "lk-dep", "deployer")

	r := scaplock(ctx, sre, "lock", "--scope", "lk-codfw", "--reason", "T123: apiserver upgrade", "--for", "2h")
	wantCode(t, r, exitOK)
	if !fullID.MatchString(r.stdout) {
		t.Fatalf("lock must print only the id on stdout, got %q", r.stdout)
	}
	id := strings.TrimSpace(r.stdout)

	// Refused: exit 1, the service's message exactly on stderr, then the CLI's hint.
	r = scaplock(ctx, deployer, "preflight", "--scope", "lk-codfw", "--json")
	wantCode(t, r, exitRefused)
	var resp apiv1.PreflightResponse
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil {
		t.Fatalf("--json stdout: %v\n%s", err, r)
	}
	if hint := `  unlock (SRE): scaplock unlock ` + id + ` --reason "..."` + "\n"; resp.Allowed || resp.Message == "" || r.stderr != resp.Message+hint {
		t.Fatalf("stderr must be the service's message exactly, then the CLI's hint:\nstderr:  %q\nmessage: %q", r.stderr, resp.Message)
	}
	for _, want := range []string{"deploys to lk-codfw are refused: locked by lk-alice", `"T123: apiserver upgrade"`, id[:4]} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("refusal %q lacks %q", r.stderr, want)
		}
	}

	// The human status says so too, with the short id.
	r = scaplock(ctx, deployer, "status")
	wantCode(t, r, exitOK)
	if !regexp.MustCompile(`(?m)^lk-codfw +DEPLOYS REFUSED +locked by lk-alice$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^  `+id[:4]+` +manual +lk-codfw +lk-alice +\d\d:\d\d:\d\d UTC \(\d+s ago\) +.* \(in (1h59m|2h)\) +"T123: apiserver upgrade"$`).MatchString(r.stdout) {
		t.Errorf("status does not show the refusal and the hold:\n%s", r.stdout)
	}

	// Unlock by the short id that messages show.
	r = scaplock(ctx, sre, "unlock", id[:4], "--reason", "upgrade done")
	wantCode(t, r, exitOK)
	r = scaplock(ctx, deployer, "preflight", "--scope", "lk-codfw")
	wantCode(t, r, exitOK)
	if r.stderr != "" || r.stdout != "" {
		t.Errorf("allowed preflight should be silent: %s", r)
	}
	// Unlocking again: 404 is exit 3.
	r = scaplock(ctx, sre, "unlock", id, "--reason", "again")
	wantCode(t, r, exitMisuse)
	if !strings.HasPrefix(r.stderr, "scaplock: ") || !strings.Contains(r.stderr, "not found") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestAmendChangesReasonAndExpiry(t *testing.T) {
	ctx := context.Background()
	sre := as(t, "am-sre", "sre")
	r := scaplock(ctx, sre, "lock", "--scope", "am-eqiad", "--reason", "first")
	wantCode(t, r, exitOK)
	id := strings.TrimSpace(r.stdout)

	wantCode(t, scaplock(ctx, sre, "amend", id, "--reason", "second", "--for", "30m"), exitOK)
	var got bool
	for _, h := range status(t).Holds {
		if h.ID == id {
			got = true
			if h.Reason != "second" || h.ExpiresAt == nil {
				t.Errorf("amended hold: reason %q expires %v", h.Reason, h.ExpiresAt)
			}
		}
	}
	if !got {
		t.Fatal("hold gone after amend")
	}
	r = scaplock(ctx, sre, "amend", id)
	wantCode(t, r, exitMisuse)
	if !strings.Contains(r.stderr, "nothing to amend") {
		t.Errorf("stderr %q", r.stderr)
	}
	// A field error from the service names the field: exit 3.
	r = scaplock(ctx, sre, "amend", id, "--reason", " ")
	wantCode(t, r, exitMisuse)
	if !strings.Contains(r.stderr, "scaplock: reason: is required") {
		t.Errorf("stderr %q", r.stderr)
	}
	wantCode(t, scaplock(ctx, sre, "unlock", id, "--reason", "cleanup"), exitOK)
}

func TestOverrideCreateAndCancel(t *testing.T) {
	ctx := context.Background()
	sre := as(t, "ov-sre", "sre")
	r := scaplock(ctx, sre, "override", "--scope", "ov-eqiad", "--reason", "emergency", "--for", "30m")
	wantCode(t, r, exitOK)
	if !fullID.MatchString(r.stdout) {
		t.Fatalf("override must print only the id, got %q", r.stdout)
	}
	id := strings.TrimSpace(r.stdout)
	var found bool
	for _, o := range status(t).Overrides {
		found = found || o.ID == id
	}
	if !found {
		t.Fatal("override not in status")
	}
	// An override may not be released as a hold (403: exit 3).
	wantCode(t, scaplock(ctx, sre, "unlock", id, "--reason", "x"), exitMisuse)
	wantCode(t, scaplock(ctx, sre, "override", "--cancel", id, "--reason", "over"), exitOK)
	for _, o := range status(t).Overrides {
		if o.ID == id {
			t.Fatal("override still there after --cancel")
		}
	}
	// Over the service's cap (4h): rejected with the field named.
	r = scaplock(ctx, sre, "override", "--scope", "ov-eqiad", "--reason", "long", "--for", "5h")
	wantCode(t, r, exitMisuse)
	if !strings.Contains(r.stderr, "duration") {
		t.Errorf("stderr %q", r.stderr)
	}
}
