package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// cmdLock creates a manual hold and prints only its id, for scripts.
func cmdLock(ctx context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("lock", "lock --scope S --reason R [--for D]",
		`Prints only the new hold's id on stdout:
  id=$(scaplock lock --scope eqiad --reason "T12345: apiserver upgrade" --for 2h)`)
	scope := fs.String("scope", "", `scope to hold: "global" or a cluster (required)`)
	reason := fs.String("reason", "", "why; shown to every refused deployer (required)")
	dur := durationOpt(fs, "for", 0, "expire after this long (default: until unlocked)")
	asJSON := jsonFlag(fs)
	if stop, code := parseNoArgs(fs, args); stop {
		return code
	}
	switch {
	case *scope == "":
		return usageError(fs, "--scope is required")
	case *reason == "":
		return usageError(fs, "--reason is required")
	case *dur < 0:
		return usageError(fs, "--for must be positive, got %s", formatDuration(*dur))
	}
	return c.createHold(ctx, "holds", apiv1.HoldBody{Scope: *scope, Reason: *reason, Duration: durationString(*dur)}, *asJSON)
}

// createHold posts a hold or override and prints its id, or with asJSON
// the service's answer.
func (c *cli) createHold(ctx context.Context, collection string, body apiv1.HoldBody, asJSON bool) int {
	r := request{method: http.MethodPost, path: "/api/v1/" + collection, body: body}
	return show(ctx, c, r, http.StatusCreated, asJSON, func(h apiv1.Hold) { fmt.Fprintln(c.stdout, safe(h.ID)) })
}

// releaseHold deletes a hold or override by (short) id with a reason.
func (c *cli) releaseHold(ctx context.Context, collection, id, reason string, asJSON bool) int {
	full, err := c.resolveID(ctx, id)
	if err != nil {
		return c.fail(err)
	}
	r := request{method: http.MethodDelete, path: holdPath(collection, full), body: apiv1.ReleaseBody{Reason: reason}}
	return show(ctx, c, r, http.StatusOK, asJSON, func(h apiv1.Hold) {
		fmt.Fprintf(c.stdout, "released %s hold %s on %s (owner %s)\n", safe(string(h.Kind)), safe(h.ID), safe(string(h.Scope)), safe(h.Owner))
	})
}

// jsonFlag is --json on a command that writes: print the service's answer.
func jsonFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, "print the service's JSON answer (the hold) as it came, compact, instead")
}

func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}
